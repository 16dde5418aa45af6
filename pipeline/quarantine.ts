import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { ColumnMarks } from '../catalog/stream-contract.ts';
import type { VeriteConfig } from '../config/schema.ts';
import { catalogStreams, streamIdentity, type StreamIdentity } from '../catalog/catalog.ts';
import { columnsMark, type SheetContext } from '../extractors/shipments/column-mapping.ts';
import { knownSource, sources } from '../extractors/sources.ts';
import type { KnownSources } from '../extractors/types.ts';
import { UsageError, WarehouseError, errorMessage } from '../lib/errors.ts';
import { redactString, type Logger } from '../lib/logger.ts';
import { didYouMean } from '../lib/names.ts';
import { landPreparedPage, prepareRecord, type Prepared } from '../loaders/raw-loader.ts';
import { RawText } from '../loaders/raw-text.ts';
import type { Warehouse } from '../warehouse/connection.ts';
import type { Database } from '../warehouse/database.ts';
import { rawTableName } from '../warehouse/tables/raw.ts';
import { readOnlyReasonOf } from '../warehouse/writable.ts';
import { declareCursor, fetchBatches, readThroughCursor } from '../warehouse/cursor.ts';
import { withRunLock } from './lock.ts';
import { runPipeline, type RunResult } from './run.ts';
import { finishRun, startRun } from './run-log.ts';
import type { PostLoadStep } from './steps.ts';

/**
 * The records verite holds back, in one list: those the loader quarantined (`ops.quarantine`:
 * not JSON, no key …) and those the last build set aside (`ops.set_aside`: a field that does
 * not parse, an order that is set aside …). `verite quarantine` lists, shows, drops and
 * retries them. Every drop and retry is written to `ops.quarantine_actions`: which record,
 * what came of it, when, by whom and with which command (a drop keeps the record's text).
 */

export type HeldKind = 'set aside' | 'quarantined';

export interface HeldRecord {
  /** `source.stream:key` for a set-aside record, `q<n>` for a quarantine row. */
  id: string;
  kind: HeldKind;
  source: string;
  stream: string;
  /** The raw record's key (set aside); a quarantined record has none in raw. */
  key: string | null;
  reason: string;
  /** The models that set it aside (one record can be set aside by several). */
  models: string[];
  /** Since when: first set aside, or quarantined. */
  since: Date;
  /** Where it is: the raw table and key, or the file and line (or page) it came from. */
  location: string | null;
}

export interface HeldRecordDetail extends HeldRecord {
  /** The record's text: the raw JSON, or the quarantined text as it came. */
  raw: string | null;
  /** The run that landed (raw) or quarantined it. */
  runId: string | null;
}

export interface HeldFilter {
  source?: string;
  stream?: string;
  kind?: HeldKind;
  /** Words the reason contains (case-insensitive). */
  reason?: string;
}

/** What each filter takes, for the message that refuses an empty one. */
const FILTER_VALUES = { source: 'a source (e.g. shopify)', stream: 'a stream (e.g. orders)', kind: 'set-aside or quarantined', reason: 'the words the reason contains' } as const;

/**
 * Refuses a filter given with an empty or blank value (`--reason "$REASON"` with the variable not
 * set): matched as no filter, it would take in every held record, and a drop by it delete them
 * all. Every function that reads a filter calls it, so none takes `""` for "no filter".
 */
export function refuseEmptyFilter(filter: { [K in keyof typeof FILTER_VALUES]?: string }): void {
  for (const key of Object.keys(FILTER_VALUES) as (keyof typeof FILTER_VALUES)[]) {
    const value = filter[key];
    if (value !== undefined && value.trim() === '') {
      throw new UsageError(`--${key} is ${value === '' ? 'empty' : `blank (${JSON.stringify(value)})`}: give ${FILTER_VALUES[key]}, or leave --${key} out`);
    }
  }
}

/**
 * Refuses a filter's source or stream that verite does not know (`--source shopfy`, `--stream
 * order`), naming the close ones: it would match nothing, and say that nothing is held back. The
 * names known: the stream catalogue's, those of the extractors of `known`, and those of the
 * records held (a stream an older verite landed).
 */
export async function refuseUnknownFilterNames(db: Kysely<Database>, filter: HeldFilter, known: KnownSources = sources): Promise<void> {
  if (filter.source === undefined && filter.stream === undefined) return;
  const held = await sql<{ source: string; stream: string }>`
    select source, stream from ops.quarantine union select source, stream from ops.set_aside`.execute(db);
  const streams = [
    ...catalogStreams().map((c) => ({ source: c.source, stream: c.stream })),
    ...Object.values(known).flatMap((src) => src.streams.map((st) => ({ source: src.name, stream: st.name }))),
    ...held.rows,
  ];
  const sourceNames = [...new Set(streams.map((s) => s.source))];
  if (filter.source !== undefined && !sourceNames.includes(filter.source)) {
    throw new UsageError(`--source ${filter.source}: no such source${didYouMean(filter.source, sourceNames)} (the sources: ${sourceNames.join(', ')})`);
  }
  if (filter.stream === undefined) return;
  const streamNames = [...new Set(streams.filter((s) => filter.source === undefined || s.source === filter.source).map((s) => s.stream))];
  if (streamNames.includes(filter.stream)) return;
  throw new UsageError(
    filter.source === undefined
      ? `--stream ${filter.stream}: no source has such a stream${didYouMean(filter.stream, streamNames)} (the streams: ${streamNames.join(', ')})`
      : `--stream ${filter.stream}: source ${filter.source} has no such stream${didYouMean(filter.stream, streamNames)} (it has ${streamNames.join(', ')})`,
  );
}

const SET_ASIDE_ID = /^([a-z0-9_]+)\.([a-z0-9_]+):(.+)$/s;
const QUARANTINE_ID = /^q(\d+)$/;

type ParsedId = { kind: 'set aside'; source: string; stream: string; key: string } | { kind: 'quarantined'; rowId: string };

function parseId(id: string): ParsedId {
  const q = QUARANTINE_ID.exec(id);
  if (q) return { kind: 'quarantined', rowId: q[1]! };
  const s = SET_ASIDE_ID.exec(id);
  if (s) return { kind: 'set aside', source: s[1]!, stream: s[2]!, key: s[3]! };
  throw new UsageError(`${JSON.stringify(id)} names no record: a set-aside record is source.stream:key (e.g. shopify.orders:5), a quarantined one q<n> (e.g. q17); see verite quarantine list`);
}

/** `filter.reason` as an ILIKE pattern (its `%`, `_` and backslash taken as written), or null. */
function reasonPattern(filter: HeldFilter): string | null {
  return filter.reason !== undefined ? `%${filter.reason.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
}

/**
 * The records set aside that match `filter` but its kind, one row each: source, stream, key and
 * their reasons; `key` narrows it to that record, `after` to the keys after it (both read by the
 * index on source, stream and key).
 */
function setAsideMatching(filter: HeldFilter, keys: { key?: string; after?: string } = {}) {
  const like = reasonPattern(filter);
  return sql`select source, stream, key, string_agg(distinct reason, '; ') as reason, array_agg(distinct model order by model) as models, min(since) as since
      from ops.set_aside
     where (${filter.source ?? null}::text is null or source = ${filter.source ?? null})
       and (${filter.stream ?? null}::text is null or stream = ${filter.stream ?? null})
       ${keys.key === undefined ? sql`` : sql`and key = ${keys.key}`}
       ${keys.after === undefined ? sql`` : sql`and key > ${keys.after}`}
     group by source, stream, key
    having ${like}::text is null or string_agg(distinct reason, '; ') ilike ${like}`;
}

/** The quarantine rows that match `filter` but its kind. */
function quarantineMatching(filter: HeldFilter) {
  const like = reasonPattern(filter);
  return sql`(${filter.source ?? null}::text is null or source = ${filter.source ?? null})
       and (${filter.stream ?? null}::text is null or stream = ${filter.stream ?? null})
       and (${like}::text is null or reason ilike ${like})`;
}

/**
 * The order held records are listed and retried in: by source, stream and reason (as the C
 * collation orders text, the same on every database), then by id: `q<n>` beside
 * `source.stream:key` as text, set-aside records by key (a key of digits by its number) and
 * quarantined ones by number, the order they were quarantined in (q99 before q100).
 */
const HELD_ORDER = sql`source collate "C", stream collate "C", reason collate "C",
  case when row_id is null then source || '.' || stream || ':' else 'q' end collate "C", row_id,
  case when key ~ '^[0-9]{1,40}$' then lpad(key, 40, '0') else key end collate "C"`;

/** A held record as the listing query gives it. */
interface HeldRow {
  kind: HeldKind;
  source: string;
  stream: string;
  key: string | null;
  row_id: number | string | null;
  reason: string;
  models: string[];
  since: Date;
  location: string | null;
}

/** The held records matching `filter`, both kinds in one list ordered by {@link HELD_ORDER}, the first `limit` when given. */
function heldRecordsQuery(filter: HeldFilter, limit?: number) {
  return sql<HeldRow>`
    select kind, source, stream, key, row_id, reason, models, since, location from (
      select 'set aside' as kind, source, stream, key, null::bigint as row_id, reason, models, since, null::text as location
        from (${setAsideMatching(filter)}) set_aside
       where ${filter.kind ?? null}::text is distinct from 'quarantined'
      union all
      select 'quarantined', source, stream, null, id, reason, '{}'::text[], quarantined_at, location
        from ops.quarantine
       where ${quarantineMatching(filter)}
         and ${filter.kind ?? null}::text is distinct from 'set aside'
    ) held
     order by ${HELD_ORDER}
     limit ${limit ?? null}`;
}

function heldRecordOf(r: HeldRow): HeldRecord {
  if (r.kind === 'quarantined') {
    return { id: `q${r.row_id}`, kind: 'quarantined', source: r.source, stream: r.stream, key: null, reason: r.reason, models: [], since: r.since, location: r.location };
  }
  return { id: `${r.source}.${r.stream}:${r.key}`, kind: 'set aside', source: r.source, stream: r.stream, key: r.key, reason: r.reason, models: r.models, since: r.since, location: `${rawTableName(r.source, r.stream)} key ${r.key}` };
}

/** How many records are held, per kind and stream, of those matching `filter`. */
export async function countHeldRecords(db: Kysely<Database>, filter: HeldFilter = {}): Promise<{ kind: HeldKind; source: string; stream: string; count: number }[]> {
  refuseEmptyFilter(filter);
  const rows = await sql<{ kind: HeldKind; source: string; stream: string; count: number }>`
    select 'set aside' as kind, source, stream, count(*)::int as count
      from (${setAsideMatching(filter)}) held
     where ${filter.kind ?? null}::text is distinct from 'quarantined'
     group by source, stream
    union all
    select 'quarantined', source, stream, count(*)::int
      from ops.quarantine
     where ${quarantineMatching(filter)}
       and ${filter.kind ?? null}::text is distinct from 'set aside'
     group by source, stream
     order by source, stream, kind`.execute(db);
  return rows.rows;
}

/**
 * The held records matching `filter`, by source, stream, reason and id ({@link HELD_ORDER}); the
 * first `limit` of them when given, chosen and ordered in the database, so a quarantine of a
 * million rows is not read whole to show a page of it. For every one of many, {@link readHeldRecords}.
 */
export async function listHeldRecords(db: Kysely<Database>, filter: HeldFilter = {}, limit?: number): Promise<HeldRecord[]> {
  refuseEmptyFilter(filter);
  return (await heldRecordsQuery(filter, limit).execute(db)).rows.map(heldRecordOf);
}

/**
 * The held records matching `filter` (the first `limit` when given), in the order of
 * {@link listHeldRecords}, handed to `read` a batch at a time as a cursor reads them in a
 * read-only transaction of its own: a list of a million records is never held whole.
 */
export async function readHeldRecords<T>(
  warehouse: Pick<Warehouse, 'db' | 'pool'>,
  filter: HeldFilter,
  read: (batches: AsyncIterable<HeldRecord[]>) => Promise<T>,
  options: { limit?: number; rows?: number } = {},
): Promise<T> {
  refuseEmptyFilter(filter);
  return readThroughCursor(
    warehouse.pool,
    heldRecordsQuery(filter, options.limit).compile(warehouse.db),
    (batches) =>
      read(
        (async function* () {
          for await (const batch of batches) yield (batch.rows as HeldRow[]).map(heldRecordOf);
        })(),
      ),
    { rows: options.rows },
  );
}

/** The held record an id names, without its text; undefined when it names none. */
async function findHeldRecord(db: Kysely<Database>, id: string, parsed: ParsedId): Promise<(HeldRecord & { runId?: string | null; raw?: string }) | undefined> {
  if (parsed.kind === 'quarantined') {
    const row = await db.selectFrom('ops.quarantine').selectAll().where('id', '=', parsed.rowId).executeTakeFirst();
    if (!row) return undefined;
    return { id, kind: 'quarantined', source: row.source, stream: row.stream, key: null, reason: row.reason, models: [], since: row.quarantined_at, location: row.location, raw: row.raw, runId: row.run_id };
  }
  // That one record, looked up by source, stream and key: never the stream's whole list.
  const found = await sql<HeldRow>`select 'set aside' as kind, source, stream, key, null as row_id, reason, models, since, null as location
    from (${setAsideMatching({ source: parsed.source, stream: parsed.stream }, { key: parsed.key })}) held`.execute(db);
  const row = found.rows[0];
  return row ? heldRecordOf(row) : undefined;
}

/** One held record with its text; a {@link UsageError} when the id names none. */
export async function showHeldRecord(db: Kysely<Database>, id: string): Promise<HeldRecordDetail> {
  const parsed = parseId(id);
  const held = await findHeldRecord(db, id, parsed);
  if (!held) throw new UsageError(`no ${parsed.kind === 'quarantined' ? 'quarantined' : 'set-aside'} record ${id} (see verite quarantine list)`);
  if (held.kind === 'quarantined') return { ...held, raw: held.raw ?? null, runId: held.runId ?? null };
  const raw = await readRaw(db, held.source, held.stream, held.key!);
  return { ...held, raw: raw ? JSON.stringify(JSON.parse(raw.text), null, 2) : null, runId: raw?.runId ?? null };
}

async function readRaw(db: Kysely<Database>, source: string, stream: string, key: string): Promise<{ text: string; runId: string } | null> {
  const res = await sql<{ text: string; run_id: string }>`select _record::text as text, _run_id as run_id from ${sql.table(rawTableName(source, stream))} where _key = ${key}`.execute(db);
  const row = res.rows[0];
  return row ? { text: row.text, runId: row.run_id } : null;
}

/** Who and what acts, for `ops.quarantine_actions`. */
export interface Actor {
  /** The command line as typed. */
  command: string;
  /** The operating-system user. */
  user?: string;
}

export function currentActor(argv: readonly string[] = process.argv.slice(2)): Actor {
  let user: string | undefined;
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER ?? process.env.USERNAME;
  }
  return { command: redactString(['verite', ...argv].join(' ')), user };
}

export interface ActionOutcome {
  id: string;
  kind: HeldKind;
  outcome: string;
}

/** The outcomes listed one by one in a drop's or a retry's result; past them, they are counted ({@link ActionOutcomes}). */
export const LISTED_OUTCOMES = 20;

/** How many records a batch of a drop or retry by filter takes at a time (and a cursor fetches). */
const HELD_BATCH = 1000;

/**
 * What came of the records a drop or a retry acted on, without an object per record: the first
 * {@link LISTED_OUTCOMES} one by one, and counts by what came of them (`landed`, `still
 * quarantined`, `raw record deleted from raw.…`: {@link outcomeKind}).
 */
export class ActionOutcomes {
  readonly listed: ActionOutcome[] = [];
  /** What came of every one, in the order first met: the kind of outcome and how many. */
  readonly counts = new Map<string, number>();
  /** The same of those past the ones listed. */
  readonly more = new Map<string, number>();
  total = 0;
  /** Those still held: quarantined again, or still set aside. */
  stillHeld = 0;
  /** Those set aside (whose rebuild the next transform does). */
  setAside = 0;

  private readonly listing: number;
  constructor(listing = LISTED_OUTCOMES) {
    this.listing = listing;
  }

  add(outcome: ActionOutcome): void {
    this.total++;
    if (outcome.outcome.startsWith('still')) this.stillHeld++;
    if (outcome.kind === 'set aside') this.setAside++;
    const kind = outcomeKind(outcome.outcome);
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    if (this.listed.length < this.listing) this.listed.push(outcome);
    else this.more.set(kind, (this.more.get(kind) ?? 0) + 1);
  }
}

/** What an outcome comes down to, for a count: `landed` (whatever key), else its words before a colon. */
export function outcomeKind(outcome: string): string {
  return outcome.startsWith('landed') ? 'landed' : outcome.split(':')[0]!;
}

/**
 * Deletes held records, each id validated first and all in one transaction: a set-aside record
 * deletes the raw record it came from (and its `ops.set_aside` rows: the next build goes on
 * without it); a quarantined one removes its quarantine row. Each is logged with its text.
 */
export async function dropHeldRecords(db: Kysely<Database>, ids: readonly string[], actor: Actor): Promise<ActionOutcome[]> {
  if (ids.length === 0) throw new UsageError('name the records to drop (ids from verite quarantine list)');
  const parsed = ids.map((id) => ({ id, p: parseId(id) }));
  return db.transaction().execute(async (trx) => {
    // It takes no run lock (one transaction is all it needs): a warehouse that takes no writes is said so here.
    const refused = await readOnlyReasonOf(trx);
    if (refused) throw new WarehouseError(refused, '');
    const outcomes: ActionOutcome[] = [];
    for (const { id, p } of parsed) {
      if (p.kind === 'quarantined') {
        const row = await trx.deleteFrom('ops.quarantine').where('id', '=', p.rowId).returningAll().executeTakeFirst();
        if (!row) throw new UsageError(`no quarantined record ${id} (see verite quarantine list); nothing was dropped`);
        const outcome = 'quarantine row deleted';
        await logAction(trx, actor, { action: 'drop', kind: 'quarantined', source: row.source, stream: row.stream, key: null, quarantine_id: row.id, reason: row.reason, raw: row.raw, outcome });
        outcomes.push({ id, kind: 'quarantined', outcome });
        continue;
      }
      const reasons = await trx.selectFrom('ops.set_aside').select('reason').where('source', '=', p.source).where('stream', '=', p.stream).where('key', '=', p.key).execute();
      if (reasons.length === 0) throw new UsageError(`no set-aside record ${id} (see verite quarantine list); nothing was dropped`);
      const deleted = await sql<{ text: string }>`delete from ${sql.table(rawTableName(p.source, p.stream))} where _key = ${p.key} returning _record::text as text`.execute(trx);
      await trx.deleteFrom('ops.set_aside').where('source', '=', p.source).where('stream', '=', p.stream).where('key', '=', p.key).execute();
      const outcome = deleted.rows.length ? `raw record deleted from ${rawTableName(p.source, p.stream)}` : `no raw record left in ${rawTableName(p.source, p.stream)}; set-aside entry removed`;
      await logAction(trx, actor, {
        action: 'drop', kind: 'set aside', source: p.source, stream: p.stream, key: p.key, quarantine_id: null,
        reason: [...new Set(reasons.map((r) => r.reason))].join('; '), raw: deleted.rows[0]?.text ?? null, outcome,
      });
      outcomes.push({ id, kind: 'set aside', outcome });
    }
    return outcomes;
  });
}

/**
 * Deletes every held record matching `filter`, as {@link dropHeldRecords} deletes the ones named
 * (all or none, in one transaction; each logged with its text), a batch of
 * {@link HELD_BATCH} at a time in SQL: the set-aside records of each stream by key, the
 * quarantine rows by id, each batch one statement that deletes and logs. Nothing of a record is
 * held here but its outcome's count (and the first {@link LISTED_OUTCOMES}).
 */
export async function dropMatchingRecords(db: Kysely<Database>, filter: HeldFilter, actor: Actor): Promise<ActionOutcomes> {
  refuseEmptyFilter(filter);
  const done = new ActionOutcomes();
  const by = { acted_by: actor.user ?? null, command: actor.command, host: hostname(), pid: process.pid };
  await db.transaction().execute(async (trx) => {
    const refused = await readOnlyReasonOf(trx);
    if (refused) throw new WarehouseError(refused, '');
    if (filter.kind !== 'quarantined') {
      const streams = await sql<{ source: string; stream: string }>`
        select distinct source, stream from ops.set_aside
         where (${filter.source ?? null}::text is null or source = ${filter.source ?? null})
           and (${filter.stream ?? null}::text is null or stream = ${filter.stream ?? null})
         order by 1, 2`.execute(trx);
      for (const { source, stream } of streams.rows) {
        const raw = rawTableName(source, stream);
        const deleted = `raw record deleted from ${raw}`;
        const none = `no raw record left in ${raw}; set-aside entry removed`;
        let after: string | undefined;
        for (;;) {
          // Keys in the order of the index on (source, stream, key), from the last one taken.
          const batch = await sql<{ key: string; deleted: boolean }>`
            with chosen as (
              select key, reason from (${setAsideMatching({ ...filter, source, stream }, { after })}) held
               order by key
               limit ${HELD_BATCH}
            ), raw_gone as (
              delete from ${sql.table(raw)} r using chosen where r._key = chosen.key returning r._key as key, r._record::text as text
            ), entries_gone as (
              delete from ops.set_aside s using chosen where s.source = ${source} and s.stream = ${stream} and s.key = chosen.key
            ), logged as (
              insert into ops.quarantine_actions (action, kind, source, stream, key, quarantine_id, reason, raw, outcome, acted_by, command, host, pid)
              select 'drop', 'set aside', ${source}, ${stream}, chosen.key, null, chosen.reason, g.text, case when g.key is null then ${none} else ${deleted} end,
                     ${by.acted_by}, ${by.command}, ${by.host}, ${by.pid}
                from chosen left join raw_gone g on g.key = chosen.key
               order by chosen.key
            )
            select chosen.key, g.key is not null as deleted from chosen left join raw_gone g on g.key = chosen.key order by chosen.key`.execute(trx);
          for (const row of batch.rows) done.add({ id: `${source}.${stream}:${row.key}`, kind: 'set aside', outcome: row.deleted ? deleted : none });
          if (batch.rows.length < HELD_BATCH) break;
          after = batch.rows.at(-1)!.key;
        }
      }
    }
    if (filter.kind !== 'set aside') {
      let after = 0;
      for (;;) {
        const batch = await sql<{ id: number }>`
          with gone as (
            delete from ops.quarantine where id in (
              select id from ops.quarantine where ${quarantineMatching(filter)} and id > ${after} order by id limit ${HELD_BATCH})
            returning id, source, stream, reason, raw
          ), logged as (
            insert into ops.quarantine_actions (action, kind, source, stream, key, quarantine_id, reason, raw, outcome, acted_by, command, host, pid)
            select 'drop', 'quarantined', source, stream, null, id, reason, raw, 'quarantine row deleted', ${by.acted_by}, ${by.command}, ${by.host}, ${by.pid}
              from gone order by id
          )
          select id from gone order by id`.execute(trx);
        for (const row of batch.rows) done.add({ id: `q${row.id}`, kind: 'quarantined', outcome: 'quarantine row deleted' });
        if (batch.rows.length < HELD_BATCH) break;
        after = Number(batch.rows.at(-1)!.id);
      }
    }
  });
  return done;
}

async function logAction(
  db: Kysely<Database>,
  actor: Actor,
  row: { action: 'drop' | 'retry'; kind: HeldKind; source: string; stream: string; key: string | null; quarantine_id: string | null; reason: string | null; raw: string | null; outcome: string },
): Promise<void> {
  await db.insertInto('ops.quarantine_actions').values({ ...row, acted_by: actor.user ?? null, command: actor.command, host: hostname(), pid: process.pid }).execute();
}

export interface RetryOptions {
  warehouse: Warehouse;
  config: VeriteConfig;
  log: Logger;
  actor: Actor;
  /** The records to retry; none: every held record matching `filter`. */
  ids?: readonly string[];
  filter?: HeldFilter;
  /** The steps that re-check set-aside records (the transforms and the metrics refresh); `[]` to only re-land. */
  steps: readonly PostLoadStep[];
  signal?: AbortSignal;
  /** The extractors whose streams re-land the records (default: extractors/sources.ts). */
  known?: KnownSources;
}

export interface RetryResult {
  /** What came of the records: the first {@link LISTED_OUTCOMES} one by one, every one counted. */
  outcomes: ActionOutcomes;
  /** The rebuild that re-checked the set-aside records (and took in what was re-landed). */
  run?: RunResult;
}

/** The records a retry takes, a kind at a time, in batches, in the order of {@link listHeldRecords}. */
interface RetryTargets {
  /** The sources of the quarantined ones, for the run that re-lands them (none: nothing to re-land). */
  quarantinedSources: string[];
  /** Whether any is set aside. */
  setAside: boolean;
  batches(kind: HeldKind): AsyncIterable<HeldRecord[]>;
  close(): Promise<void>;
}

/** The records named by id, looked up one after another, each by its own key; a {@link UsageError} for an id that names none. */
async function namedTargets(db: Kysely<Database>, ids: readonly string[]): Promise<RetryTargets> {
  const records: HeldRecord[] = [];
  for (const id of ids) {
    const parsed = parseId(id);
    const held = await findHeldRecord(db, id, parsed);
    if (!held) throw new UsageError(`no ${parsed.kind === 'quarantined' ? 'quarantined' : 'set-aside'} record ${id} (see verite quarantine list)`);
    records.push({ id: held.id, kind: held.kind, source: held.source, stream: held.stream, key: held.key, reason: held.reason, models: held.models, since: held.since, location: held.location });
  }
  const quarantined = records.filter((r) => r.kind === 'quarantined');
  return {
    quarantinedSources: [...new Set(quarantined.map((r) => r.source))],
    setAside: records.some((r) => r.kind === 'set aside'),
    async *batches(kind) {
      yield records.filter((r) => r.kind === kind);
    },
    close: async () => undefined,
  };
}

/**
 * The records matching `filter` as they are when the retry starts, each kind read a batch at a
 * time through a cursor `WITH HOLD` on a session of its own: its rows are those of one snapshot,
 * kept by the server, so a record that a retry holds for a new reason, or the rebuild no longer
 * sets aside, is still taken once, in its place, and none is held here.
 */
async function matchingTargets(warehouse: Warehouse, filter: HeldFilter): Promise<RetryTargets> {
  const client = await warehouse.pool.connect();
  try {
    await client.query('begin transaction isolation level repeatable read read only');
    const none = sql`select null::text as kind, null::text as source, null::text as stream, null::text as key, null::bigint as row_id, null::text as reason, null::text[] as models, null::timestamptz as since, null::text as location where false`;
    const of = (kind: HeldKind) => (filter.kind === undefined || filter.kind === kind ? heldRecordsQuery({ ...filter, kind }) : none);
    await declareCursor(client, 'retry_quarantined', of('quarantined').compile(warehouse.db), { hold: true });
    await declareCursor(client, 'retry_set_aside', of('set aside').compile(warehouse.db), { hold: true });
    const compiled = sql<{ sources: string[]; set_aside: boolean }>`
      select array(select distinct source from ops.quarantine where ${quarantineMatching(filter)} and ${filter.kind ?? null}::text is distinct from 'set aside' order by 1) as sources,
             exists (${setAsideMatching(filter)}) and ${filter.kind ?? null}::text is distinct from 'quarantined' as set_aside`.compile(warehouse.db);
    const found = (await client.query<{ sources: string[]; set_aside: boolean }>({ text: compiled.sql, values: [...compiled.parameters] })).rows[0]!;
    await client.query('commit');
    return {
      quarantinedSources: found.sources,
      setAside: found.set_aside,
      async *batches(kind) {
        for await (const batch of fetchBatches(client, kind === 'quarantined' ? 'retry_quarantined' : 'retry_set_aside', { rows: HELD_BATCH })) {
          if (batch.rows.length) yield (batch.rows as HeldRow[]).map(heldRecordOf);
        }
      },
      // The session goes with its cursors.
      close: async () => client.release(true),
    };
  } catch (error) {
    client.release(true);
    throw error;
  }
}

/**
 * Retries held records after a fix. A quarantined record is offered to the loader again (its
 * stream's keyOf and versionOf, as `verite import` lands it; a CSV row goes through the
 * stream's column mapping): landed, its quarantine row goes; refused again, it stays with the
 * reason. They are re-landed a batch of {@link HELD_BATCH} at a time, each batch in one
 * transaction with what it removes and logs ({@link relandBatch}), with the outcomes one by one
 * would give. Then, unless `steps` is empty, the transforms and metrics rebuild under the run lock
 * (a set-aside record is re-checked against raw as it is now, e.g. after a corrected record
 * was imported) and each set-aside record is said to be used now or still set aside. All of it
 * under the run lock, waiting for a run in progress. The records matching a filter are read a
 * batch at a time (never held whole); named ones are looked up one after another.
 */
export async function retryHeldRecords(options: RetryOptions): Promise<RetryResult> {
  refuseEmptyFilter(options.filter ?? {});
  const targets = options.ids?.length ? await namedTargets(options.warehouse.db, options.ids) : await matchingTargets(options.warehouse, options.filter ?? {});
  try {
    if (targets.quarantinedSources.length === 0 && !targets.setAside) return { outcomes: new ActionOutcomes() };
    // Under the run lock, like every run: re-landing writes raw, which a run writes too.
    const locked = await withRunLock(options.warehouse.pool, { mode: 'wait', signal: options.signal }, (signal) => retryLocked(options, targets, signal));
    if (!locked.acquired) throw new UsageError('stopped while waiting for the run lock; nothing was retried');
    return locked.value;
  } finally {
    await targets.close();
  }
}

async function retryLocked(options: RetryOptions, targets: RetryTargets, signal: AbortSignal): Promise<RetryResult> {
  const { warehouse, log, actor } = options;
  const db = warehouse.db;
  const outcomes = new ActionOutcomes();
  let landed = 0;
  if (targets.quarantinedSources.length) {
    const runId = randomUUID();
    await startRun(warehouse, { id: runId, kind: 'quarantine retry', trigger: 'cli', sources: targets.quarantinedSources, stage: 'landing' });
    try {
      for await (const batch of targets.batches('quarantined')) {
        // Named ones come as one batch: taken a thousand at a time too.
        for (let from = 0; from < batch.length; from += HELD_BATCH) {
          const part = batch.slice(from, from + HELD_BATCH);
          const done = await relandBatch(options, part, runId);
          part.forEach((target, n) => {
            const outcome = done[n]!;
            if (outcome.startsWith('landed')) landed++;
            outcomes.add({ id: target.id, kind: 'quarantined', outcome });
          });
        }
      }
    } catch (error) {
      await finishRun(db, runId, { status: 'failed', landed, quarantined: 0, error: errorMessage(error) });
      throw error;
    }
    await finishRun(db, runId, { status: 'succeeded', landed, quarantined: 0 });
  }
  if (options.steps.length === 0) {
    for await (const batch of targets.batches('set aside')) {
      for (const t of batch) outcomes.add({ id: t.id, kind: 'set aside', outcome: 'not re-checked (no rebuild asked for)' });
    }
    return { outcomes };
  }
  if (!targets.setAside && landed === 0) return { outcomes };
  const run = await runPipeline({ warehouse, config: options.config, log, sources: [], steps: options.steps, kind: 'quarantine retry', trigger: 'cli', signal });
  const by = { acted_by: actor.user ?? null, command: actor.command, host: hostname(), pid: process.pid };
  for await (const batch of targets.batches('set aside')) {
    const found = run.status === 'failed' || run.status === 'interrupted' ? undefined : await recheck(db, batch);
    const rows = batch.map((t) => ({ target: t, outcome: found?.get(t.id) ?? `not re-checked: the rebuild ${run.status}` }));
    await db
      .insertInto('ops.quarantine_actions')
      .values(rows.map(({ target: t, outcome }) => ({ action: 'retry', kind: 'set aside', source: t.source, stream: t.stream, key: t.key, quarantine_id: null, reason: t.reason, raw: null, outcome, ...by })))
      .execute();
    for (const { target, outcome } of rows) outcomes.add({ id: target.id, kind: 'set aside', outcome });
  }
  return { outcomes, run };
}

/**
 * What a rebuild made of set-aside records, by id: still set aside (and why), used by the build
 * now, or no longer in raw. Two lookups per stream of the batch, by key.
 */
async function recheck(db: Kysely<Database>, batch: readonly HeldRecord[]): Promise<Map<string, string>> {
  const outcomes = new Map<string, string>();
  const streams = new Map<string, HeldRecord[]>();
  for (const t of batch) {
    const of = `${t.source}.${t.stream}`;
    const records = streams.get(of);
    if (records) records.push(t);
    else streams.set(of, [t]);
  }
  for (const records of streams.values()) {
    const { source, stream } = records[0]!;
    const keys = records.map((t) => t.key!);
    const still = await sql<{ key: string; reason: string }>`
      select key, string_agg(distinct reason, '; ') as reason from ops.set_aside
       where source = ${source} and stream = ${stream} and key = any(${keys}::text[]) group by key`.execute(db);
    const held = new Map(still.rows.map((r) => [r.key, r.reason]));
    const raw = rawTableName(source, stream);
    const present = await sql<{ key: string }>`select _key as key from ${sql.table(raw)} where _key = any(${keys}::text[])`.execute(db);
    const there = new Set(present.rows.map((r) => r.key));
    for (const t of records) {
      const reason = held.get(t.key!);
      outcomes.set(t.id, reason !== undefined ? `still set aside: ${reason}` : there.has(t.key!) ? 'used by the build now' : `no longer in ${raw}`);
    }
  }
  return outcomes;
}

/** A quarantine row as a retry reads it. */
interface QuarantineRow {
  id: string;
  source: string;
  stream: string;
  reason: string;
  raw: string;
  location: string | null;
  decimal_marks: ColumnMarks | null;
  /** md5 of its text, as the index that holds a text once per reason reads it. */
  hash: string;
}

/** What the loader makes of a quarantined record offered again: the row it lands, or why it holds it still. */
type Offer = { stream: StreamIdentity; record: unknown; row: Prepared } | { refused: string };

/**
 * A quarantined record offered to the loader again, as `verite import` offers it (its stream's
 * keyOf and versionOf; a file's row through the file source's mapping). Nothing here touches the
 * database.
 */
function offerOf(options: RetryOptions, row: QuarantineRow): Offer {
  const registered = knownSource(row.source, options.known)?.streams.find((s) => s.name === row.stream);
  const identity: StreamIdentity | undefined = registered ?? streamIdentity(row.source, row.stream);
  if (!identity) return { refused: `verite knows no stream ${row.source}.${row.stream}` };
  let record: unknown = new RawText(row.raw, row.location ?? undefined);
  const sourceConfig = (options.config.sources as Record<string, unknown>)[row.source];
  // A file's row was quarantined as the row itself (a CSV's column → text, a JSON object, a
  // workbook's row): it goes through the file source's mapping again, with no file around it.
  // Its amounts are read with the mark its file showed in the columns the mapping now reads
  // them from (kept with the row: the mapping may not have known those columns then); with
  // none known, an amount such as 1.234 stays quarantined (SheetContext.withoutFile).
  const fileRow = /\.(csv|jsonl|ndjson|json|xlsx):\d+/i.exec(row.location ?? '')?.[1]?.toLowerCase();
  const amountColumns = registered?.amountColumns?.(sourceConfig) ?? [];
  const sheet: SheetContext = { decimalMark: columnsMark(row.decimal_marks, amountColumns), typedDates: fileRow === 'xlsx', withoutFile: true };
  const map =
    fileRow === 'csv'
      ? registered?.mapCsvRow && ((r: Record<string, unknown>) => registered.mapCsvRow!(r as Record<string, string>, sourceConfig, sheet))
      : fileRow
        ? registered?.mapJsonRecord && ((r: Record<string, unknown>) => registered.mapJsonRecord!(r, sourceConfig, sheet))
        : undefined;
  let parsed: unknown;
  try {
    parsed = map ? JSON.parse(row.raw) : undefined;
  } catch {
    parsed = undefined; // not JSON: landed as it is, the loader says why it is held
  }
  if (map && parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
    try {
      record = map(parsed as Record<string, unknown>);
    } catch (error) {
      return { refused: errorMessage(error) };
    }
  }
  const prepared = prepareRecord(identity, record, `${row.location ?? 'retry'} record 1`);
  return 'quarantine' in prepared ? { refused: prepared.quarantine.reason } : { stream: identity, record, row: prepared.row };
}

/**
 * A batch of quarantined records offered to the loader again ({@link offerOf}), with the outcome
 * of each, in the batch's order, as offering them one after the other in that order gives:
 *
 * - landed (`landed as source.stream:key`, or `… (unchanged: raw already held it)`): its
 *   quarantine row goes. The records of a stream land as one page (no report dates: landing
 *   must never replace the other rows of a date); two versions of one key land one page after
 *   the other, in the batch's order, as one by one they would (a page would keep only its
 *   newest: see preparePage).
 * - refused again (`still quarantined: <reason>`): held for the reason it was refused for now,
 *   so that `show` and `list` say what stands in its way; when another row holds the same text
 *   for that reason already (the file imported again after a change), the two are one: this row
 *   goes, its text kept in the log, and the outcome names the other.
 * - `gone: dropped or retried meanwhile`: no such row any more (nothing logged).
 *
 * Everything a batch writes (the raw rows, the quarantine rows removed or held for a new reason,
 * one `ops.quarantine_actions` row for each record found, in the batch's order) commits in one
 * transaction, on one connection: a crash leaves each record held or landed, never neither. A
 * handful of statements per batch: one read of the rows, one of the rows holding the same text
 * (when one is refused for a new reason), the landing of each stream's page, one delete, one
 * update, one insert into the log.
 */
async function relandBatch(options: RetryOptions, batch: readonly HeldRecord[], runId: string): Promise<string[]> {
  const { warehouse, actor } = options;
  const client = await warehouse.pool.connect();
  const query = async <R>(statement: RawBuilder<R>): Promise<R[]> => {
    const compiled = statement.compile(warehouse.db);
    return (await client.query({ text: compiled.sql, values: [...compiled.parameters] })).rows as R[];
  };
  try {
    await client.query('begin');
    const ids = [...new Set(batch.map((t) => t.id.slice(1)))];
    const rows = new Map(
      (await query<QuarantineRow>(sql`
        select id::text as id, source, stream, reason, raw, location, decimal_marks, md5(raw) as hash
          from ops.quarantine where id = any(${ids}::bigint[])`)).map((r) => [r.id, r]),
    );
    const offers = new Map([...rows].map(([id, row]) => [id, offerOf(options, row)]));

    // The rows holding the text of one refused for a new reason, by text and reason (one each:
    // the index quarantine_once), kept as the batch goes in its order.
    const textOf = (row: Pick<QuarantineRow, 'source' | 'stream' | 'hash'>, reason: string) => JSON.stringify([row.source, row.stream, row.hash, reason]);
    const holding = new Map<string, string>();
    const newlyRefused = [...rows.values()].filter((row) => {
      const offer = offers.get(row.id)!;
      return 'refused' in offer && offer.refused !== row.reason;
    });
    if (newlyRefused.length) {
      const twins = await query<{ id: string; source: string; stream: string; hash: string; reason: string }>(sql`
        select id::text as id, source, stream, md5(raw) as hash, reason from ops.quarantine
         where (source, stream, md5(raw)) in (
           select * from unnest(${newlyRefused.map((r) => r.source)}::text[], ${newlyRefused.map((r) => r.stream)}::text[], ${newlyRefused.map((r) => r.hash)}::text[]))`);
      for (const twin of twins) holding.set(textOf(twin, twin.reason), twin.id);
    }
    const heldBefore = new Map(holding);
    const release = (row: QuarantineRow, reason: string) => {
      if (holding.get(textOf(row, reason)) === row.id) holding.delete(textOf(row, reason));
    };

    const outcomes: string[] = [];
    const reasonNow = new Map<string, string>();
    const removed = new Set<string>();
    const reasons: { id: string; reason: string }[] = [];
    const logged: { index: number; row: QuarantineRow; reason: string; raw: string | null }[] = [];
    const pages = new Map<string, { source: string; stream: string; identity: StreamIdentity; records: { index: number; record: unknown; row: Prepared }[] }>();
    batch.forEach((target, index) => {
      const id = target.id.slice(1);
      const row = rows.get(id);
      if (!row || removed.has(id)) {
        outcomes[index] = 'gone: dropped or retried meanwhile';
        return;
      }
      // The reason it was held for until now (the outcome says the one it is held for now).
      const reason = reasonNow.get(id) ?? row.reason;
      const offer = offers.get(id)!;
      let raw: string | null = null;
      if ('row' in offer) {
        removed.add(id);
        release(row, reason);
        const of = `${row.source}.${row.stream}`;
        let page = pages.get(of);
        if (!page) pages.set(of, (page = { source: row.source, stream: row.stream, identity: offer.stream, records: [] }));
        page.records.push({ index, record: offer.record, row: offer.row });
      } else if (offer.refused === reason) {
        outcomes[index] = `still quarantined: ${reason}`;
      } else {
        // Refused again for another reason (a mapping or a date pattern changed since): held for the new one.
        const twin = holding.get(textOf(row, offer.refused));
        if (twin !== undefined) {
          removed.add(id);
          release(row, reason);
          raw = row.raw;
          outcomes[index] = `still quarantined: ${offer.refused} (the same record is held as q${twin}; this row was removed)`;
        } else {
          release(row, reason);
          holding.set(textOf(row, offer.refused), id);
          reasonNow.set(id, offer.refused);
          reasons.push({ id, reason: offer.refused });
          outcomes[index] = `still quarantined: ${offer.refused}`;
        }
      }
      logged.push({ index, row, reason, raw });
    });

    for (const page of pages.values()) {
      // The n-th version of each key in the n-th page.
      const versions: (typeof page.records)[] = [];
      const seen = new Map<string, number>();
      for (const r of page.records) {
        const n = seen.get(r.row.key) ?? 0;
        seen.set(r.row.key, n + 1);
        (versions[n] ??= []).push(r);
      }
      for (const records of versions) {
        const { writtenKeys } = await landPreparedPage(
          client,
          { source: page.source, stream: page.identity, runId, batchId: randomUUID() },
          { records: records.map((r) => r.record) },
          { rows: records.map((r) => r.row), quarantine: [] },
        );
        for (const r of records) {
          outcomes[r.index] = `landed as ${page.source}.${page.stream}:${r.row.key}${writtenKeys.has(r.row.key) ? '' : ' (unchanged: raw already held it)'}`;
        }
      }
    }
    if (removed.size) await query(sql`delete from ops.quarantine where id = any(${[...removed]}::bigint[])`);
    // A row held for a reason another row of the batch held before it (and no longer holds) is
    // given it after that one, as one by one: the index allows a text once per reason at any time.
    const inTurn = reasons.some((r) => {
      const before = heldBefore.get(textOf(rows.get(r.id)!, r.reason));
      return before !== undefined && before !== r.id && !removed.has(before);
    });
    if (inTurn) {
      for (const r of reasons) await query(sql`update ops.quarantine set reason = ${r.reason} where id = ${r.id}::bigint`);
    } else if (reasons.length) {
      // (The ids twice: the rows are found by the primary key, not by a scan of the quarantine.)
      const ids = reasons.map((r) => r.id);
      await query(sql`
        update ops.quarantine q set reason = r.reason
          from unnest(${ids}::bigint[], ${reasons.map((r) => r.reason)}::text[]) as r(id, reason)
         where q.id = r.id and q.id = any(${ids}::bigint[])`);
    }
    if (logged.length) {
      const column = <T>(f: (l: (typeof logged)[number]) => T) => logged.map(f);
      await query(sql`
        insert into ops.quarantine_actions (action, kind, source, stream, key, quarantine_id, reason, raw, outcome, acted_by, command, host, pid)
        select 'retry', 'quarantined', a.source, a.stream, null, a.id, a.reason, a.raw, a.outcome, ${actor.user ?? null}, ${actor.command}, ${hostname()}, ${process.pid}
          from unnest(${column((l) => l.row.id)}::bigint[], ${column((l) => l.row.source)}::text[], ${column((l) => l.row.stream)}::text[],
                      ${column((l) => l.reason)}::text[], ${column((l) => l.raw)}::text[], ${column((l) => outcomes[l.index]!)}::text[])
               with ordinality as a(id, source, stream, reason, raw, outcome, n)
         order by a.n`);
    }
    await client.query('commit');
    return outcomes;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
