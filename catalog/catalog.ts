import type { StreamKind } from './stream-contract.ts';

/**
 * What the warehouse knows of a stream: its name, kind, key, cursor, report date and version.
 * An extractor's stream (extractors/types.ts) is this plus how to read the API.
 */
export interface StreamIdentity {
  readonly name: string;
  readonly kind: StreamKind;
  /** A description of the key, for docs and `verite status` (e.g. `id`, `customer + campaign + date`). */
  readonly keyDescription: string;
  /** A description of the cursor (e.g. `updated_at + lookback`). */
  readonly cursorDescription: string;
  readonly defaultLookbackDays: number;
  /**
   * Whether the stream's landed rows date the shop's data, so `verite status`, the freshness
   * alerts and `streamFreshnessHours` judge it. Deletion events do not: a shop that deletes
   * nothing for a month is not a stale stream. Default true.
   */
  readonly datesData?: boolean;
  /**
   * Whether its data may go days without a change in a shop that runs well (a catalogue, refunds,
   * unit costs): its freshness is then measured from its last successful read as well as from
   * its newest data, whichever is later (a read that succeeded saw every change made before it
   * began). Default false: a stream of the shop's daily business (orders, charges, traffic) is
   * judged by its newest data alone, so an API that answers but sends nothing new is noticed.
   */
  readonly sparse?: boolean;
  /** The record's key as text; undefined when the record has none (it is then quarantined). */
  keyOf(record: Record<string, unknown>): string | undefined;
  /** date-report only: the report date of a row, YYYY-MM-DD. */
  dateOf?(record: Record<string, unknown>): string | undefined;
  /**
   * The version of an entity record (e.g. its `updated_at`) as an ISO timestamp: an older
   * version never overwrites a newer one already landed. Undefined: the last landed wins.
   */
  versionOf?(record: Record<string, unknown>): string | undefined;
  /**
   * Why the record's version field holds a number that is no usable version (Unix seconds
   * outside the years 1 to 9999), or undefined: the loader quarantines such a record rather
   * than fail its page or land it without its version.
   */
  versionProblem?(record: Record<string, unknown>): string | undefined;
  /**
   * Why the record is plainly another kind of object than the stream's, or undefined: a Stripe
   * object says what it is (`object`), a Shopify one its type (`admin_graphql_api_id`), so a file
   * imported into the wrong stream is quarantined saying where it belongs, where its ids alone
   * would have landed it as, say, orders that every later model sets aside.
   */
  kindProblem?(record: Record<string, unknown>): string | undefined;
}

type Rec = Record<string, unknown>;

const text = (v: unknown): string | undefined =>
  v === null || v === undefined || v === '' ? undefined : typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' ? String(v) : undefined;

const obj = (v: unknown): Rec => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : {});

/** Several parts of a composite key; undefined when any is missing. */
function composite(...parts: (string | undefined)[]): string | undefined {
  return parts.every((p) => p !== undefined) ? parts.join('|') : undefined;
}

/** A date as YYYY-MM-DD from `YYYY-MM-DD`, `YYYYMMDD` or an ISO timestamp's date part; never year 0, which PostgreSQL has not. */
export function reportDate(v: unknown): string | undefined {
  const s = text(v);
  if (!s) return undefined;
  const m = /^(\d{4})-?(\d{2})-?(\d{2})/.exec(s);
  if (!m || m[1] === '0000') return undefined;
  const iso = `${m[1]}-${m[2]}-${m[3]}`;
  const d = new Date(`${iso}T00:00:00Z`);
  return Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== iso ? undefined : iso;
}

/**
 * The years of a timestamp verite lands: PostgreSQL has no year 0 and reads no ISO text past
 * 9999 (JavaScript writes the year 55840 as `+055840-…`), so a version outside them would fail
 * the COPY of its whole page.
 */
const TIMESTAMP_YEARS = { first: 1, last: 9999 } as const;

/**
 * An ISO timestamp from an ISO string or Unix seconds; undefined when the value is none, or
 * falls outside the years 1 to 9999 (Unix milliseconds read as seconds give the year 55840).
 * Never throws.
 */
export function isoTimestamp(v: unknown): string | undefined {
  let ms: number;
  if (typeof v === 'number') ms = v * 1000;
  else {
    const s = text(v);
    if (!s) return undefined;
    ms = Date.parse(s);
  }
  // A Date holds ±8.64e15 ms: past that (Unix seconds of 1e20) it is invalid, and toISOString would throw.
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) return undefined;
  const year = date.getUTCFullYear();
  return year < TIMESTAMP_YEARS.first || year > TIMESTAMP_YEARS.last ? undefined : date.toISOString();
}

/** A value shown in a reason: text quoted and cut at 60 characters, a number as written, anything else as JSON. */
function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  const json = JSON.stringify(v) ?? String(v);
  return json.length > 60 ? `${json.slice(0, 60)}…` : json;
}

/**
 * Why the value of a version field is a number verite cannot land as a timestamp (Unix seconds
 * outside the years 1 to 9999, with a hint when it reads as Unix milliseconds), or undefined.
 * Text is not judged here: text that is no date lands without its version, as it always has,
 * and the build sets it aside by its own reading of the field (which takes forms a version does
 * not, such as Unix seconds written as text with blanks around them, from a CSV import).
 */
export function timestampProblem(field: string, v: unknown): string | undefined {
  if (typeof v !== 'number' || isoTimestamp(v) !== undefined) return undefined;
  const ms = typeof v === 'number' ? isoTimestamp(v / 1000) : undefined;
  const hint = ms ? `: it reads as Unix milliseconds (${ms}), where seconds are expected` : '';
  return `its version ${field} ${shown(v)} is not a timestamp between the years ${TIMESTAMP_YEARS.first} and ${TIMESTAMP_YEARS.last}${hint}`;
}

/**
 * A stream's version read from one field as a timestamp (`versionOf`), and why a value of it
 * cannot be used (`versionProblem`), for the loader to quarantine that record.
 *
 * @example
 * gift_cards: identity('gift_cards', 'entity', 'id', 'updated_at', 2, (r) => text(r.id), { ...versionField('updated_at') }),
 */
export function versionField(field: string): Pick<StreamIdentity, 'versionOf' | 'versionProblem'> {
  return { versionOf: (r) => isoTimestamp(r[field]), versionProblem: (r) => timestampProblem(field, r[field]) };
}

function identity(
  name: string,
  kind: StreamKind,
  keyDescription: string,
  cursorDescription: string,
  defaultLookbackDays: number,
  keyOf: (r: Rec) => string | undefined,
  extra: Partial<Pick<StreamIdentity, 'dateOf' | 'versionOf' | 'versionProblem' | 'datesData' | 'sparse' | 'kindProblem'>> = {},
): StreamIdentity {
  return Object.freeze({ name, kind, keyDescription, cursorDescription, defaultLookbackDays, keyOf, ...extra });
}

/** Where the API objects a file may hold belong: Stripe's by `object`, Shopify's by the type in their global id. */
const STRIPE_STREAMS: Readonly<Record<string, string>> = { charge: 'stripe charges', refund: 'stripe refunds', balance_transaction: 'stripe balance_transactions' };
const SHOPIFY_STREAMS: Readonly<Record<string, string>> = { Order: 'shopify orders', Customer: 'shopify customers', Product: 'shopify products' };

/**
 * The kind check of a stream that holds Stripe objects of type `object` (or, with `null`, of a
 * stream that holds none), and Shopify objects of type `gidType` (or none). A record that says
 * nothing of its kind passes: only a record that plainly is another kind is refused.
 */
function kindOf(stripeObject: string | null, gidType: string | null): (r: Rec) => string | undefined {
  return (r) => {
    const object = typeof r.object === 'string' ? r.object : undefined;
    if (object !== undefined && object in STRIPE_STREAMS && object !== stripeObject) {
      return `a Stripe ${object.replace('_', ' ')} (its "object" is "${object}")${stripeObject ? `, not a ${stripeObject.replace('_', ' ')}` : ''}: import it as ${STRIPE_STREAMS[object]}`;
    }
    const gid = typeof r.admin_graphql_api_id === 'string' ? /^gid:\/\/shopify\/([A-Za-z]+)\//.exec(r.admin_graphql_api_id)?.[1] : undefined;
    if (gid !== undefined && gid in SHOPIFY_STREAMS && gid !== gidType) {
      const an = (word: string) => `${/^[aeiou]/i.test(word) ? 'an' : 'a'} ${word}`;
      return `a Shopify ${gid.toLowerCase()} (its admin_graphql_api_id is ${an(gid)} id)${gidType ? `, not ${an(gidType.toLowerCase())}` : ''}: import it as ${SHOPIFY_STREAMS[gid]}`;
    }
    return undefined;
  };
}

/**
 * The stream catalogue: every source and its streams, with the kind, key, cursor, report date
 * and version of each. Real extractors, the demo shop, `verite import` and the loader all take
 * a stream's identity from here, so a record lands the same way whichever way it arrives; the
 * raw tables, the `source.stream` names and the config's source keys are derived from it
 * (docs/architecture.md, "Adding a stream").
 */
export const catalog = {
  shopify: {
    orders: identity('orders', 'entity', 'id', 'updated_at + lookback', 2, (r) => text(r.id), {
      ...versionField('updated_at'),
      kindProblem: kindOf(null, 'Order'),
    }),
    customers: identity('customers', 'entity', 'id', 'updated_at + lookback', 2, (r) => text(r.id), {
      ...versionField('updated_at'),
      kindProblem: kindOf(null, 'Customer'),
    }),
    // An event never changes; and without a version its raw rows do not date the stream's data:
    // a shop that deletes nothing for a month is not a stale stream.
    deletions: identity('deletions', 'entity', 'id', 'created_at + lookback', 2, (r) => text(r.id), { datesData: false }),
    // A catalogue may go weeks without an edit: fresh while it is read (sparse).
    products: identity('products', 'entity', 'id', 'updated_at + lookback', 2, (r) => text(r.id), {
      ...versionField('updated_at'),
      kindProblem: kindOf(null, 'Product'),
      sparse: true,
    }),
    // A snapshot of the levels as read on the run's date: each run replaces its date's rows, so
    // history builds up one date at a time and a second run on a date corrects the first.
    inventory_levels: identity(
      'inventory_levels',
      'date-report',
      'inventory item + location + snapshot date',
      'one snapshot per run date',
      0,
      (r) => composite(text(r.inventory_item_id), text(r.location_id), reportDate(r.snapshot_date)),
      { dateOf: (r) => reportDate(r.snapshot_date) },
    ),
  },
  stripe: {
    // `created` never changes, so as a version it only dates the data (freshness): an update
    // of the same object has an equal version and lands.
    charges: identity('charges', 'entity', 'id', 'created, then events', 2, (r) => text(r.id), { ...versionField('created'), kindProblem: kindOf('charge', null) }),
    // Days without a refund are the norm in a small shop (sparse).
    refunds: identity('refunds', 'entity', 'id', 'created, then events', 2, (r) => text(r.id), {
      ...versionField('created'),
      kindProblem: kindOf('refund', null),
      sparse: true,
    }),
    // A pending transaction becomes available (its status changes) days after it is created:
    // the lookback lists those days again, and the restated record lands over the first.
    balance_transactions: identity('balance_transactions', 'entity', 'id', 'created + lookback', 7, (r) => text(r.id), {
      ...versionField('created'),
      kindProblem: kindOf('balance_transaction', null),
    }),
  },
  ga4: {
    traffic_daily: identity(
      'traffic_daily',
      'date-report',
      'property + date + dimensions',
      'date, lookback 3 days',
      3,
      (r) =>
        composite(
          text(r.property_id),
          reportDate(r.date),
          String(r.sessionDefaultChannelGroup ?? ''),
          String(r.sessionSource ?? ''),
          String(r.sessionMedium ?? ''),
          String(r.sessionCampaignName ?? ''),
          String(r.deviceCategory ?? ''),
        ),
      { dateOf: (r) => reportDate(r.date) },
    ),
  },
  google_ads: {
    campaign_daily: identity(
      'campaign_daily',
      'date-report',
      'customer + campaign + date',
      'date, lookback 30 days',
      30,
      (r) => composite(text(obj(r.customer).id), text(obj(r.campaign).id), reportDate(obj(r.segments).date)),
      { dateOf: (r) => reportDate(obj(r.segments).date) },
    ),
  },
  meta_ads: {
    campaign_insights_daily: identity(
      'campaign_insights_daily',
      'date-report',
      'account + campaign + date',
      'date, lookback 28 days',
      28,
      (r) => composite(text(r.account_id), text(r.campaign_id), reportDate(r.date_start)),
      { dateOf: (r) => reportDate(r.date_start) },
    ),
  },
  shipments: {
    shipments: identity(
      'shipments',
      'entity',
      'tracking_number (else order + carrier)',
      'file drop / carrier API updated_at',
      30,
      (r) => text(r.tracking_number) ?? (text(r.order_id) && text(r.carrier) ? `${text(r.order_id)}|${text(r.carrier)}` : undefined),
      versionField('updated_at'),
    ),
  },
  costs: {
    // `valid_from` never changes for a key, so as a version it only dates the data (the newest
    // cost's date, as for fx rates): a file sent again with a corrected cost has an equal version
    // and lands over the row. Costs change a few times a year: fresh while the drop folder is read (sparse).
    unit_costs: identity('unit_costs', 'entity', 'sku + valid_from', 'file drop', 0, (r) => composite(text(r.sku), reportDate(r.valid_from)), {
      versionOf: (r) => isoTimestamp(reportDate(r.valid_from)),
      sparse: true,
    }),
  },
  fx: {
    // An entity, not a date report: a file of a few pairs must not wipe other pairs of its dates.
    rates: identity(
      'rates',
      'entity',
      'base + quote + date',
      'date',
      7,
      (r) => composite(text(r.base)?.toUpperCase(), text(r.quote)?.toUpperCase(), reportDate(r.date)),
      { versionOf: (r) => isoTimestamp(reportDate(r.date)) },
    ),
  },
} as const satisfies Record<string, Record<string, StreamIdentity>>;

/** A stream catalogue: source → stream → identity. {@link catalog} is the one a run uses. */
export type StreamCatalog = Readonly<Record<string, Readonly<Record<string, StreamIdentity>>>>;

export type Catalog = typeof catalog;
/** A source of the catalogue, by the name of its config entry. */
export type CatalogSource = keyof Catalog;
/** A stream of the catalogue as `source.stream`. */
export type StreamName<C extends StreamCatalog = Catalog> = {
  [S in keyof C & string]: `${S}.${keyof C[S] & string}`;
}[keyof C & string];
/** The raw landing table of every stream, `raw.<source>__<stream>`. */
export type RawTableName<C extends StreamCatalog = Catalog> = {
  [S in keyof C & string]: `raw.${S}__${keyof C[S] & string}`;
}[keyof C & string];

/** One stream of a catalogue, with the names derived from its entry. */
export interface CatalogStream {
  source: string;
  stream: string;
  /** `source.stream`. */
  name: string;
  /** `raw.<source>__<stream>`. */
  rawTable: string;
  identity: StreamIdentity;
}

/** The landing table of a stream, `raw.<source>__<stream>`; refuses a name that is not a plain identifier. */
export function rawTableName(source: string, stream: string): string {
  if (!/^[a-z][a-z0-9_]*$/.test(source) || !/^[a-z][a-z0-9_]*$/.test(stream)) {
    throw new Error(`invalid source or stream name: ${source}.${stream}`);
  }
  return `raw.${source}__${stream}`;
}

/** Every stream of a catalogue, in catalogue order. */
export function catalogStreams(of: StreamCatalog = catalog): CatalogStream[] {
  return Object.entries(of).flatMap(([source, streams]) =>
    Object.entries(streams).map(([stream, identity]) => ({ source, stream, name: `${source}.${stream}`, rawTable: rawTableName(source, stream), identity })),
  );
}

/** The catalogue entry of `source.stream`, or undefined. */
export function streamIdentity(source: string, stream: string, of: StreamCatalog = catalog): StreamIdentity | undefined {
  return Object.hasOwn(of, source) && Object.hasOwn(of[source]!, stream) ? of[source]![stream] : undefined;
}
