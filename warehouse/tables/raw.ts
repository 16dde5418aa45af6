import type { ColumnType, Generated } from 'kysely';

/**
 * A raw landing table, `raw.<source>__<stream>`: the API's record untouched, one row per key.
 */
export interface RawTable {
  /** The record's key, as the stream's `keyOf` gives it. */
  _key: string;
  /** The record exactly as the API sent it. */
  _record: ColumnType<unknown, string, string>;
  /** date-report streams: the report date the row belongs to. */
  _report_date: ColumnType<string | null, string | null | undefined, string | null>;
  /** entity streams: the record's own version (e.g. updated_at); an older one never overwrites. */
  _version: ColumnType<Date | null, string | Date | null | undefined, string | Date | null>;
  /** md5 of the record's JSON text: an unchanged record is not rewritten. */
  _hash: string;
  /** The extraction (one stream read) that last wrote the row. */
  _batch_id: string;
  _run_id: string;
  _extracted_at: ColumnType<Date, string | Date | undefined, string | Date>;
}

/** The raw streams of the stream catalogue whose tables 0001 creates (0012 creates the last four too). */
export const RAW_STREAMS = [
  ['shopify', 'orders'],
  ['shopify', 'customers'],
  ['stripe', 'charges'],
  ['stripe', 'refunds'],
  ['ga4', 'traffic_daily'],
  ['google_ads', 'campaign_daily'],
  ['meta_ads', 'campaign_insights_daily'],
  ['shipments', 'shipments'],
  // Products, stock and profit (issue 13): created by 0012 too, for warehouses made before them.
  ['shopify', 'products'],
  ['shopify', 'inventory_levels'],
  ['stripe', 'balance_transactions'],
  ['costs', 'unit_costs'],
  ['fx', 'rates'],
] as const;

export type RawTableName = `raw.${(typeof RAW_STREAMS)[number][0]}__${(typeof RAW_STREAMS)[number][1]}`;

/**
 * Raw tables of streams added after the first migration, each created by a migration of its
 * own; they are not in {@link RAW_STREAMS}, whose tables 0001 creates. `shopify.deletions`
 * (0005) holds deletion events, which do not date the shop's data, so it is not among the
 * streams whose freshness `verite status` judges either.
 */
type LaterRawTableName = 'raw.shopify__deletions';

export type RawTables = { [K in RawTableName | LaterRawTableName]: RawTable };

export function rawTableName(source: string, stream: string): string {
  if (!/^[a-z][a-z0-9_]*$/.test(source) || !/^[a-z][a-z0-9_]*$/.test(stream)) {
    throw new Error(`invalid source or stream name: ${source}.${stream}`);
  }
  return `raw.${source}__${stream}`;
}

/** Generated<T> is re-exported so table files import from one place. */
export type { Generated };
