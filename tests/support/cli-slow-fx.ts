/**
 * The real `verite` command line (arguments after the script) with a slow stand-in for the `fx`
 * source, so a test can interrupt a run between pages: its `rates` stream reads pages of two
 * EUR rates (one date per page, its cursor `{ page }`), the first at once, each later one after
 * FAKE_DELAY_MS (default 30 s), a wait the run's abort signal cuts short. A backfill window is
 * read at once, one page per date.
 */
import { catalog } from '../../catalog/catalog.ts';
import { buildProgram, commandLine } from '../../cli/program.ts';
import { sleep } from '../../lib/http.ts';
import { sources } from '../../extractors/sources.ts';
import type { Page, ReadContext, Source } from '../../extractors/types.ts';

const delayMs = Number(process.env.FAKE_DELAY_MS ?? 30_000);
const pages = Number(process.env.FAKE_PAGES ?? 5);

/** The EUR rates of a date (day n of its month: 1 + n/100 dollars, 0.8 + n/100 pounds). */
function ratesOf(date: string): Record<string, unknown>[] {
  const n = Number(date.slice(8, 10));
  return [
    { date, base: 'EUR', quote: 'USD', rate: 1 + n / 100 },
    { date, base: 'EUR', quote: 'GBP', rate: 0.8 + n / 100 },
  ];
}

/** The records of page `n`: the EUR rates of 2024-01-0n. */
function slowRatesPage(n: number): Record<string, unknown>[] {
  return ratesOf(`2024-01-${String(n).padStart(2, '0')}`);
}

const slowFx: Source = {
  name: 'fx',
  streams: [
    {
      ...catalog.fx.rates,
      async *read(ctx: ReadContext<unknown>): AsyncIterable<Page> {
        if (ctx.window) {
          for (let day = Date.parse(`${ctx.window.from}T00:00:00Z`); day <= Date.parse(`${ctx.window.to}T00:00:00Z`); day += 86_400_000) {
            yield { records: ratesOf(new Date(day).toISOString().slice(0, 10)) };
          }
          return;
        }
        const start = ((ctx.state as { page?: number } | null)?.page ?? 0) + 1;
        for (let page = start; page < start + pages; page++) {
          if (page > start) await sleep(delayMs, ctx.signal).catch(() => undefined);
          yield { records: slowRatesPage(page), state: { page } };
        }
      },
    },
  ],
};

// The real command line (as cli/main.ts runs it), with the stand-in in place of the fx extractor.
await buildProgram({ ...sources, fx: slowFx }).parseAsync(commandLine(process.argv));
