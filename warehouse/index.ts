export type { Database } from './database.ts';
export { openWarehouse, connect, describeUrl, type Warehouse, type OpenOptions } from './connection.ts';
export { startEmbedded, reachableDataDir, type EmbeddedServer } from './embedded.ts';
export { migrateToLatest } from './migrate.ts';
export { rawTableName, RAW_STREAMS, type RawTable } from './tables/raw.ts';
