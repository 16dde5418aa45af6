/**
 * The real `verite` command line (arguments after the script) with a stand-in for the `shopify`
 * source, so a test can kill a run at a known point: its one stream, `orders`, reads the pages
 * of FAKE_ORDER_PAGES (JSON: an array of pages, each an array of Admin API orders) from its
 * cursor `{ page }` on. With FAKE_BLOCK_AFTER=n it waits, when asked for page n + 1, until the
 * run's signal aborts: pages 1 … n commit and the run goes no further. Nothing is timed.
 */
import { catalog } from '../../catalog/catalog.ts';
import { buildProgram, commandLine } from '../../cli/program.ts';
import { sources } from '../../extractors/sources.ts';
import type { Page, ReadContext, Source } from '../../extractors/types.ts';

const pages = JSON.parse(process.env.FAKE_ORDER_PAGES ?? '[]') as Record<string, unknown>[][];
const blockAfter = process.env.FAKE_BLOCK_AFTER === undefined ? undefined : Number(process.env.FAKE_BLOCK_AFTER);

/** Resolves when `signal` aborts (never, for a process killed first). */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
}

const pagedShopify: Source = {
  name: 'shopify',
  streams: [
    {
      ...catalog.shopify.orders,
      async *read(ctx: ReadContext<unknown>): AsyncIterable<Page> {
        for (let page = (ctx.state as { page?: number } | null)?.page ?? 0; ; page++) {
          if (page === blockAfter) await aborted(ctx.signal);
          if (page >= pages.length || ctx.signal.aborted) return;
          yield { records: pages[page]!, state: { page: page + 1 } };
        }
      },
    },
  ],
};

// The real command line (as cli/main.ts runs it), with the stand-in in place of the Shopify extractor.
await buildProgram({ ...sources, shopify: pagedShopify }).parseAsync(commandLine(process.argv));
