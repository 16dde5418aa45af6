import { afterEach, describe, expect, it, vi } from 'vitest';
import { printRun } from '../../cli/commands/run.ts';
import type { RunResult } from '../../pipeline/run.ts';

/**
 * The warnings of a run are not all records set aside: a sold line without a cost or a stream
 * read in part warn too, and the demo's first run printed its cost warning under "records set
 * aside … verite quarantine list", where the quarantine holds nothing.
 */
function result(warnings: string[]): RunResult {
  return { runId: 'r1', status: 'succeeded with warnings', streams: [], steps: [], landed: 0, quarantined: 0, warnings, warehouseLost: false };
}

function printed(run: RunResult): string {
  let out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  printRun(run);
  vi.restoreAllMocks();
  return out;
}

afterEach(() => vi.restoreAllMocks());

const COST = 'core.order_lines: sold lines without a unit cost, counted at zero cost (see cogs_coverage): NW-PACHAM (718 lines from 2024-12-06); add their cost in Shopify or in the costs file';

describe('the warnings of verite run', () => {
  it('are headed as warnings, without the quarantine, when no record was set aside', () => {
    const out = printed(result([COST]));
    expect(out).toContain(`\nWarnings:\n  ${COST}\n`);
    expect(out).not.toContain('set aside');
    expect(out).not.toContain('quarantine');
  });

  it('point to the quarantine commands when a record was set aside, among other warnings', () => {
    const out = printed(result([COST, 'shopify.orders 1001 set aside: created_at "last Tuesday" is not a date', '… and 4 more shopify.orders records set aside by staging.shopify_orders (verite quarantine list)']));
    expect(out).toContain('\nWarnings (records set aside are left out of every metric: verite quarantine list, show, drop, retry):\n');
    expect(out).toContain(`  ${COST}\n  shopify.orders 1001 set aside: created_at "last Tuesday" is not a date\n`);
  });

  it('name the codes the config silenced, which are in the log only', () => {
    const out = printed({ ...result([]), status: 'succeeded', silenced: ['ga4-thresholds'] });
    expect(out).toContain('Silenced by silenceWarnings (in the log only): ga4-thresholds\n');
    expect(out).not.toContain('\nWarnings');
  });

  it('point to the quarantine commands for the summary line of many records set aside alone', () => {
    const out = printed(result(['… and 40 more stripe.charges records set aside by staging.stripe_charges (verite quarantine list)']));
    expect(out).toContain('\nWarnings (records set aside are left out of every metric: verite quarantine list, show, drop, retry):\n');
  });
});
