import { sql } from 'kysely';
import { defineView } from '../view.ts';

/**
 * `metrics.clv_summary`: the per-customer predictions of the last fit that published
 * (`core.customer_predictions`, which the BI role cannot read: guest keys are e-mail
 * addresses), summed by the month of the customers' first counted order and its channel, next
 * to that channel's ad spend in that month. The CLV fit rebuilds it in the transaction that
 * writes the predictions; a metrics refresh rebuilds it when the customers or the spend changed,
 * from the predictions as they stand.
 */
export const clvSummary = defineView({
  name: 'clv_summary',
  grain: "one row per cohort month (of the first counted order) × channel of the first order, summing the last published CLV fit's predictions",
  dimensions: ['date', 'cohort_month', 'channel'],
  leadingMetrics: ['clv_customers', 'expected_purchases_365d', 'predicted_clv_12m', 'expected_alive_customers', 'avg_p_alive', 'cohort_ad_spend', 'predicted_ltv_to_cac'],
  indexes: [{ columns: ['cohort_month', 'channel'], unique: true }, { columns: ['date'] }],
  build: (db) =>
    db
      .with('cohorts', (q) =>
        q
          .selectFrom('core.customer_predictions as p')
          .innerJoin('core.customers as c', 'c.customer_key', 'p.customer_key')
          .groupBy([sql`date_trunc('month', c.first_order_date)`, 'c.acquisition_channel'])
          .select([
            sql<string>`date_trunc('month', c.first_order_date)::date`.as('cohort_month'),
            'c.acquisition_channel as channel',
            sql<number>`count(*)`.as('customers'),
            sql<string>`sum(p.expected_purchases_365d)`.as('expected_purchases_365d'),
            sql<string>`sum(p.predicted_clv_12m)`.as('predicted_clv_12m'),
            sql<string>`sum(p.p_alive)`.as('expected_alive_customers'),
          ]),
      )
      .with('spend', (q) =>
        q
          .selectFrom('core.spend')
          .groupBy([sql`date_trunc('month', date)`, 'channel'])
          .select([sql<string>`date_trunc('month', date)::date`.as('month'), 'channel', sql<string>`sum(spend_rc)`.as('ad_spend')]),
      )
      .selectFrom('cohorts as k')
      .leftJoin('spend as s', (j) => j.onRef('s.month', '=', 'k.cohort_month').onRef('s.channel', '=', 'k.channel'))
      .select([
        'k.cohort_month as date',
        'k.cohort_month',
        'k.channel',
        'k.customers',
        'k.expected_purchases_365d',
        'k.predicted_clv_12m',
        'k.expected_alive_customers',
        // No spend rows for the channel that month: NULL, so predicted_ltv_to_cac is NULL too.
        's.ad_spend',
      ]),
});
