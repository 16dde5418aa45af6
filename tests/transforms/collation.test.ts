import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { createLogger } from '../../lib/logger.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { runTransforms } from '../../transforms/runner.ts';
import { urlParam } from '../../transforms/sql.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { landCoreShop, order, orders } from './fixtures.ts';

/**
 * A warehouse on a database of another collation builds the tables a C database builds
 * (docs/architecture.md, "The database's collation"). Turkish is the hard case: there
 * `lower('I')` is `ı` and `upper('i')` is `İ`, and an ICU locale takes Unicode blanks
 * for `\s`. The hand-made shop of the core tests, and a few records written in capitals or with
 * an em space, are built on a C database and on a Turkish one, then compared row for row; the
 * values the capitals could change are worked out by hand.
 */
const NOW = new Date('2024-03-06T12:00:00Z');
const log = createLogger(process.stderr, 'silent');
const config = configSchema.parse({ reportingTimezone: 'Europe/Paris', reportingCurrency: 'USD', sources: {} });

const extraOrders = [
  // Instagram's paid traffic, in capitals: meta_ads; the campaign keeps its case.
  order({ id: 901, created_at: '2024-03-04T10:00:00Z', total: '30.00', customer: 901, email: ' ILKAY.ISIK@EXAMPLE.COM ',
    landing_site: '/?UTM_SOURCE=INSTAGRAM&UTM_MEDIUM=PAID_SOCIAL&UTM_CAMPAIGN=IKINCI' }),
  // No UTM, a search engine's referrer in capitals: organic search.
  order({ id: 902, created_at: '2024-03-04T11:00:00Z', total: '20.00', customer: 902, referring_site: 'HTTPS://WWW.BING.COM/SEARCH?Q=MUG' }),
  // An em space before the zone: no date, set aside (it used to stop the build where `\s` takes it).
  order({ id: 903, created_at: '2024-03-04T10:00:00\u2003Z', total: '10.00', customer: 903 }),
];
// Stripe writes currencies in lower case: 2,400.00 INR at 80 INR to the dollar is 30 USD.
const extraCharges = [
  { id: 'ch_inr', object: 'charge', amount: 240000, amount_captured: 240000, amount_refunded: 0, currency: 'inr', created: 1709546400, status: 'succeeded',
    payment_intent: 'pi_inr', metadata: { order_id: '901' } },
];
// A rates file written in lower case, as Stripe writes its codes.
const extraRates = [{ date: '2024-03-04', base: 'usd', quote: 'inr', rate: 80 }];
// Shopify's GraphQL writes a product's status in capitals.
const products = [
  { id: 7, title: 'Mug', product_type: 'Kitchen', vendor: 'Kiln', status: 'ACTIVE', created_at: '2024-01-01T00:00:00Z', updated_at: '2024-03-05T00:00:00Z',
    variants: [{ id: 70, product_id: 7, sku: 'SKU-7', title: 'Mug', price: '10.00', inventory_item_id: 170, tracked: false, unit_cost: { amount: '3.00', currency_code: 'usd' } }] },
];

async function build(wh: Warehouse): Promise<void> {
  await landCoreShop(wh.pool, { 'fx.rates': extraRates, 'shopify.orders': extraOrders, 'stripe.charges': extraCharges, 'shopify.products': products });
  const transform = await runTransforms(wh, config, { log, now: NOW, full: true });
  expect(transform.error).toBeUndefined();
  expect(transform.status).toBe('succeeded');
  const metrics = await refreshMetrics(wh, config, log, { now: NOW, full: true });
  expect(metrics.error).toBeUndefined();
  expect(metrics.status).toBe('succeeded');
}

/** Every row of every table of `staging`, `core` and `metrics`, and what was set aside, as text in byte order. */
async function snapshot(wh: Warehouse): Promise<Record<string, string[]>> {
  const tables = await wh.pool.query(
    `select table_schema || '.' || table_name as name from information_schema.tables
      where table_schema in ('staging', 'core', 'metrics') and table_type = 'BASE TABLE' order by 1`,
  );
  const out: Record<string, string[]> = {};
  for (const { name } of tables.rows as { name: string }[]) {
    // Staging rows carry the time their raw record was landed, which differs between the two.
    const rows = await wh.pool.query(`select to_jsonb(t) - '_loaded_at' - '_landed_at' - '_extracted_at' as row from ${name} t`);
    out[name] = rows.rows.map((r) => JSON.stringify(r.row)).sort();
  }
  const setAside = await wh.pool.query(`select model, check_name, source, stream, key, reason from ops.set_aside`);
  out['ops.set_aside'] = setAside.rows.map((r) => JSON.stringify(r)).sort();
  return out;
}

let c: Warehouse;
let tr: Warehouse;

beforeAll(async () => {
  [c, tr] = await Promise.all([createTestDatabase('collation_c', 'C'), createTestDatabase('collation_tr', 'tr')]);
  // The Turkish database is one: its own case rules hold in it.
  const rules = await tr.pool.query(`select upper('inr') as up, lower('I') as low`);
  expect(rules.rows[0]).toEqual({ up: 'İNR', low: 'ı' });
  await build(c);
  await build(tr);
});
afterAll(async () => {
  await c?.close();
  await tr?.close();
});

describe('a warehouse on a Turkish database', () => {
  it('reads codes, statuses, hosts, UTM parameters and e-mail addresses in capitals as a C database does', async () => {
    const ordersOf = async (wh: Warehouse) =>
      (await wh.pool.query(`select order_id, channel, utm_source, utm_medium, utm_campaign from core.orders where order_id in ('14', '901', '902') order by order_id`)).rows;
    const expected = [
      // The core fixtures' order 14: `?UTM_SOURCE=Newsletter&amp;UTM_MEDIUM=Email&amp;utm_campaign=march`.
      { order_id: '14', channel: 'email', utm_source: 'Newsletter', utm_medium: 'Email', utm_campaign: 'march' },
      { order_id: '901', channel: 'meta_ads', utm_source: 'INSTAGRAM', utm_medium: 'PAID_SOCIAL', utm_campaign: 'IKINCI' },
      { order_id: '902', channel: 'organic_search', utm_source: null, utm_medium: null, utm_campaign: null },
    ];
    expect(await ordersOf(tr)).toEqual(expected);
    expect(await ordersOf(c)).toEqual(expected);

    for (const wh of [c, tr]) {
      const staged = await wh.pool.query(`select email from staging.shopify_orders where order_id = '901'`);
      expect(staged.rows).toEqual([{ email: 'ilkay.isik@example.com' }]);
      const payment = await wh.pool.query(`select currency, amount::float8 as amount, amount_rc::float8 as amount_rc from core.payments where charge_id = 'ch_inr'`);
      expect(payment.rows).toEqual([{ currency: 'INR', amount: 2400, amount_rc: 30 }]);
      const product = await wh.pool.query(`select status from core.products where product_id = '7'`);
      expect(product.rows).toEqual([{ status: 'active' }]);
      const setAside = await wh.pool.query(`select reason from ops.set_aside where stream = 'orders' and key = '903'`);
      expect(setAside.rows).toHaveLength(1);
      expect(setAside.rows[0].reason).toMatch(/created_at/);
    }
  });

  it('builds every staging, core and metrics table, and sets aside the same records, as a C database does', async () => {
    const [inC, inTr] = await Promise.all([snapshot(c), snapshot(tr)]);
    expect(Object.keys(inC).length).toBeGreaterThan(40);
    expect(inC['core.orders']!.length).toBe(orders.length + 2);
    expect(inTr).toEqual(inC);
  });

  it('gives, function by function, what a C database gives', async () => {
    const texts = {
      timestamps: ['2024-03-01T10:00:00Z', '2024-03-01t10:00:00z', '2024-03-01T10:00:00 Z', '2024-03-01T10:00:00\u2003Z', '2024-03-01T10:00:00\u00a0Z',
        '2024-03-01T10:00\u3000Z', '\u20032024-03-01T10:00:00Z', '\u0662\u0660\u0662\u0664-03-01T10:00:00Z'],
      dates: ['20240301', '\u0662\u0660\u0662\u0664\u0660\u0663\u0660\u0661', '2024-03-01'],
      urls: ['HTTPS://WWW.INSTAGRAM.COM/x', 'https://\u0130nstagram.com/', '/?UTM_MEDIUM=CPC&UTM_CAMPAIGN=IKINCI', '/?utm_med\u0130um=x&utm_medium=y', '/?utm_med\u0131um=x',
        '/?\u00dctm=1&utm_source=\u0130zmir', 'HTTP://SHOP.EXAMPLE/?AMP;UTM_SOURCE=IG', '/?Utm_Campaign=Kis%C4%B1n'],
      currencies: ['inr', 'INR', '\u0130NR', 'idr', 'ils', 'isk', 'bif', 'jpy', 'kwd', ' usd '],
      booleans: ['TRUE', 'false', 'Tru\u0130'],
    };
    const values = async (wh: Warehouse) =>
      (
        await sql<{ v: unknown }>`select jsonb_build_object(
          'timestamps', (select jsonb_agg(jsonb_build_array(t, extract(epoch from ops.parse_timestamptz(t)), extract(epoch from ops.iso_timestamptz(t))) order by o) from unnest(${texts.timestamps}::text[]) with ordinality x(t, o)),
          'dates', (select jsonb_agg(jsonb_build_array(t, ops.try_date(t)) order by o) from unnest(${texts.dates}::text[]) with ordinality x(t, o)),
          'urls', (select jsonb_agg(jsonb_build_array(t, ops.url_host(t), ops.url_param(t, 'utm_source'), ops.url_param(t, 'utm_medium'), ops.url_param(t, 'utm_campaign'),
              ${urlParam(sql`t`, 'utm_source')}, ${urlParam(sql`t`, 'utm_medium')}, ${urlParam(sql`t`, 'utm_campaign')}) order by o) from unnest(${texts.urls}::text[]) with ordinality x(t, o)),
          'currencies', (select jsonb_agg(jsonb_build_array(t, ops.currency_problem('currency', t, true), ops.currency_exponent(t)) order by o) from unnest(${texts.currencies}::text[]) with ordinality x(t, o)),
          'booleans', (select jsonb_agg(jsonb_build_array(t, ops.parse_boolean(t)) order by o) from unnest(${texts.booleans}::text[]) with ordinality x(t, o)),
          'tags', to_jsonb(ops.lower_texts('["INTERNAL", "Test", "\u0130ade"]'::jsonb))
        ) as v`.execute(wh.db)
      ).rows[0]!.v as Record<string, unknown[][]>;
    const [inC, inTr] = [await values(c), await values(tr)];
    expect(inTr).toEqual(inC);
    // Worked out by hand: ASCII letters change case, every other character stays; ASCII blanks alone are blanks.
    const by = (list: unknown[][]) => new Map(list.map((row) => [row[0], row.slice(1)]));
    const timestamps = by(inTr.timestamps!);
    expect(timestamps.get('2024-03-01T10:00:00\u2003Z')).toEqual([null, null]);
    expect(timestamps.get('2024-03-01T10:00:00\u00a0Z')).toEqual([null, null]);
    // 2024-03-01 00:00 UTC is 1,709,251,200 s after 1970; ten hours more.
    expect(timestamps.get('2024-03-01T10:00:00 Z')).toEqual([1709287200, 1709287200]);
    expect(timestamps.get('2024-03-01t10:00:00z')).toEqual([1709287200, 1709287200]);
    expect(by(inTr.dates!).get('\u0662\u0660\u0662\u0664\u0660\u0663\u0660\u0661')).toEqual([null]);
    const urls = by(inTr.urls!);
    expect(urls.get('HTTPS://WWW.INSTAGRAM.COM/x')![0]).toBe('www.instagram.com');
    expect(urls.get('https://\u0130nstagram.com/')![0]).toBe('\u0130nstagram.com');
    expect(urls.get('/?UTM_MEDIUM=CPC&UTM_CAMPAIGN=IKINCI')).toEqual([null, null, 'CPC', 'IKINCI', null, 'CPC', 'IKINCI']);
    expect(urls.get('/?utm_med\u0130um=x&utm_medium=y')).toEqual([null, null, 'y', null, null, 'y', null]);
    expect(urls.get('/?\u00dctm=1&utm_source=\u0130zmir')).toEqual([null, '\u0130zmir', null, null, '\u0130zmir', null, null]);
    const currencies = by(inTr.currencies!);
    expect(currencies.get('inr')).toEqual([null, 2]);
    expect(currencies.get('\u0130NR')).toEqual(['currency "\u0130NR" is not an ISO 4217 currency code', 2]);
    expect(currencies.get('bif')).toEqual([null, 0]);
    expect(currencies.get('kwd')).toEqual([null, 3]);
    expect(by(inTr.booleans!).get('TRUE')).toEqual([true]);
    expect(inTr.tags).toEqual(['internal', 'test', '\u0130ade']);
  });
});
