import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalog, catalogStreams, streamIdentity, versionField, type RawTableName, type StreamCatalog, type StreamIdentity, type StreamName } from '../../catalog/catalog.ts';
import { configSchema, sourceConfigSchemas, type ConfigOf } from '../../config/schema.ts';
import type { Source, Stream } from '../../extractors/types.ts';
import { logger } from '../../lib/logger.ts';
import { runPipeline } from '../../pipeline/run.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { ensureRawTables } from '../../warehouse/raw-tables.ts';
import { createTestDatabase } from '../support/database.ts';

/**
 * The worked example of docs/architecture.md, "Adding a stream": Shopify gift cards. One
 * catalogue entry (here added to a copy of the catalogue) and its extractor; the names, the raw
 * table and the loader follow from the entry.
 */

// 1. The catalogue entry (in catalog/catalog.ts it is one line of `catalog.shopify`).
const giftCards: StreamIdentity = Object.freeze({
  name: 'gift_cards',
  kind: 'entity',
  keyDescription: 'id',
  cursorDescription: 'updated_at',
  defaultLookbackDays: 2,
  keyOf: (r: Record<string, unknown>) => (r.id === undefined || r.id === null ? undefined : String(r.id)),
  ...versionField('updated_at'),
});
const exampleCatalog = { ...catalog, shopify: { ...catalog.shopify, gift_cards: giftCards } } as const satisfies StreamCatalog;

// The stream unions take the entry in: these lines compile only because of it.
const exampleName: StreamName<typeof exampleCatalog> = 'shopify.gift_cards';
const exampleTable: RawTableName<typeof exampleCatalog> = 'raw.shopify__gift_cards';
// @ts-expect-error the live catalogue has no gift cards
const notInTheLiveCatalogue: StreamName = 'shopify.gift_cards';

// 2. Its extractor: the entry plus how to read the API (a fixed page here), in the source's streams.
const pages = [
  { records: [{ id: 1, balance: '25.00', updated_at: '2024-03-01T10:00:00Z' }, { id: 2, balance: '10.00', updated_at: '2024-03-02T10:00:00Z' }, { balance: '5.00' }], state: { updated_at: '2024-03-02T10:00:00Z' } },
];
const giftCardsStream: Stream<ConfigOf<'shopify'>> = {
  ...giftCards,
  async *read() {
    yield* pages;
  },
};
const shopifyWithGiftCards: Source<ConfigOf<'shopify'>> = { name: 'shopify', streams: [giftCardsStream] };

// 3. No migration: the raw table follows from the entry. `migrateToLatest` creates the raw table
// of every stream of the live catalogue that has none (warehouse/raw-tables.ts); the copy here is
// handed to the same function.

let wh: Warehouse;
beforeAll(async () => {
  wh = await createTestDatabase('add_a_stream');
  expect(await ensureRawTables(wh.db, catalogStreams(exampleCatalog))).toEqual(['raw.shopify__gift_cards']);
});
afterAll(async () => wh?.close());

describe('adding a stream (docs/architecture.md)', () => {
  it('gives the stream its source.stream name and raw table, after the source’s other streams', () => {
    const shopify = catalogStreams(exampleCatalog).filter((s) => s.source === 'shopify');
    expect(shopify.map((s) => [s.name, s.rawTable])).toEqual([
      ['shopify.orders', 'raw.shopify__orders'],
      ['shopify.customers', 'raw.shopify__customers'],
      ['shopify.deletions', 'raw.shopify__deletions'],
      ['shopify.products', 'raw.shopify__products'],
      ['shopify.inventory_levels', 'raw.shopify__inventory_levels'],
      ['shopify.gift_cards', 'raw.shopify__gift_cards'],
    ]);
    expect([exampleName, exampleTable, notInTheLiveCatalogue]).toEqual(['shopify.gift_cards', 'raw.shopify__gift_cards', 'shopify.gift_cards']);
    expect(streamIdentity('shopify', 'gift_cards', exampleCatalog)).toBe(giftCards);
    // The live catalogue is untouched.
    expect(streamIdentity('shopify', 'gift_cards')).toBeUndefined();
    expect(catalogStreams().map((s) => s.name)).not.toContain('shopify.gift_cards');
  });

  it('reads the stream’s settings from its source’s config entry, one per catalogue source', () => {
    expect(Object.keys(sourceConfigSchemas)).toEqual(['shopify', 'stripe', 'ga4', 'google_ads', 'meta_ads', 'shipments', 'costs', 'fx']);
    expect(Object.keys(sourceConfigSchemas)).toEqual(Object.keys(catalog));
    // A stream of the catalogue is a key of streamFreshnessHours; a name it does not have is refused.
    expect(configSchema.parse({ streamFreshnessHours: { 'shopify.orders': 6 } }).streamFreshnessHours).toEqual({ 'shopify.orders': 6 });
    expect(() => configSchema.parse({ streamFreshnessHours: { 'shopify.gift_cards': 6 } })).toThrow(/no stream shopify\.gift_cards/);
  });

  it('needs no migration: the raw table is made once from the entry, and an existing one is left alone', async () => {
    const columns = await wh.pool.query(`select column_name from information_schema.columns where table_schema = 'raw' and table_name = 'shopify__gift_cards' order by ordinal_position`);
    expect(columns.rows.map((r) => r.column_name)).toEqual(['_key', '_record', '_report_date', '_version', '_hash', '_batch_id', '_run_id', '_extracted_at']);
    expect(await ensureRawTables(wh.db, catalogStreams(exampleCatalog))).toEqual([]);
    // Every stream of the live catalogue has its raw table after the migrations.
    const tables = await wh.pool.query(`select 'raw.' || table_name as name from information_schema.tables where table_schema = 'raw'`);
    const have = new Set(tables.rows.map((r) => r.name));
    expect(catalogStreams().filter((s) => !have.has(s.rawTable))).toEqual([]);
  });

  it('lands through a run into its raw table: keyed, versioned, the record without a key quarantined', async () => {
    const config = configSchema.parse({ sources: { shopify: { shop: 'example.myshopify.com' } } });
    const result = await runPipeline({
      warehouse: wh,
      config,
      log: logger(),
      now: new Date('2024-03-03T00:00:00Z'),
      steps: [],
      sources: [{ source: shopifyWithGiftCards, config: config.sources.shopify }],
    });
    expect(result.status).toBe('succeeded');
    expect(result.streams.map((s) => [s.source, s.stream, s.status])).toEqual([['shopify', 'gift_cards', 'succeeded']]);
    const rows = await wh.pool.query(`select _key, _record->>'balance' as balance, _version from raw.shopify__gift_cards order by _key`);
    expect(rows.rows).toEqual([
      { _key: '1', balance: '25.00', _version: new Date('2024-03-01T10:00:00Z') },
      { _key: '2', balance: '10.00', _version: new Date('2024-03-02T10:00:00Z') },
    ]);
    const held = await wh.pool.query(`select source, stream from ops.quarantine`);
    expect(held.rows).toEqual([{ source: 'shopify', stream: 'gift_cards' }]);
    const state = await wh.pool.query(`select state from ops.stream_state where source = 'shopify' and stream = 'gift_cards'`);
    expect(state.rows).toEqual([{ state: { updated_at: '2024-03-02T10:00:00Z' } }]);
  });
});
