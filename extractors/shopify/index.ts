import { registerSource } from '../registry.ts';
import { shopifySource } from './source.ts';

registerSource(shopifySource);

export { shopifySource, shopifyOrdersStream, shopifyCustomersStream, shopifyDeletionsStream, shopifyProductsStream, shopifyInventoryLevelsStream } from './source.ts';
export { readInventoryLevels } from './inventory-levels.ts';
export { readShopifyStream, planRead, parseState, searchQuery, BULK_PAGE_SIZE, type ShopifyState, type BulkState, type ReadPlan } from './stream-read.ts';
export { shopifyClient, adminBaseUrl, QueryCostError, type ShopifyGraphql } from './graphql-client.ts';
export { reshapeOrder, reshapeCustomer, reshapeProduct, legacyId, type GqlOrder, type GqlCustomer, type GqlProduct } from './reshape.ts';
export { checkApiVersion, checkServedVersion, latestVersionAt, versionWindow } from './api-version.ts';
export { CostThrottle, throttledDelay } from './cost-throttle.ts';
export { readBulkObjects } from './bulk-file.ts';
