import type { ColumnType, Generated } from 'kysely';
import { catalogStreams, rawTableName, type CatalogSource, type RawTableName } from '../../catalog/catalog.ts';

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

/**
 * The streams whose landed rows date the shop's data, as `[source, stream]` in catalogue order:
 * those `verite status`, the freshness alerts and `streamFreshnessHours` judge. Derived from the
 * stream catalogue; every stream of the catalogue has a raw table ({@link RawTables}), these and
 * the ones that do not date the data (`shopify.deletions`).
 */
export const RAW_STREAMS: readonly (readonly [CatalogSource, string])[] = catalogStreams()
  .filter((s) => s.identity.datesData !== false)
  .map((s) => [s.source as CatalogSource, s.stream] as const);

export type { RawTableName };

/** Every raw table of the stream catalogue, by name. */
export type RawTables = { [K in RawTableName]: RawTable };

/** Generated<T> is re-exported so table files import from one place. */
export type { Generated };

export { rawTableName };
