import type { ShopifyConfig } from '../../config/schema.ts';
import { catalog } from '../catalog.ts';
import type { Source, Stream } from '../types.ts';
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

/** Shopify through the GraphQL Admin API: orders and customers, paged or as bulk operations. */
export const shopifySource: Source<ShopifyConfig> = {
  name: 'shopify',
  streams: [shopifyOrdersStream, shopifyCustomersStream],
};
