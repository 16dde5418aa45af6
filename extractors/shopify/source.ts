import type { ShopifyConfig } from '../../config/schema.ts';
import { catalog } from '../../catalog/catalog.ts';
import type { Source, Stream } from '../types.ts';
import { readDeletions } from './deletions.ts';
import { readInventoryLevels } from './inventory-levels.ts';
import { readShopifyStream } from './stream-read.ts';

/** Admin API Orders, incremental on `updated_at` with a lookback (late edits, refunds). */
export const shopifyOrdersStream: Stream<ShopifyConfig> = {
  ...catalog.shopify.orders,
  read: (ctx) => readShopifyStream('orders', ctx),
};

/** Admin API Customers, incremental on `updated_at`. */
export const shopifyCustomersStream: Stream<ShopifyConfig> = {
  ...catalog.shopify.customers,
  read: (ctx) => readShopifyStream('customers', ctx),
};

/**
 * Deletion notices of orders and customers (the Admin API's `destroy` events), incremental on
 * their `created_at`: the transforms leave a deleted order out of every metric.
 */
export const shopifyDeletionsStream: Stream<ShopifyConfig> = {
  ...catalog.shopify.deletions,
  read: (ctx) => readDeletions(ctx),
};

/** Products with their variants and each variant's unit cost, incremental on `updated_at` (bulk for a first load). */
export const shopifyProductsStream: Stream<ShopifyConfig> = {
  ...catalog.shopify.products,
  read: (ctx) => readShopifyStream('products', ctx),
};

/** The stock levels, snapshotted once per run date (Shopify keeps no history of them). */
export const shopifyInventoryLevelsStream: Stream<ShopifyConfig> = {
  ...catalog.shopify.inventory_levels,
  read: (ctx) => readInventoryLevels(ctx),
};

/**
 * Shopify through the GraphQL Admin API: orders, customers and products (paged or as bulk
 * operations), the deletions of orders and customers, and a daily snapshot of stock levels.
 */
export const shopifySource: Source<ShopifyConfig> = {
  name: 'shopify',
  streams: [shopifyOrdersStream, shopifyCustomersStream, shopifyDeletionsStream, shopifyProductsStream, shopifyInventoryLevelsStream],
};
