import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { createLogger } from '../../lib/logger.ts';
import { refreshMetrics, unmatchedShipmentsWarning } from '../../metrics/refresh.ts';
import { metricsStep } from '../../metrics/step.ts';
import { runTransforms } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { CONFIG, landShop } from './support/shop.ts';

/**
 * The fulfilment metrics count only shipments matched to a counted order (DECISIONLOG.md,
 * "Metrics"): a shipment matched to no order is left out, and the refresh says so, in the
 * metrics step's summary and in a warning log line, never silently. The shop of support/shop.ts
 * has one such shipment: TX, for an order 999 the shop does not have.
 */

const config = configSchema.parse(CONFIG);
let wh: Warehouse;

beforeAll(async () => {
  wh = await createTestDatabase('metrics_step');
  await landShop(wh.pool);
  expect((await runTransforms(wh, config, { now: new Date('2024-03-12T12:00:00Z') })).status).toBe('succeeded');
});
afterAll(async () => wh?.close());

function capture() {
  const written: string[] = [];
  const log = createLogger({ write: (line: string) => void written.push(line) }, 'info');
  const warnings = () => written.map((l) => JSON.parse(l) as { level: number; msg: string; unmatchedShipments?: number }).filter((l) => l.level === 40);
  return { log, warnings };
}

describe('unmatchedShipmentsWarning', () => {
  it('names how many shipments are left out and where to look, and says nothing for none', () => {
    expect(unmatchedShipmentsWarning(0)).toBeUndefined();
    expect(unmatchedShipmentsWarning(1)).toBe(
      "1 shipment matches no order of the shop and is left out of the fulfilment metrics; check the shipments source's order_id mapping",
    );
    expect(unmatchedShipmentsWarning(3)).toBe(
      "3 shipments match no order of the shop and are left out of the fulfilment metrics; check the shipments source's order_id mapping",
    );
  });
});

describe('the metrics step', () => {
  it('says in its summary and in one warning log line that TX matches no order and is left out', async () => {
    const { log, warnings } = capture();
    // core edited by hand, not by the transform (which would say what changed): refreshed in full.
    const outcome = await metricsStep.run(wh, config, log, undefined, { full: true });
    expect(outcome).toEqual({
      status: 'succeeded',
      summary:
        "11 metric tables refreshed (kpi_daily: 368 days); 1 shipment matches no order of the shop and is left out of the fulfilment metrics; check the shipments source's order_id mapping",
    });
    expect(warnings()).toEqual([
      expect.objectContaining({
        unmatchedShipments: 1,
        msg: "1 shipment matches no order of the shop and is left out of the fulfilment metrics; check the shipments source's order_id mapping",
      }),
    ]);
  });

  it('counts every shipment with no order_id, and not a shipment of a cancelled order (matched, left out like its order)', async () => {
    // T9B loses its match too: TX and T9B. T10 (of the cancelled O10) keeps its order_id: it is not "unmatched".
    await wh.pool.query(`update core.shipments set order_id = null where tracking_number = 'T9B'`);
    // core edited by hand, not by the transform: nothing says what changed, so the refresh is full.
    const result = await refreshMetrics(wh, config, undefined, { full: true });
    expect(result.status).toBe('succeeded');
    expect(result.unmatchedShipments).toBe(2);
    expect(result.warnings).toEqual([
      "2 shipments match no order of the shop and are left out of the fulfilment metrics; check the shipments source's order_id mapping",
    ]);
    // T9B's 3.00 is gone from 6 March: T8 7.50 + T9 4.00 = 11.50 for O8 and O9 (was 14.50).
    const day = (await wh.pool.query(`select shipping_cost::float8 as cost, orders_shipped::int as orders from metrics.kpi_daily where date = '2024-03-06'`)).rows[0];
    expect(day).toEqual({ cost: 11.5, orders: 2 });
  });

  it('says nothing more when every shipment matches an order', async () => {
    await wh.pool.query(`delete from core.shipments where order_id is null`);
    const { log, warnings } = capture();
    // core edited by hand, not by the transform (which would say what changed): refreshed in full.
    const outcome = await metricsStep.run(wh, config, log, undefined, { full: true });
    expect(outcome).toEqual({ status: 'succeeded', summary: '11 metric tables refreshed (kpi_daily: 368 days)' });
    expect(warnings()).toEqual([]);
    const result = await refreshMetrics(wh, config, undefined, { full: true });
    expect(result).toMatchObject({ unmatchedShipments: 0, warnings: [] });
  });
});
