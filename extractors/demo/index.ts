/**
 * The demo shop: a seeded simulation of an online shop that stands in for every source with
 * `verite run --demo`, and a bulk order generator for benchmarks.
 */
export { demoSources, defaultDemoEndDate, type DemoOptions } from './sources.ts';
export { generateShopifyOrders } from './generate.ts';
