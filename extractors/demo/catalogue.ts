/**
 * The demo shop's catalogue as `shopify.products` records, with what each variant costs, and
 * its cost file (`costs.unit_costs`): the shop keeps its unit costs in Shopify, except for the
 * headlamp, whose supplier raised its price part way through the period (the old and new cost
 * are in the cost file; Shopify holds the new one, as it holds only the current cost). Two
 * products have no cost anywhere, so some sold lines are uncosted.
 */
import { money } from './format.ts';
import { PRODUCTS, type Product } from './shop-data.ts';
import { SHOP_OPENED } from './shop.ts';
import { DAY_MS, isoDay, shopTime } from './time.ts';

type Json = Record<string, unknown>;

/** Products the shop never entered a cost for (a sampler put together by hand, a hammock from a new maker). */
const UNCOSTED = new Set(['trail-mix-sampler', 'packable-hammock']);
/** The product whose cost changed in the period, through the cost file. */
const REPRICED = 'headlamp-300';
/** The headlamp's cost rise (its supplier's new price list), as a factor. */
const PRICE_RISE = 1.2;

/** The cost of a unit in USD cents before any change: 30 to 45 % of its US price, by product. */
function baseCostCents(product: Product, index: number): number {
  return Math.round((product.prices.USD * (30 + (index % 4) * 5)) / 100);
}

/** Cost of a unit in USD cents as Shopify holds it now, or null when none is set. */
export function currentCostCents(product: Product): number | null {
  if (UNCOSTED.has(product.handle)) return null;
  const base = baseCostCents(product, PRODUCTS.indexOf(product));
  return product.handle === REPRICED ? Math.round(base * PRICE_RISE) : base;
}

/** The inventory item of a variant: Shopify gives each variant its own. */
export function inventoryItemId(variantId: number): number {
  return variantId + 1_000_000_000_000;
}

/**
 * Every product with its variants, as the products stream lands them: last edited the day
 * before the first day of data (when the headlamp's new cost was entered), so every run of the
 * same window lands the same records.
 */
export function productRecords(firstDay: number): Json[] {
  const opened = Date.parse(`${SHOP_OPENED}T14:00:00Z`);
  const edited = (firstDay - 1) * DAY_MS + 15 * 3_600_000;
  return PRODUCTS.map((product) => {
    const cost = currentCostCents(product);
    return {
      id: product.id,
      admin_graphql_api_id: `gid://shopify/Product/${product.id}`,
      title: product.title,
      product_type: product.grams >= 280 && product.variants.length > 1 ? 'Outerwear' : product.variants.length > 1 ? 'Apparel' : 'Gear',
      vendor: product.vendor,
      status: 'active',
      created_at: shopTime(opened),
      updated_at: shopTime(Math.max(opened, edited)),
      variants: product.variants.map((v) => ({
        id: v.id,
        admin_graphql_api_id: `gid://shopify/ProductVariant/${v.id}`,
        product_id: product.id,
        sku: v.sku,
        title: v.title ?? 'Default Title',
        price: money(product.prices.USD),
        inventory_item_id: inventoryItemId(v.id),
        tracked: true,
        unit_cost: cost === null ? null : { amount: money(cost), currency_code: 'USD' },
      })),
    };
  });
}

/**
 * The cost file: the headlamp's cost from the first day of data, and its new cost from the
 * middle of the period on (a file sent when the supplier's prices changed), or from a year in
 * for a longer period: the file stays the same as the days run on past two years (each nightly
 * run of the pipeline benchmark asks for one more day), as a supplier's prices do.
 */
export function unitCostRecords(firstDay: number, lastDay: number): Json[] {
  const product = PRODUCTS.find((p) => p.handle === REPRICED)!;
  const base = baseCostCents(product, PRODUCTS.indexOf(product));
  const change = firstDay + Math.min(365, Math.floor((lastDay - firstDay + 1) / 2));
  return product.variants.flatMap((v) => [
    { sku: v.sku, unit_cost: base / 100, currency: 'USD', valid_from: isoDay(firstDay) },
    ...(change > firstDay ? [{ sku: v.sku, unit_cost: Math.round(base * PRICE_RISE) / 100, currency: 'USD', valid_from: isoDay(change) }] : []),
  ]);
}

