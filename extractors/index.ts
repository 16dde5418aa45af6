/**
 * Loads every extractor so each registers its source. The demo shop is not registered: it
 * stands in for all sources with `verite run --demo`.
 */
import './fx/index.ts';
import './ga4/index.ts';
import './google-ads/index.ts';
import './meta-ads/index.ts';
import './shipments/index.ts';
import './shopify/index.ts';
import './stripe/index.ts';
export { registerSource, registeredSource, registeredSources } from './registry.ts';
export { catalog, streamIdentity } from '../catalog/catalog.ts';
export type { Source, Stream, Page, ReadContext, StreamKind, DateWindow, JsonValue } from './types.ts';
