import type { ShopifyConfig } from '../../config/schema.ts';
import { catalog } from '../../catalog/catalog.ts';
import type { Source, Stream } from '../types.ts';
import { readDeletions } from './deletions.ts';
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

/** Shopify through the GraphQL Admin API: orders and customers (paged or as bulk operations), and their deletions. */
export const shopifySource: Source<ShopifyConfig> = {
  name: 'shopify',
  streams: [shopifyOrdersStream, shopifyCustomersStream, shopifyDeletionsStream],
};
