import { configSchema } from '../../config/schema.ts';
import { demoSources, type DemoOptions } from '../../extractors/demo/index.ts';
import type { DateWindow, Page, ReadContext, Stream } from '../../extractors/types.ts';
import { logger } from '../../lib/logger.ts';

// Records are the APIs' JSON; the checks read nested fields freely, so they are typed loosely here only.
export type Rec = Record<string, any>;

/** Every stream of the demo, read to the end: its pages and, flattened, its records. */
export interface DemoRead {
  options: DemoOptions;
  streams: Map<string, { stream: Stream; pages: Page[]; records: Rec[] }>;
}

export function readContext(window: DateWindow | null = null): ReadContext<unknown> {
  return {
    config: undefined,
    global: configSchema.parse({}),
    state: null,
    window,
    startDate: '2020-01-01',
    lookbackDays: 0,
    now: new Date('2030-01-01T00:00:00Z'),
    log: logger(),
    signal: new AbortController().signal,
    secret: () => '',
    warnOnce: () => undefined,
  };
}

export async function readDemo(options: DemoOptions, window: DateWindow | null = null): Promise<DemoRead> {
  const streams: DemoRead['streams'] = new Map();
  for (const source of demoSources(options)) {
    for (const stream of source.streams) {
      const pages: Page[] = [];
      for await (const page of stream.read(readContext(window))) pages.push(page);
      streams.set(`${source.name}.${stream.name}`, { stream, pages, records: pages.flatMap((p) => p.records as Rec[]) });
    }
  }
  return { options, streams };
}

export function records(read: DemoRead, name: string): Rec[] {
  const s = read.streams.get(name);
  if (!s) throw new Error(`no stream ${name}`);
  return s.records;
}

/** Integer cents of a Shopify decimal string, parsed by hand (no float rounding in the check). */
export function cents(amount: string): number {
  const m = /^(-?)(\d+)\.(\d{2})$/.exec(amount);
  if (!m) throw new Error(`not a 2-decimal amount: ${JSON.stringify(amount)}`);
  return (m[1] ? -1 : 1) * (Number(m[2]) * 100 + Number(m[3]));
}

/** The first instant after `endDate`. */
export function cutoffOf(endDate: string): number {
  return Date.parse(`${endDate}T00:00:00Z`) + 86_400_000;
}

export function addDays(date: string, n: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

/** A counted order (docs/metrics.md): neither test nor cancelled. */
export const isCounted = (o: Rec) => o.test !== true && !o.cancelled_at;

/** The UTC date of an ISO timestamp with any offset. */
export const utcDate = (iso: string) => new Date(Date.parse(iso)).toISOString().slice(0, 10);

/**
 * Runs `check` on every item and returns the first few problems it names (a check returns a
 * description of what is wrong, or nothing). One assertion over thousands of records keeps
 * the tests fast and the failure message readable.
 */
export function problems<T>(items: Iterable<T>, check: (item: T) => string | false | null | undefined, limit = 10): string[] {
  const found: string[] = [];
  for (const item of items) {
    const problem = check(item);
    if (problem) found.push(problem);
    if (found.length >= limit) break;
  }
  return found;
}
