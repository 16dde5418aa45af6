import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { sql, type Kysely } from 'kysely';
import type { VeriteConfig } from '../config/schema.ts';
import { catalogStreams, streamIdentity, type StreamIdentity } from '../catalog/catalog.ts';
import { columnsMark, type SheetContext } from '../extractors/shipments/column-mapping.ts';
import { knownSource, sources } from '../extractors/sources.ts';
import type { KnownSources } from '../extractors/types.ts';
import { UsageError, WarehouseError, errorMessage } from '../lib/errors.ts';
import { redactString, type Logger } from '../lib/logger.ts';
import { didYouMean } from '../lib/names.ts';
import { landPage, preparePage } from '../loaders/raw-loader.ts';
import { RawText } from '../loaders/raw-text.ts';
import type { Warehouse } from '../warehouse/connection.ts';
import type { Database } from '../warehouse/database.ts';
import { rawTableName } from '../warehouse/tables/raw.ts';
import { readOnlyReasonOf } from '../warehouse/writable.ts';
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

/** The records set aside that match `filter` but its kind, one row each: source, stream, key and their reasons. */
function setAsideMatching(filter: HeldFilter) {
  const like = reasonPattern(filter);
  return sql`select source, stream, key, string_agg(distinct reason, '; ') as reason, array_agg(distinct model order by model) as models, min(since) as since
      from ops.set_aside
     where (${filter.source ?? null}::text is null or source = ${filter.source ?? null})
       and (${filter.stream ?? null}::text is null or stream = ${filter.stream ?? null})
     group by source, stream, key
    having ${like}::text is null or string_agg(distinct reason, '; ') ilike ${like}`;
}

/** How many records are held, per kind and stream, of those matching `filter`. */
export async function countHeldRecords(db: Kysely<Database>, filter: HeldFilter = {}): Promise<{ kind: HeldKind; source: string; stream: string; count: number }[]> {
  refuseEmptyFilter(filter);
  const like = reasonPattern(filter);
  const rows = await sql<{ kind: HeldKind; source: string; stream: string; count: number }>`
    select 'set aside' as kind, source, stream, count(*)::int as count
      from (${setAsideMatching(filter)}) held
     where ${filter.kind ?? null}::text is distinct from 'quarantined'
     group by source, stream
    union all
    select 'quarantined', source, stream, count(*)::int
      from ops.quarantine
     where (${filter.source ?? null}::text is null or source = ${filter.source ?? null})
       and (${filter.stream ?? null}::text is null or stream = ${filter.stream ?? null})
       and (${like}::text is null or reason ilike ${like})
       and ${filter.kind ?? null}::text is distinct from 'set aside'
     group by source, stream
     order by source, stream, kind`.execute(db);
  return rows.rows;
}

/**
 * The held records matching `filter`, by source, stream, reason and key; the first `limit` of
 * them when given (each kind read up to `limit` in the database, so a quarantine of a million
 * rows is not read whole to show a page of it).
 */
export async function listHeldRecords(db: Kysely<Database>, filter: HeldFilter = {}, limit?: number): Promise<HeldRecord[]> {
  refuseEmptyFilter(filter);
  const out: HeldRecord[] = [];
  const like = reasonPattern(filter);
  if (filter.kind !== 'quarantined') {
    const rows = await sql<{ source: string; stream: string; key: string; reason: string; models: string[]; since: Date }>`
      ${setAsideMatching(filter)}
       order by source, stream, reason, key
       limit ${limit ?? null}`.execute(db);
    for (const r of rows.rows) {
      out.push({ id: `${r.source}.${r.stream}:${r.key}`, kind: 'set aside', source: r.source, stream: r.stream, key: r.key, reason: r.reason, models: r.models, since: r.since, location: `${rawTableName(r.source, r.stream)} key ${r.key}` });
    }
  }
  if (filter.kind !== 'set aside') {
    let q = db.selectFrom('ops.quarantine').select(['id', 'source', 'stream', 'reason', 'location', 'quarantined_at']);
    if (filter.source !== undefined) q = q.where('source', '=', filter.source);
    if (filter.stream !== undefined) q = q.where('stream', '=', filter.stream);
    if (like !== null) q = q.where('reason', 'ilike', like);
    if (limit !== undefined) q = q.limit(limit);
    const rows = await q.orderBy('source').orderBy('stream').orderBy('reason').orderBy('id').execute();
    for (const r of rows) {
      out.push({ id: `q${r.id}`, kind: 'quarantined', source: r.source, stream: r.stream, key: null, reason: r.reason, models: [], since: r.quarantined_at, location: r.location });
    }
  }
  const sorted = out.sort((a, b) => a.source.localeCompare(b.source) || a.stream.localeCompare(b.stream) || a.reason.localeCompare(b.reason) || a.id.localeCompare(b.id, 'en', { numeric: true }));
  return limit === undefined ? sorted : sorted.slice(0, limit);
}

/** One held record with its text; a {@link UsageError} when the id names none. */
export async function showHeldRecord(db: Kysely<Database>, id: string): Promise<HeldRecordDetail> {
  const parsed = parseId(id);
  if (parsed.kind === 'quarantined') {
    const row = await db.selectFrom('ops.quarantine').selectAll().where('id', '=', parsed.rowId).executeTakeFirst();
    if (!row) throw new UsageError(`no quarantined record ${id} (see verite quarantine list)`);
    return { id, kind: 'quarantined', source: row.source, stream: row.stream, key: null, reason: row.reason, models: [], since: row.quarantined_at, location: row.location, raw: row.raw, runId: row.run_id };
  }
  const [held] = (await listHeldRecords(db, { source: parsed.source, stream: parsed.stream, kind: 'set aside' })).filter((r) => r.key === parsed.key);
  if (!held) throw new UsageError(`no set-aside record ${id} (see verite quarantine list)`);
  const raw = await readRaw(db, parsed.source, parsed.stream, parsed.key);
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
  outcomes: ActionOutcome[];
  /** The rebuild that re-checked the set-aside records (and took in what was re-landed). */
  run?: RunResult;
}

/**
 * Retries held records after a fix. A quarantined record is offered to the loader again (its
 * stream's keyOf and versionOf, as `verite import` lands it; a CSV row goes through the
 * stream's column mapping): landed, its quarantine row goes; refused again, it stays with the
 * reason. Then, unless `steps` is empty, the transforms and metrics rebuild under the run lock
 * (a set-aside record is re-checked against raw as it is now, e.g. after a corrected record
 * was imported) and each set-aside record is said to be used now or still set aside. All of it
 * under the run lock, waiting for a run in progress.
 */
export async function retryHeldRecords(options: RetryOptions): Promise<RetryResult> {
  const db = options.warehouse.db;
  const targets = options.ids?.length ? await Promise.all(options.ids.map((id) => showHeldRecord(db, id))) : await listHeldRecords(db, options.filter);
  if (targets.length === 0) return { outcomes: [] };
  // Under the run lock, like every run: re-landing writes raw, which a run writes too.
  const locked = await withRunLock(options.warehouse.pool, { mode: 'wait', signal: options.signal }, (signal) => retryLocked(options, targets, signal));
  if (!locked.acquired) throw new UsageError('stopped while waiting for the run lock; nothing was retried');
  return locked.value;
}

async function retryLocked(options: RetryOptions, targets: (HeldRecord | HeldRecordDetail)[], signal: AbortSignal): Promise<RetryResult> {
  const { warehouse, log, actor } = options;
  const db = warehouse.db;
  const outcomes: ActionOutcome[] = [];
  const quarantined = targets.filter((t) => t.kind === 'quarantined');
  if (quarantined.length) {
    const runId = randomUUID();
    await startRun(warehouse, { id: runId, kind: 'quarantine retry', trigger: 'cli', sources: [...new Set(quarantined.map((t) => t.source))] });
    let landed = 0;
    try {
      for (const target of quarantined) {
        const outcome = await reland(options, target, runId);
        if (outcome.startsWith('landed')) landed++;
        outcomes.push({ id: target.id, kind: 'quarantined', outcome });
      }
    } catch (error) {
      await finishRun(db, runId, { status: 'failed', landed, quarantined: 0, error: errorMessage(error) });
      throw error;
    }
    await finishRun(db, runId, { status: 'succeeded', landed, quarantined: 0 });
  }
  const setAside = targets.filter((t) => t.kind === 'set aside');
  if (options.steps.length === 0) {
    for (const t of setAside) outcomes.push({ id: t.id, kind: 'set aside', outcome: 'not re-checked (no rebuild asked for)' });
    return { outcomes };
  }
  if (setAside.length === 0 && !outcomes.some((o) => o.outcome.startsWith('landed'))) return { outcomes };
  const run = await runPipeline({ warehouse, config: options.config, log, sources: [], steps: options.steps, kind: 'quarantine retry', trigger: 'cli', signal });
  for (const t of setAside) {
    let outcome: string;
    if (run.status === 'failed' || run.status === 'interrupted') {
      outcome = `not re-checked: the rebuild ${run.status}`;
    } else {
      const still = await db.selectFrom('ops.set_aside').select('reason').where('source', '=', t.source).where('stream', '=', t.stream).where('key', '=', t.key!).execute();
      const raw = await readRaw(db, t.source, t.stream, t.key!);
      outcome = still.length ? `still set aside: ${[...new Set(still.map((r) => r.reason))].join('; ')}` : raw ? 'used by the build now' : `no longer in ${rawTableName(t.source, t.stream)}`;
    }
    await logAction(db, actor, { action: 'retry', kind: 'set aside', source: t.source, stream: t.stream, key: t.key, quarantine_id: null, reason: t.reason, raw: null, outcome });
    outcomes.push({ id: t.id, kind: 'set aside', outcome });
  }
  return { outcomes, run };
}

/** One quarantined record offered to the loader again; says what came of it. */
async function reland(options: RetryOptions, target: HeldRecord | HeldRecordDetail, runId: string): Promise<string> {
  const db = options.warehouse.db;
  const row = await db.selectFrom('ops.quarantine').selectAll().where('id', '=', target.id.slice(1)).executeTakeFirst();
  if (!row) return 'gone: dropped or retried meanwhile';
  const registered = knownSource(row.source, options.known)?.streams.find((s) => s.name === row.stream);
  const identity: StreamIdentity | undefined = registered ?? streamIdentity(row.source, row.stream);
  let outcome: string;
  if (!identity) {
    outcome = `still quarantined: verite knows no stream ${row.source}.${row.stream}`;
  } else {
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
        record = undefined;
        outcome = `still quarantined: ${errorMessage(error)}`;
      }
    }
    if (record !== undefined) {
      const prepared = preparePage(identity, [record], row.location ?? 'retry');
      if (prepared.quarantine.length) {
        outcome = `still quarantined: ${prepared.quarantine[0]!.reason}`;
      } else {
        // No report dates: landing one row must never replace the other rows of its date.
        const result = await landPage(options.warehouse.pool, { source: row.source, stream: identity, runId, batchId: randomUUID() }, { records: [record] });
        await db.deleteFrom('ops.quarantine').where('id', '=', row.id).execute();
        outcome = `landed as ${row.source}.${row.stream}:${prepared.rows[0]!.key}${result.written ? '' : ' (unchanged: raw already held it)'}`;
      }
    }
  }
  // Refused again for another reason (a mapping or a date pattern changed since): held for the new one.
  const refused = /^still quarantined: (.*)$/s.exec(outcome!)?.[1];
  const merged = refused !== undefined && refused !== row.reason ? await updateReason(db, row, refused) : null;
  if (merged) outcome = `${outcome!} (the same record is held as q${merged}; this row was removed)`;
  // The reason it was held for until now (the outcome says the one it is held for now); the text when its row went.
  await logAction(db, options.actor, { action: 'retry', kind: 'quarantined', source: row.source, stream: row.stream, key: null, quarantine_id: row.id, reason: row.reason, raw: merged ? row.raw : null, outcome: outcome! });
  return outcome!;
}

/**
 * Holds a quarantined record for the reason it was refused for now, so that `verite quarantine
 * show` and `list` say what stands in its way. When another row already holds the same text for
 * that reason (the file imported again after the change), the two are one: this row goes, and
 * the other's id is returned.
 */
async function updateReason(db: Kysely<Database>, row: { id: string; source: string; stream: string; raw: string }, reason: string): Promise<string | null> {
  const twin = await sql<{ id: string }>`
    select id from ops.quarantine
     where source = ${row.source} and stream = ${row.stream} and md5(raw) = md5(${row.raw}) and reason = ${reason} and id <> ${row.id}`.execute(db);
  if (twin.rows.length === 0) {
    await db.updateTable('ops.quarantine').set({ reason }).where('id', '=', row.id).execute();
    return null;
  }
  await db.deleteFrom('ops.quarantine').where('id', '=', row.id).execute();
  return twin.rows[0]!.id;
}
