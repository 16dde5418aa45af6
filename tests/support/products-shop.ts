import type pg from 'pg';
import { landRecords } from './land.ts';

/**
 * A hand-made shop for the product, stock, fee and cost models (docs/metrics.md, "Products,
 * stock and profit"). Reporting in EUR, Europe/Paris; 1 EUR = 1.25 USD from 1 March (so
 * 1 USD = 0.8 EUR, carried to 2 and 3 March) and 1.6 USD on 4 March (1 USD = 0.625 EUR).
 */
export const NOW = new Date('2024-03-06T12:00:00Z');

export const CONFIG = { reportingTimezone: 'Europe/Paris', reportingCurrency: 'EUR', sources: {} } as const;

const fxRates = [
  { date: '2024-03-01', base: 'EUR', quote: 'USD', rate: 1.25 },
  { date: '2024-03-04', base: 'EUR', quote: 'USD', rate: 1.6 },
];

const variant = (id: number, sku: string | null, itemId: number, tracked: boolean, cost: string | null, price = '20.00') => ({
  id, product_id: Math.floor(id / 10), sku, title: sku, price, inventory_item_id: itemId, tracked,
  unit_cost: cost === null ? null : { amount: cost, currency_code: 'EUR' },
});

const products = [
  { id: 1, title: 'Tee', product_type: 'Apparel', vendor: 'Atelier', status: 'ACTIVE', created_at: '2024-01-01T00:00:00Z', updated_at: '2024-03-05T00:00:00Z',
    // Shopify's current cost of TEE-M is 5.00; the costs file says 4.00, then 4.50 from 3 March.
    // TEE-S is stocked and never sold.
    variants: [variant(11, 'TEE-M', 111, true, '5.00'), variant(12, 'TEE-L', 112, true, null, '22.00'), variant(13, 'TEE-S', 113, true, '4.00')] },
  { id: 2, title: 'Mug', product_type: 'Kitchen', vendor: 'Kiln', status: 'active', created_at: '2024-01-01T00:00:00Z', updated_at: '2024-03-05T00:00:00Z',
    variants: [variant(21, 'MUG', 121, false, '3.00', '10.00')] },
  // A variant's price is no amount: the product is set aside with its variants.
  { id: 3, title: 'Broken', product_type: 'Misc', vendor: 'X', status: 'active', created_at: '2024-01-01T00:00:00Z', updated_at: '2024-03-05T00:00:00Z',
    variants: [variant(31, 'BRK', 131, true, '1.00', 'abc')] },
];

const costs = [
  { sku: 'TEE-M', unit_cost: 4, currency: 'EUR', valid_from: '2024-03-01' },
  { sku: 'TEE-M', unit_cost: 4.5, currency: 'EUR', valid_from: '2024-03-03' },
  // Landed by hand with a negative cost: set aside, never a cost.
  { sku: 'MUG', unit_cost: -1, currency: 'EUR', valid_from: '2024-02-01' },
  // TEE-L in other capitals: not TEE-L's cost (SKUs match exactly), named beside it in the warning.
  { sku: 'tee-l', unit_cost: 5, currency: 'EUR', valid_from: '2024-02-01' },
];

const order = (o: Record<string, unknown>) => ({
  test: false, cancelled_at: null, total_discounts: '0.00', total_tax: '0.00', customer: { id: 1, email: 'a@example.com' },
  payment_gateway_names: ['stripe'], refunds: [], ...o,
});

const orders = [
  // EUR, prices without tax. Line 1: 2 × 20 − 4 (its discount allocation) = 36, costs file's 4.00
  // (valid from 1 March). Line 2: 22, no cost anywhere.
  order({ id: 1, created_at: '2024-03-01T10:00:00Z', currency: 'EUR', total_price: '67.20', subtotal_price: '58.00', total_tax: '9.20', taxes_included: false,
    line_items: [
      { id: 1, product_id: 1, variant_id: 11, sku: 'TEE-M', title: 'Tee', variant_title: 'M', vendor: 'Atelier', quantity: 2, price: '20.00', total_discount: '4.00',
        discount_allocations: [{ amount: '4.00' }], tax_lines: [{ price: '7.20', rate: 0.2 }] },
      { id: 2, product_id: 1, variant_id: 12, sku: 'TEE-L', title: 'Tee', variant_title: 'L', vendor: 'Atelier', quantity: 1, price: '22.00', total_discount: '0.00',
        discount_allocations: [], tax_lines: [{ price: '2.00', rate: 0.1 }] } ] }),
  // USD, prices include tax. Line 3: 30 − 2 (an order-level code allocated; the deprecated total_discount says 0) − 5 tax = 23 USD
  // = 18.4 EUR, costs file's 4.50 (valid from 3 March). Line 4: 3 × 10 = 30 USD = 24 EUR, Shopify's 3.00.
  order({ id: 2, created_at: '2024-03-03T10:00:00Z', currency: 'USD', total_price: '58.00', subtotal_price: '58.00', total_tax: '5.00', taxes_included: true,
    line_items: [
      // The SKU as the merchant typed it into the product, a blank after it: the costs file's TEE-M still applies.
      { id: 3, product_id: 1, variant_id: 11, sku: 'TEE-M ', title: 'Tee', quantity: 1, price: '30.00', total_discount: '0.00',
        discount_allocations: [{ amount: '2.00' }], tax_lines: [{ price: '5.00', rate: 0.2 }] },
      { id: 4, product_id: 2, variant_id: 21, sku: 'MUG', title: 'Mug', quantity: 3, price: '10.00', total_discount: '0.00' } ],
    refunds: [
      // One mug back on 4 March: 10.00 with 1.50 tax included, so 8.50 of sales; at 0.625 EUR the dollar.
      { id: 91, created_at: '2024-03-04T09:00:00Z', transactions: [{ id: 92, kind: 'refund', status: 'success', amount: '10.00', currency: 'USD' }],
        refund_line_items: [{ id: 93, line_item_id: 4, quantity: 1, subtotal: '10.00', total_tax: '1.50' }] },
      // A refund that paid nothing back (its transaction failed): not counted.
      { id: 94, created_at: '2024-03-04T10:00:00Z', transactions: [{ id: 95, kind: 'refund', status: 'failure', amount: '30.00', currency: 'USD' }],
        refund_line_items: [{ id: 96, line_item_id: 3, quantity: 1, subtotal: '30.00', total_tax: '5.00' }] } ] }),
  // A variant the products stream does not know.
  order({ id: 3, created_at: '2024-03-03T11:00:00Z', currency: 'EUR', total_price: '9.00', subtotal_price: '9.00',
    line_items: [{ id: 5, product_id: 9, variant_id: 99, sku: 'GHOST', title: 'Ghost', quantity: 1, price: '9.00', total_discount: '0.00' }] }),
  // A tax line that is no amount: the order is set aside with its lines.
  order({ id: 4, created_at: '2024-03-03T12:00:00Z', currency: 'EUR', total_price: '9.00', subtotal_price: '9.00',
    line_items: [{ id: 6, variant_id: 21, sku: 'MUG', quantity: 1, price: '9.00', total_discount: '0.00', tax_lines: [{ price: 'n/a' }] }] }),
];

const at = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const balanceTransactions = [
  { id: 'txn_1', type: 'charge', amount: 5000, fee: 175, net: 4825, currency: 'eur', created: at('2024-03-01T10:05:00Z'), status: 'available', reporting_category: 'charge', source: 'ch_1' },
  { id: 'txn_2', type: 'stripe_fee', amount: -300, fee: 0, net: -300, currency: 'eur', created: at('2024-03-02T08:00:00Z'), status: 'available', reporting_category: 'fee', source: null },
  { id: 'txn_3', type: 'payout', amount: -4000, fee: 0, net: -4000, currency: 'eur', created: at('2024-03-02T09:00:00Z'), status: 'available', reporting_category: 'payout', source: 'po_1' },
  { id: 'txn_4', type: 'charge', amount: 3000, fee: 117, net: 2883, currency: 'usd', created: at('2024-03-03T10:05:00Z'), status: 'pending', reporting_category: 'charge', source: { id: 'ch_2' } },
  // An amount that is not whole minor units: set aside.
  { id: 'txn_5', type: 'charge', amount: '12.5', fee: 0, net: 0, currency: 'eur', created: at('2024-03-03T10:05:00Z'), status: 'pending' },
];

/** 5.00 EUR of Google Ads on 3 March, and a parcel of order 2 shipped that day for 4.00 EUR. */
const googleAds = [
  { customer: { id: '100', currency_code: 'EUR', time_zone: 'Europe/Paris' }, campaign: { id: '7', name: 'Brand' }, segments: { date: '2024-03-03' },
    metrics: { cost_micros: '5000000', clicks: '4', impressions: '100', conversions: 1, conversions_value: 20 } },
];
const shipments = [{ order_id: '2', tracking_number: 'T1', carrier: 'dhl', shipped_at: '2024-03-03T15:00:00Z', shipping_cost: '4.00', currency: 'EUR', status: 'in_transit' }];

/**
 * Stripe charges: O1's on 1 March (its balance transaction is txn_1), and one on 2 March that has
 * no balance transaction (the fees of that day are missing).
 */
const charges = [
  { id: 'ch_1', object: 'charge', amount: 6720, amount_captured: 6720, amount_refunded: 0, currency: 'eur', created: at('2024-03-01T10:01:00Z'), status: 'succeeded', payment_intent: 'pi_1', metadata: { order_id: '1' } },
  { id: 'ch_9', object: 'charge', amount: 1000, amount_captured: 1000, amount_refunded: 0, currency: 'eur', created: at('2024-03-02T10:01:00Z'), status: 'succeeded', payment_intent: 'pi_9', metadata: {} },
];

const levels = [
  { snapshot_date: '2024-03-03', inventory_item_id: 111, variant_id: 11, location_id: 1, available: 5, tracked: true, updated_at: '2024-03-02T10:00:00Z' },
  { snapshot_date: '2024-03-03', inventory_item_id: 111, variant_id: 11, location_id: 2, available: -1, tracked: true, updated_at: '2024-03-02T10:00:00Z' },
  // No variant id on the level: its inventory item names the variant.
  { snapshot_date: '2024-03-03', inventory_item_id: 112, location_id: 1, available: 0, updated_at: '2024-03-02T10:00:00Z' },
  { snapshot_date: '2024-03-03', inventory_item_id: 121, variant_id: 21, location_id: 1, available: 'lots', tracked: false },
  // Two days later: TEE-M at one location, TEE-S never sold; TEE-L absent from the snapshot.
  { snapshot_date: '2024-03-05', inventory_item_id: 111, variant_id: 11, location_id: 1, available: 4, tracked: true, updated_at: '2024-03-04T10:00:00Z' },
  { snapshot_date: '2024-03-05', inventory_item_id: 113, variant_id: 13, location_id: 1, available: 7, tracked: true, updated_at: '2024-03-01T10:00:00Z' },
];

/** Lands the shop, stream by stream, through the real loader. */
export async function landProductsShop(pool: pg.Pool): Promise<void> {
  await landRecords(pool, 'fx', 'rates', fxRates);
  await landRecords(pool, 'shopify', 'products', products);
  await landRecords(pool, 'costs', 'unit_costs', costs);
  await landRecords(pool, 'shopify', 'orders', orders);
  await landRecords(pool, 'stripe', 'balance_transactions', balanceTransactions);
  await landRecords(pool, 'shopify', 'inventory_levels', levels);
  await landRecords(pool, 'google_ads', 'campaign_daily', googleAds);
  await landRecords(pool, 'shipments', 'shipments', shipments);
  await landRecords(pool, 'stripe', 'charges', charges);
}
