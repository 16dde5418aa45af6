import { sql } from 'kysely';
import { KPI_PERIOD_VIEWS, metric } from '../../../metrics/definition.ts';
import { countedOrders } from '../../../metrics/measure-sources.ts';

/**
 * The worked example of docs/architecture.md, "Adding a measure", declared exactly as the page shows it: one
 * base measure, published at every time grain. It lives in the tests only: the refresh of the
 * test is given it next to the real definitions, so the real tables never publish it.
 */
export const exampleLargeOrders = metric('sales', {
  name: 'example_large_orders',
  label: 'Large orders',
  description: 'Counted orders of 60 or more in the reporting currency, on the local date they were created.',
  formula: 'count of counted orders with `total_price` of 60 or more',
  unit: 'count',
  views: [...KPI_PERIOD_VIEWS, 'kpi_channel_daily'],
  sources: ['shopify.orders', 'fx.rates'],
  measure: countedOrders.count({ filter: sql<boolean>`total_price_rc >= 60` }),
});
