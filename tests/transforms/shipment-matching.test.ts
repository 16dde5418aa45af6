import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { models } from '../../transforms/models.ts';
import { runModels } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';
import { fxRates, order } from './fixtures.ts';

/**
 * core.shipments finds a shipment's order by the order's id, else by its name as the carrier
 * wrote it, else by '#' and that text: three equi-joins in order of precedence (one join on an
 * OR of the three made a nested loop over orders × shipments). Orders are named '#' + 1000 + id.
 */
let wh: Warehouse;

const shipment = (ref: string, tracking: string) => ({
  order_id: ref, tracking_number: tracking, carrier: 'UPS', service: 'ground', shipped_at: '2024-03-04T15:00:00Z', estimated_delivery_at: '2024-03-06',
  delivered_at: '2024-03-05T10:00:00Z', returned_at: null, status: 'delivered', shipping_cost: 5, currency: 'USD',
});

beforeAll(async () => {
  wh = await createTestDatabase('shipment_matching');
  await landRecords(wh.pool, 'fx', 'rates', fxRates);
  await landRecords(wh.pool, 'shopify', 'orders', [
    order({ id: 2, created_at: '2024-03-04T09:00:00Z', total: '20.00' }), // '#1002'
    order({ id: 3, created_at: '2024-03-04T10:00:00Z', total: '30.00' }), // '#1003'
    order({ id: 4, created_at: '2024-03-04T11:00:00Z', total: '40.00' }), // '#1004'
    order({ id: 1002, created_at: '2024-03-04T12:00:00Z', total: '50.00' }), // id '1002', named '#2002'
  ]);
  await landRecords(wh.pool, 'shipments', 'shipments', [
    shipment('3', 'BY-ID'),
    shipment('#1004', 'BY-NAME'),
    shipment('1004', 'BY-NUMBER'), // the name without its '#'
    shipment('1002', 'ID-OVER-NAME'), // order 1002's id, and order 2's name without '#': the id wins
    shipment('#9999', 'NO-ORDER'),
  ]);
}, 600_000);
afterAll(async () => wh?.close());

describe('core.shipments order matching', () => {
  it("matches by the order's id first, then its name with or without '#', and leaves an unknown reference unmatched", async () => {
    const config = configSchema.parse({ reportingTimezone: 'UTC', reportingCurrency: 'USD', sources: {} });
    const result = await runModels(wh.db, config, { models, now: new Date('2024-03-06T12:00:00Z') });
    expect(result.error).toBeUndefined();
    const got = (await wh.pool.query('select tracking_number, order_id, cost_date from core.shipments order by tracking_number')).rows;
    expect(got).toEqual([
      { tracking_number: 'BY-ID', order_id: '3', cost_date: '2024-03-04' },
      { tracking_number: 'BY-NAME', order_id: '4', cost_date: '2024-03-04' },
      { tracking_number: 'BY-NUMBER', order_id: '4', cost_date: '2024-03-04' },
      { tracking_number: 'ID-OVER-NAME', order_id: '1002', cost_date: '2024-03-04' },
      { tracking_number: 'NO-ORDER', order_id: null, cost_date: '2024-03-04' },
    ]);
  });
});
