import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { refreshMetrics, undatedShipmentsWarning } from '../../metrics/refresh.ts';
import { runTransforms } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';
import { order } from '../transforms/fixtures.ts';

/**
 * `shipping_cost` is the cost of the shipments shipped on the date (METRICS.md): a shipment
 * without a shipped date (a 3PL export without a ship-date column) is in no day's, and the
 * refresh says how many and how much. Reporting in USD; 1 EUR = 1.1 USD on 4 March.
 *   DATED      #1002  shipped 4 March     5.00 USD  → shipping_cost of 4 March
 *   NO-DATE-1  #1002  no shipped date     9.50 EUR  → converted on its order's date: 9.50 × 1.1 = 10.45 USD
 *   NO-DATE-2  #1003  no shipped date     2.00 USD
 *   NO-COST    #1003  no shipped date, no cost: nothing missing from shipping_cost
 *   CANCELLED  #1004  (a cancelled order) no shipped date, 100.00 USD: left out like its order
 *   NO-ORDER   #9999  (no such order)     no shipped date, 7.00 USD: warned of as matched to no order
 * Warned of: 2 shipments, 10.45 + 2.00 = 12.45 USD.
 */
let wh: Warehouse;
const NOW = new Date('2024-03-12T12:00:00Z');
const config = configSchema.parse({ reportingTimezone: 'UTC', reportingCurrency: 'USD', sources: {} });

beforeAll(async () => {
  wh = await createTestDatabase('undated_shipments');
  await landRecords(wh.pool, 'fx', 'rates', [{ date: '2024-03-04', base: 'EUR', quote: 'USD', rate: 1.1 }]);
  await landRecords(wh.pool, 'shopify', 'orders', [
    order({ id: 2, created_at: '2024-03-04T09:00:00Z', total: '40.00', customer: 2 }),
    order({ id: 3, created_at: '2024-03-05T09:00:00Z', total: '30.00', customer: 3 }),
    order({ id: 4, created_at: '2024-03-05T10:00:00Z', total: '20.00', customer: 4, cancelled_at: '2024-03-05T11:00:00Z' }),
  ]);
  await landRecords(wh.pool, 'shipments', 'shipments', [
    { order_id: '#1002', tracking_number: 'DATED', carrier: 'UPS', shipped_at: '2024-03-04T18:00:00Z', shipping_cost: 5, currency: 'USD' },
    { order_id: '#1002', tracking_number: 'NO-DATE-1', carrier: 'DHL', delivered_at: '2024-03-06T10:00:00Z', shipping_cost: 9.5, currency: 'EUR' },
    { order_id: '#1003', tracking_number: 'NO-DATE-2', carrier: 'DHL', shipping_cost: 2, currency: 'USD' },
    { order_id: '#1003', tracking_number: 'NO-COST', carrier: 'DHL' },
    { order_id: '#1004', tracking_number: 'CANCELLED', carrier: 'DHL', shipping_cost: 100, currency: 'USD' },
    { order_id: '#9999', tracking_number: 'NO-ORDER', carrier: 'DHL', shipping_cost: 7, currency: 'USD' },
  ]);
  const built = await runTransforms(wh, config, { now: NOW });
  expect(built.error).toBeUndefined();
});
afterAll(async () => wh?.close());

describe('shipments without a shipped date', () => {
  it('are in no day of shipping_cost, and the refresh warns of how many and of their cost', async () => {
    const result = await refreshMetrics(wh, config, undefined, { now: NOW });
    expect(result.error).toBeUndefined();
    const cost = (await wh.pool.query(`select date::text, shipping_cost::float8 as cost from metrics.kpi_daily where shipping_cost <> 0`)).rows;
    expect(cost).toEqual([{ date: '2024-03-04', cost: 5 }]);
    expect(result.undatedShipments).toEqual({ count: 2, cost: '12.45' });
    expect(result.warnings).toEqual([
      "1 shipment matches no order of the shop and is left out of the fulfilment metrics; check the shipments source's order_id mapping",
      "2 shipments without a shipped date, 12.45 USD of shipping cost, are in no day's shipping_cost: give the file a shipped date column (docs/sources/shipments.md)",
    ]);
  });

  it('says nothing once they have a shipped date', async () => {
    await wh.pool.query(`update core.shipments set shipped_date = '2024-03-05' where shipped_date is null`);
    // core edited by hand, not by the transform: nothing says what changed, so the refresh is full.
    const result = await refreshMetrics(wh, config, undefined, { now: NOW, full: true });
    expect(result.error).toBeUndefined();
    expect(result.undatedShipments).toEqual({ count: 0, cost: '0.00' });
    expect(result.warnings).toEqual([
      "1 shipment matches no order of the shop and is left out of the fulfilment metrics; check the shipments source's order_id mapping",
    ]);
    // 10.45 + 2.00 now on 5 March.
    const day = (await wh.pool.query(`select shipping_cost::float8 as cost from metrics.kpi_daily where date = '2024-03-05'`)).rows[0];
    expect(day.cost).toBeCloseTo(12.45, 9);
  });

  it('words one shipment in the singular', () => {
    expect(undatedShipmentsWarning(0, '0.00', 'EUR')).toBeUndefined();
    expect(undatedShipmentsWarning(1, '9.50', 'EUR')).toBe(
      "1 shipment without a shipped date, 9.50 EUR of shipping cost, is in no day's shipping_cost: give the file a shipped date column (docs/sources/shipments.md)",
    );
  });
});
