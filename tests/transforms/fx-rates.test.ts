import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { runModels } from '../../transforms/runner.ts';
import { models } from '../../transforms/models.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';
import { order } from './fixtures.ts';

/**
 * Issue 3: a published rate is carried for 7 days, as DECISIONLOG.md says, not 6. Rates are
 * published once, on Friday 1 March 2024; the run's clock is 12 March (UTC).
 *   1 EUR = 1.1 USD (direct), 1 USD = 150 JPY (only the opposite pair: 1 JPY = 1/150 USD),
 *   CHF both ways (1 CHF = 1.13 USD, 1 USD = 0.9 CHF): the direct pair wins.
 * 1 March + 7 days = 8 March: carried. 9 March: missing.
 */
let wh: Warehouse;
const NOW = new Date('2024-03-12T12:00:00Z');
const config = configSchema.parse({ reportingTimezone: 'UTC', reportingCurrency: 'USD' });

beforeAll(async () => {
  wh = await createTestDatabase('fx_rates');
  await landRecords(wh.pool, 'fx', 'rates', [
    { date: '2024-03-01', base: 'EUR', quote: 'USD', rate: 1.1 },
    { date: '2024-03-01', base: 'USD', quote: 'JPY', rate: 150 },
    { date: '2024-03-01', base: 'CHF', quote: 'USD', rate: 1.13 },
    { date: '2024-03-01', base: 'USD', quote: 'CHF', rate: 0.9 },
  ]);
  await landRecords(wh.pool, 'shopify', 'orders', [
    order({ id: 1, created_at: '2024-03-08T10:00:00Z', currency: 'EUR', total: '10.00', customer: 1 }),
    order({ id: 2, created_at: '2024-03-08T11:00:00Z', currency: 'JPY', total: '3000', customer: 2 }),
  ]);
});
afterAll(async () => wh?.close());

const rows = async (query: string, on: Warehouse = wh) => (await on.pool.query(query)).rows as Record<string, any>[];

describe('exchange rates carried forward', () => {
  it('carries a rate to the 7th day after it was published, and no further', async () => {
    const result = await runModels(wh.db, config, { models, now: NOW });
    expect(result.error).toBeUndefined();
    const got = await rows(`select currency, date, method, rate_date, rate from core.fx_rates where currency in ('EUR', 'JPY') order by currency, date`);
    const days = ['2024-03-01', '2024-03-02', '2024-03-03', '2024-03-04', '2024-03-05', '2024-03-06', '2024-03-07', '2024-03-08'];
    for (const currency of ['EUR', 'JPY']) {
      const mine = got.filter((r) => r.currency === currency);
      expect(mine.map((r) => r.date), currency).toEqual(days);
      expect(mine.every((r) => r.rate_date === '2024-03-01'), currency).toBe(true);
      expect(mine.slice(1).every((r) => r.method === 'carried'), currency).toBe(true);
    }
    expect(got[0]).toMatchObject({ currency: 'EUR', method: 'direct' });
    expect(got[8]).toMatchObject({ currency: 'JPY', method: 'inverse' });
    expect(Number(got[8]!.rate)).toBeCloseTo(1 / 150, 12);
    const chf = await rows(`select method, rate from core.fx_rates where currency = 'CHF' and date = '2024-03-01'`);
    expect(chf.map((r) => [r.method, Number(r.rate)])).toEqual([['direct', 1.13]]);
    // Orders of 8 March convert on the carried rates: 10 EUR × 1.1; 3000 JPY / 150.
    const orders = await rows(`select order_id, total_price_rc from core.orders order by order_id`);
    expect(Number(orders[0]!.total_price_rc)).toBeCloseTo(11, 9);
    expect(Number(orders[1]!.total_price_rc)).toBeCloseTo(20, 9);
  });

  it('fails the run on the 8th day, naming the currency and the date', async () => {
    await landRecords(wh.pool, 'shopify', 'orders', [order({ id: 3, created_at: '2024-03-09T10:00:00Z', currency: 'EUR', total: '5.00', customer: 3 })], 'run-2');
    const result = await runModels(wh.db, config, { models, now: NOW });
    expect(result.status).toBe('failed');
    expect(result.published).toBe(false);
    const check = result.checks.find((c) => !c.passed)!;
    expect(check).toMatchObject({ model: 'core.orders', check: 'every amount has an exchange rate', sample: [{ currency: 'EUR', date: '2024-03-09' }] });
    expect(result.error).toMatch(/no exchange rate from EUR on 2024-03-09/);
  });
});

describe('rates written the wrong way round', () => {
  let fx: Warehouse;
  afterAll(async () => fx?.close());

  it('warns of a rate that turned into its inverse and of a pair that disagrees with its opposite, and publishes the build', async () => {
    fx = await createTestDatabase('fx_inverted');
    await landRecords(fx.pool, 'fx', 'rates', [
      { date: '2024-03-01', base: 'EUR', quote: 'USD', rate: 1.1 },
      // 1 / 1.1 = 0.909…: the file gave "1 USD = 0.9091 EUR" under EUR→USD.
      { date: '2024-03-04', base: 'EUR', quote: 'USD', rate: 0.9091 },
      // A real move of 3% is no warning, nor are CHF's two pairs 1.7% apart (1 / 1.13 = 0.885 against 0.9).
      { date: '2024-03-01', base: 'USD', quote: 'JPY', rate: 150 },
      { date: '2024-03-04', base: 'USD', quote: 'JPY', rate: 154.5 },
      { date: '2024-03-01', base: 'CHF', quote: 'USD', rate: 1.13 },
      { date: '2024-03-01', base: 'USD', quote: 'CHF', rate: 0.9 },
      // Both ways on one day, the same number: 1.27 × 1.27 = 1.61, not 1.
      { date: '2024-03-05', base: 'GBP', quote: 'USD', rate: 1.27 },
      { date: '2024-03-05', base: 'USD', quote: 'GBP', rate: 1.27 },
      // A rate long after its last (83 days) is not compared with it.
      { date: '2023-12-01', base: 'SEK', quote: 'USD', rate: 0.096 },
      { date: '2024-02-22', base: 'SEK', quote: 'USD', rate: 10.4 },
    ]);
    const result = await runModels(fx.db, config, { models, now: NOW });
    expect(result.error).toBeUndefined();
    expect(result.published).toBe(true);
    const check = result.checks.find((c) => c.check === 'rates are not written the wrong way round')!;
    expect(check.passed).toBe(false);
    expect(check.sample).toEqual([
      { kind: 'opposite', base: 'GBP', quote: 'USD', date: '2024-03-05', rate: '1.27', other_date: '2024-03-05', other_rate: '1.27' },
      { kind: 'inverse', base: 'EUR', quote: 'USD', date: '2024-03-04', rate: '0.9091', other_date: '2024-03-01', other_rate: '1.1' },
    ]);
    expect(result.warnings).toEqual([
      'staging.fx_rates: exchange rates that look written the wrong way round: GBP→USD is 1.27 and USD→GBP 1.27 on 2024-03-05, which are not each other\'s inverse; ' +
        'EUR→USD is 0.9091 on 2024-03-04 and was 1.1 on 2024-03-01, nearly its inverse. A row of a rates file means 1 base is worth rate quote (docs/sources/fx.md); correct the file and import it again',
    ]);
  });
});

describe('rates that will not do, landed without the file source', () => {
  let fx: Warehouse;
  afterAll(async () => fx?.close());

  it('sets them aside with why, and publishes the others', async () => {
    fx = await createTestDatabase('fx_set_aside');
    // As a JSON file given to `verite import` lands them: as written.
    await landRecords(fx.pool, 'fx', 'rates', [
      { date: '2024-03-01', base: 'EUR', quote: 'USD', rate: 1.1 },
      { date: '2024-03-01', base: 'EUR', quote: 'GBP', rate: 'n/a' },
      { date: '2024-03-01', base: 'EUR', quote: 'CHF', rate: 0 },
      { date: '2024-03-01', base: 'EURO', quote: 'JPY', rate: 160 },
    ]);
    const result = await runModels(fx.db, config, { models, now: NOW });
    expect(result.error).toBeUndefined();
    expect(result.published).toBe(true);
    const published = await fx.pool.query(`select base, quote, rate::float8 as rate from staging.fx_rates order by quote`);
    expect(published.rows).toEqual([{ base: 'EUR', quote: 'USD', rate: 1.1 }]);
    // In byte order: "O" comes before "|".
    const aside = await fx.pool.query(`select key, reason from ops.set_aside where stream = 'rates' order by key collate "C"`);
    expect(aside.rows).toEqual([
      { key: 'EURO|JPY|2024-03-01', reason: 'base "EURO" is not an ISO 4217 currency code' },
      { key: 'EUR|CHF|2024-03-01', reason: 'rate "0" is zero' },
      { key: 'EUR|GBP|2024-03-01', reason: 'rate "n/a" is not a decimal amount' },
    ]);
  });
});

/**
 * A rates file for a currency the ECB does not publish, written to EUR (docs/sources/fx.md: "1
 * base is worth rate quote"), beside the ECB's EUR-based rates; reporting in USD.
 *   4 March: 1 ARS = 0.0011 EUR, 1 EUR = 1.085 USD: 1 ARS = 0.0011 × 1.085 = 0.0011935 USD.
 *   5 March: ARS→USD given as well (0.0013): the direct pair wins over the cross rate. HUF both
 *     ways, 1 HUF = 0.00251 EUR (the file) and 1 EUR = 400 HUF (the ECB), 400 × 0.00251 = 1.004,
 *     close enough not to be warned of: the row to EUR wins, 0.00251 × 1.085 = 0.00272335 USD
 *     (not 1.085 / 400 = 0.0027125).
 *   6 March: no EUR→USD, only USD→EUR 0.8: 1 ARS = 0.0011 / 0.8 = 0.001375 USD.
 *   7 March: EUR→ARS 0.0011 beside ARS→EUR 0.0011 (one of them written the wrong way round):
 *     warned of; the row to EUR is used, 0.0011 × 1.09 = 0.001199.
 * An order of 50,000 ARS on 4 March is 50,000 × 0.0011935 = 59.675 USD.
 */
describe("a rates file's row to EUR", () => {
  let fx: Warehouse;
  afterAll(async () => fx?.close());

  it('serves the cross rate through EUR, after the direct pair and before the EUR-based row of its day', async () => {
    fx = await createTestDatabase('fx_to_eur');
    await landRecords(fx.pool, 'fx', 'rates', [
      { date: '2024-03-04', base: 'EUR', quote: 'USD', rate: 1.085 },
      { date: '2024-03-04', base: 'ARS', quote: 'EUR', rate: 0.0011 },
      { date: '2024-03-05', base: 'EUR', quote: 'USD', rate: 1.085 },
      { date: '2024-03-05', base: 'ARS', quote: 'EUR', rate: 0.0012 },
      { date: '2024-03-05', base: 'ARS', quote: 'USD', rate: 0.0013 },
      { date: '2024-03-05', base: 'HUF', quote: 'EUR', rate: 0.00251 },
      { date: '2024-03-05', base: 'EUR', quote: 'HUF', rate: 400 },
      { date: '2024-03-06', base: 'USD', quote: 'EUR', rate: 0.8 },
      { date: '2024-03-06', base: 'ARS', quote: 'EUR', rate: 0.0011 },
      { date: '2024-03-07', base: 'EUR', quote: 'USD', rate: 1.09 },
      { date: '2024-03-07', base: 'ARS', quote: 'EUR', rate: 0.0011 },
      { date: '2024-03-07', base: 'EUR', quote: 'ARS', rate: 0.0011 },
    ]);
    await landRecords(fx.pool, 'shopify', 'orders', [order({ id: 1, created_at: '2024-03-04T14:00:00Z', currency: 'ARS', total: '50000.00', customer: 1 })]);
    const result = await runModels(fx.db, config, { models, now: NOW });
    expect(result.error).toBeUndefined();
    const got = await rows(
      `select currency, date, method, rate from core.fx_rates
        where (currency = 'ARS' and date between '2024-03-04' and '2024-03-07') or (currency = 'HUF' and date = '2024-03-05')
        order by currency, date`,
      fx,
    );
    expect(got.map((r) => [r.currency, r.date, r.method])).toEqual([
      ['ARS', '2024-03-04', 'cross'],
      ['ARS', '2024-03-05', 'direct'],
      ['ARS', '2024-03-06', 'cross'],
      ['ARS', '2024-03-07', 'cross'],
      ['HUF', '2024-03-05', 'cross'],
    ]);
    const rates = got.map((r) => Number(r.rate));
    expect(rates[0]).toBeCloseTo(0.0011935, 15);
    expect(rates[1]).toBeCloseTo(0.0013, 15);
    expect(rates[2]).toBeCloseTo(0.001375, 15);
    expect(rates[3]).toBeCloseTo(0.001199, 15);
    expect(rates[4]).toBeCloseTo(0.00272335, 15);
    const orders = await rows(`select total_price_rc from core.orders`, fx);
    expect(Number(orders[0]!.total_price_rc)).toBeCloseTo(59.675, 9);
    expect(result.warnings).toEqual([
      "staging.fx_rates: exchange rates that look written the wrong way round: ARS→EUR is 0.0011 and EUR→ARS 0.0011 on 2024-03-07, which are not each other's inverse. " +
        'A row of a rates file means 1 base is worth rate quote (docs/sources/fx.md); correct the file and import it again',
    ]);
  });
});
