import { describe, expect, it } from 'vitest';
import { metricByName, metricDefinitions } from '../../metrics/definitions/index.ts';
import { metricParts } from '../../metrics/alert-metrics.ts';

/**
 * Issue 4: an alert reads a kpi_daily metric over its window from the parts the metric
 * definitions give, not from a copy of the formulas. Expected parts below are copied by hand
 * from docs/metrics.md's kpi_daily table.
 */

describe('metricParts (alerts over a window)', () => {
  it("takes each ratio's parts from its definition: the columns of docs/metrics.md", () => {
    expect(metricParts('aov')).toEqual({ kind: 'ratio', numerator: 'revenue', denominator: 'orders' });
    expect(metricParts('cac')).toEqual({ kind: 'ratio', numerator: 'ad_spend', denominator: 'new_customers' });
    expect(metricParts('cart_abandonment_rate')).toEqual({ kind: 'ratio', numerator: 'ga4_purchases', denominator: 'add_to_carts', complement: true });
    expect(metricParts('on_time_delivery_rate')).toEqual({ kind: 'ratio', numerator: 'shipments_on_time', denominator: 'shipments_delivered_with_promise' });
    // "revenue of new customers' first orders / ad_spend": its numerator is the kpi_daily column new_customer_revenue.
    expect(metricParts('nc_roas')).toEqual({ kind: 'ratio', numerator: 'new_customer_revenue', denominator: 'ad_spend' });
    // `delivery_days_total / shipments_delivered`: every counted shipment has an order, so a delivery time (DECISIONLOG.md, "Metrics").
    expect(metricParts('avg_delivery_days')).toEqual({ kind: 'ratio', numerator: 'delivery_days_total', denominator: 'shipments_delivered' });
    expect(metricParts('net_revenue')).toEqual({ kind: 'sum', column: 'net_revenue' });
    // A margin over a window: the sums of its profit (a difference, published as a column) and of its base.
    expect(metricParts('gross_margin')).toEqual({ kind: 'ratio', numerator: 'gross_profit', denominator: 'product_sales' });
    expect(metricParts('contribution_margin')).toEqual({ kind: 'ratio', numerator: 'contribution_profit', denominator: 'net_revenue_ex_tax' });
    expect(metricParts('new_customers')).toEqual({ kind: 'sum', column: 'new_customers' });
  });

  it('agrees with the definition of every kpi_daily ratio it accepts', () => {
    for (const m of metricDefinitions.filter((x) => x.views.includes('kpi_daily') && x.derivation?.kind === 'ratio')) {
      const parts = metricParts(m.name);
      if ('error' in parts) continue;
      expect(parts, m.name).toMatchObject({ kind: 'ratio', numerator: metricByName(m.numerator!)!.column, denominator: metricByName(m.denominator!)!.column });
    }
  });

  it('refuses what a sum over days would get wrong, saying why', () => {
    expect(metricParts('customers')).toEqual({ error: 'customers cannot be alerted on over a window: distinct customers cannot be summed over days; use new_customers' });
    // An order shipped in parcels on two days would count twice.
    expect(metricParts('orders_shipped')).toEqual({
      error: 'orders_shipped cannot be alerted on over a window: an order shipped in parcels on several days counts on each of them; kpi_weekly and kpi_monthly recount it distinct over the period',
    });
    expect(metricParts('logistics_cost_per_order')).toMatchObject({ error: expect.stringMatching(/^logistics_cost_per_order cannot be alerted on over a window: orders_shipped is a distinct count/) });
    // Not a kpi_daily metric at all.
    expect(metricParts('churn_rate')).toMatchObject({ error: expect.stringMatching(/^unknown alert metric churn_rate \(expected .*\bnc_roas\b/) });
  });
});
