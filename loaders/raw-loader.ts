import { createHash, randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Page, JsonValue } from '../catalog/stream-contract.ts';
import type { StreamIdentity } from '../catalog/catalog.ts';
import { WarehouseError } from '../lib/errors.ts';
import { rawTableName } from '../warehouse/tables/raw.ts';
import { temporaryRefusal } from '../warehouse/writable.ts';
import { LocatedRecord, RawText, RejectedRecord } from './raw-text.ts';
import { recordLimitProblem } from './record-limits.ts';

/** What one landed page (or a whole stream) did. */
export interface LandResult {
  /** Records offered. */
  received: number;
  /** Rows inserted or changed in raw. */
  written: number;
  /**
   * Valid records not written: identical to what raw already held, or older than the version
   * landed or than another version of the same key in the page.
   */
  unchanged: number;
  /** Records sent to ops.quarantine. */
  quarantined: number;
  /** Why the first record refused was refused (also when its quarantine row was there already). */
  firstReason?: string;
}

export interface LandTarget {
  source: string;
  stream: StreamIdentity;
  /** The run in `ops.runs` the page is landed by: each page adds what it landed to the run's counts. */
  runId: string;
  /** One stream read: a date-report page replaces the rows of its dates written by other batches. */
  batchId: string;
  /** The stream's read in `ops.stream_runs`, when there is one: each page adds itself and what it landed to its counts too. */
  streamRunId?: number;
}

/** A record ready to land: its key, its JSON text and what the merge compares. */
export interface Prepared {
  key: string;
  json: string;
  hash: string;
  reportDate: string | null;
  version: string | null;
}

/** A record the loader holds back, with why. */
export interface Quarantined {
  reason: string;
  raw: string;
  location: string | null;
}

const NUL = /\\u0000/;
// A UTF-16 surrogate without its pair cannot be stored in jsonb.
const LONE_SURROGATE = /\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}/i;

/** A page's {@link Page.decimalMarks} as jsonb text; none when a column's name could not be stored. */
function storableMarks(page: Page): string | null {
  const json = page.decimalMarks && JSON.stringify(page.decimalMarks);
  return json && !NUL.test(json) && !LONE_SURROGATE.test(json) ? json : null;
}

/** Escapes a value for COPY's text format. */
export function copyText(value: string | null): string {
  if (value === null) return '\\N';
  return value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

function preview(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Whether version `a` is older than `b` (ISO timestamps); a record without one is never older. */
function olderThan(a: string | null, b: string | null): boolean {
  return a !== null && b !== null && Date.parse(a) < Date.parse(b);
}

/** Text PostgreSQL can store: a NUL character (which no `text` value may hold) is written `\u0000`. */
function storable(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\\u0000') : text;
}

/**
 * Checks and serialises one page: every record becomes a row to land or a quarantine entry
 * with its reason. Of several versions of one key, the row kept is the newest by the stream's
 * version (ties, and records without a version, go to the one seen last), so the page lands
 * what a merge record by record would, but in one case: a record without a version followed
 * by one older than the row raw holds (record by record, the first replaces the row and the
 * second then replaces it; the page's newest, the second, is refused by the row). Nothing here
 * touches the database.
 */
export function preparePage(stream: StreamIdentity, records: readonly unknown[], pageLabel = 'page'): { rows: Prepared[]; quarantine: Quarantined[] } {
  const rows: Prepared[] = [];
  const rowOfKey = new Map<string, number>();
  const quarantine: Quarantined[] = [];
  records.forEach((input, index) => {
    const prepared = prepareRecord(stream, input, `${pageLabel} record ${index + 1}`);
    if ('quarantine' in prepared) {
      quarantine.push(prepared.quarantine);
      return;
    }
    const { row } = prepared;
    const seen = rowOfKey.get(row.key);
    if (seen === undefined) {
      rowOfKey.set(row.key, rows.length);
      rows.push(row);
    } else if (!olderThan(row.version, rows[seen]!.version)) {
      rows[seen] = row;
    }
  });
  return { rows, quarantine };
}

/**
 * Checks and serialises one record as {@link preparePage} does each of a page: a row to land,
 * or the reason it is held. `place` names where it was read when the record does not say.
 */
export function prepareRecord(stream: StreamIdentity, input: unknown, place: string): { row: Prepared } | { quarantine: Quarantined } {
  let location: string | null = place;
  let value: unknown = input;
  const held = (reason: string, raw: string) => ({ quarantine: { reason, raw, location } });
  if (input instanceof RejectedRecord) {
    return { quarantine: { reason: input.reason, raw: input.text, location: input.location ?? location } };
  }
  if (input instanceof LocatedRecord) {
    location = input.location ?? location;
    value = input.value;
  } else if (input instanceof RawText) {
    location = input.location ?? location;
    try {
      value = JSON.parse(input.text);
    } catch (error) {
      return held(`not valid JSON: ${(error as Error).message}`, input.text);
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return held(`not a JSON object (got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value})`, preview(input instanceof RawText ? input.text : value));
  }
  const record = value as Record<string, unknown>;
  let json: string;
  try {
    // A line that parsed is already JSON text: keep it rather than serialise it again.
    json = input instanceof RawText ? input.text : JSON.stringify(record);
  } catch (error) {
    const why = error instanceof RangeError ? 'nested too deeply' : (error as Error).message;
    return held(`cannot be serialised: ${why}`, String(record));
  }
  const limit = recordLimitProblem(json);
  if (limit) {
    return held(limit.reason, limit.kept);
  }
  if (NUL.test(json) || LONE_SURROGATE.test(json)) {
    return held('holds a NUL character or a broken UTF-16 surrogate, which PostgreSQL jsonb cannot store', json);
  }
  const otherKind = stream.kindProblem?.(record);
  if (otherKind) {
    return held(otherKind, json);
  }
  const key = stream.keyOf(record);
  if (key === undefined || key === '') {
    return held(`no key (${stream.keyDescription})`, json);
  }
  let reportDate: string | null = null;
  if (stream.kind === 'date-report') {
    reportDate = stream.dateOf?.(record) ?? null;
    if (!reportDate) {
      return held('no valid report date', json);
    }
  }
  // A version of Unix seconds the warehouse cannot store (milliseconds read as seconds: the
  // year 55840) would fail the COPY of the whole page: it is held here, by itself, naming its
  // key. Text that is no date lands without its version, and the build sets it aside.
  let version: string | null;
  try {
    const problem = stream.versionProblem?.(record);
    if (problem) {
      return held(`key ${key}: ${problem}`, json);
    }
    version = stream.versionOf?.(record) ?? null;
  } catch (error) {
    return held(`key ${key}: its version could not be read: ${(error as Error).message}`, json);
  }
  return { row: { key, json, hash: createHash('md5').update(json).digest('hex'), reportDate, version } };
}

async function query(client: pg.PoolClient, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  try {
    return await client.query(text, values);
  } catch (error) {
    // A login that may not create temporary tables is told what to grant (and the run does not retry: lib/errors.ts, isPermanent).
    const refused = temporaryRefusal(error, client as { user?: string; database?: string });
    throw new WarehouseError(`statement failed: ${refused ?? (error as Error).message}`, text, values, { cause: error });
  }
}

const LAND_TABLE = 'verite_land';

/**
 * Lands one page in `raw.<source>__<stream>` in a single transaction: COPY into a temporary
 * table, merge by key (the newest version wins, an unchanged record is not rewritten; a
 * date-report page first removes the rows of its dates left by earlier extractions; the raw
 * table's triggers record each row written or removed in `ops.raw_changes`), put the
 * bad records in `ops.quarantine`, store the stream's cursor, and add the page's counts to its
 * run's row in `ops.runs`. A crash at any point leaves the page either wholly landed, cursor
 * and counts included, or not at all.
 */
export async function landPage(pool: pg.Pool, target: LandTarget, page: Page, pageLabel?: string): Promise<LandResult> {
  return writePage(pool, target, page, preparePage(target.stream, page.records, pageLabel));
}

/** Writes a prepared page in one transaction (see {@link landPage}). */
async function writePage(pool: pg.Pool, target: LandTarget, page: Page, prepared: ReturnType<typeof preparePage>): Promise<LandResult> {
  const client = await pool.connect();
  try {
    await query(client, 'begin');
    const result = await writeRows(client, target, page, prepared, null);
    await query(client, 'commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * Lands a prepared page as {@link landPage} does, on `client`, inside a transaction its caller
 * began and commits: the caller's own writes (such as removing the quarantine rows of the
 * records landed) commit or roll back with the page's. Several pages may land in one
 * transaction, one after the other. Also says which keys it wrote (inserted, or merged as a
 * changed record no older than the one held); a key not among them was left as raw held it.
 */
export async function landPreparedPage(
  client: pg.PoolClient,
  target: LandTarget,
  page: Page,
  prepared: { rows: Prepared[]; quarantine: Quarantined[] },
): Promise<LandResult & { writtenKeys: ReadonlySet<string> }> {
  const writtenKeys = new Set<string>();
  const result = await writeRows(client, target, page, prepared, writtenKeys);
  return { ...result, writtenKeys };
}

/**
 * The statements of a page's landing, in a transaction begun by the caller. Given
 * `writtenKeys`, the keys written are added to it, and the transaction may land more pages
 * (the merge's table is emptied after use).
 */
async function writeRows(
  client: pg.PoolClient,
  target: LandTarget,
  page: Page,
  prepared: { rows: Prepared[]; quarantine: Quarantined[] },
  writtenKeys: Set<string> | null,
): Promise<LandResult> {
  const { stream, source } = target;
  const table = rawTableName(source, stream.name);
  const quoted = `raw."${source}__${stream.name}"`;
  const { rows, quarantine } = prepared;
  let written = 0;
  if (stream.kind === 'date-report' && page.dates?.length) {
    // The rows removed are recorded in ops.raw_changes (by the raw table's trigger) as this extraction's.
    await query(client, `select set_config('verite.run_id', $1, true), set_config('verite.batch_id', $2, true)`, [target.runId, target.batchId]);
    // Rows an earlier extraction left for these dates go, except those this page brings
    // again: they are merged below, and an unchanged one is not rewritten. A page read for
    // some accounts only replaces those accounts' rows.
    const only = page.replaceOnly;
    await query(
      client,
      `delete from ${quoted} where _report_date = any($1::date[]) and _batch_id <> $2 and not (_key = any($3::text[]))` +
        (only ? ' and _record #>> $4::text[] = any($5::text[])' : ''),
      [page.dates, target.batchId, rows.map((r) => r.key), ...(only ? [only.path, only.values] : [])],
    );
  }
  // One row per key (the newest version): see preparePage.
  const unique = rows;
  if (unique.length) {
    const existing = new Set(
      (await query(client, `select _key from ${quoted} where _key = any($1::text[])`, [unique.map((r) => r.key)])).rows.map((r) => r._key as string),
    );
    // New keys are copied straight into the raw table; only keys already landed go through
    // the merge, which compares versions and hashes.
    const fresh = unique.filter((r) => !existing.has(r.key));
    const known = unique.filter((r) => existing.has(r.key));
    if (fresh.length) {
      const lines = fresh.map(
        (r) => `${copyText(r.key)}\t${copyText(r.json)}\t${r.reportDate ?? '\\N'}\t${r.version ?? '\\N'}\t${r.hash}\t${copyText(target.batchId)}\t${copyText(target.runId)}\n`,
      );
      const copy = `copy ${quoted} (_key, _record, _report_date, _version, _hash, _batch_id, _run_id) from stdin`;
      try {
        await pipeline(Readable.from(chunked(lines)), client.query(copyFrom(copy)));
      } catch (error) {
        throw new WarehouseError(`COPY into ${table} failed: ${(error as Error).message}`, copy, [], { cause: error });
      }
      written += fresh.length;
      for (const r of fresh) writtenKeys?.add(r.key);
    }
    if (known.length) {
      await query(client, `create temp table if not exists ${LAND_TABLE} (key text, rec text, hash text, report_date date, version timestamptz) on commit delete rows`);
      const lines = known.map((r) => `${copyText(r.key)}\t${copyText(r.json)}\t${r.hash}\t${r.reportDate ?? '\\N'}\t${r.version ?? '\\N'}\n`);
      try {
        await pipeline(Readable.from(chunked(lines)), client.query(copyFrom(`copy ${LAND_TABLE} from stdin`)));
      } catch (error) {
        throw new WarehouseError(`COPY into ${table} failed: ${(error as Error).message}`, `copy ${LAND_TABLE} from stdin`, [], { cause: error });
      }
      const merged = await query(
        client,
        `update ${quoted} as t set
           _record = l.rec::jsonb, _report_date = l.report_date, _version = l.version, _hash = l.hash,
           _batch_id = $1, _run_id = $2, _extracted_at = now()
          from ${LAND_TABLE} l
         where t._key = l.key and t._hash <> l.hash
           and (l.version is null or t._version is null or l.version >= t._version)${writtenKeys ? '\n          returning t._key' : ''}`,
        [target.batchId, target.runId],
      );
      written += merged.rowCount ?? 0;
      for (const r of merged.rows) writtenKeys?.add(r._key as string);
      // An unchanged report row re-extracted now belongs to this extraction.
      if (stream.kind === 'date-report') {
        await query(client, `update ${quoted} t set _batch_id = $1 from ${LAND_TABLE} l where t._key = l.key and t._batch_id <> $1`, [target.batchId]);
      }
      // Emptied at commit; a transaction that lands another page empties it now.
      if (writtenKeys) await query(client, `delete from ${LAND_TABLE}`);
    }
  }
  let quarantined = 0;
  if (quarantine.length) {
    const res = await query(
      client,
      `insert into ops.quarantine (run_id, source, stream, reason, raw, location, decimal_marks)
       select $1, $2, $3, q.reason, q.raw, q.location, $7::jsonb
         from unnest($4::text[], $5::text[], $6::text[]) as q(reason, raw, location)
       on conflict do nothing`,
      [
        target.runId,
        source,
        stream.name,
        quarantine.map((q) => storable(q.reason)),
        quarantine.map((q) => storable(q.raw)),
        quarantine.map((q) => q.location && storable(q.location)),
        storableMarks(page),
      ],
    );
    quarantined = res.rowCount ?? 0;
  }
  const dataThrough = newestData(stream, rows, page.dates);
  if (page.state !== undefined || dataThrough) {
    await query(
      client,
      `insert into ops.stream_state (source, stream, state, data_through, last_run_id, updated_at)
       values ($1, $2, $3::jsonb, $4::timestamptz, $5, now())
       on conflict (source, stream) do update set
         state = case when $6 then excluded.state else ops.stream_state.state end,
         data_through = greatest(ops.stream_state.data_through, excluded.data_through),
         last_run_id = excluded.last_run_id, updated_at = now()`,
      [source, stream.name, page.state === undefined ? null : JSON.stringify(page.state), dataThrough, target.runId, page.state !== undefined],
    );
  }
  if (page.afterLand) {
    await page.afterLand({ query: (text, values) => query(client, text, values) }, { source, stream: stream.name, runId: target.runId });
  }
  // The run's counts, and its stream read's, grow with each page, in its transaction: a run
  // whose process is killed is closed as abandoned with what its committed pages landed (its
  // end writes the totals). One statement for both.
  if (target.streamRunId !== undefined) {
    await query(
      client,
      `with run as (
         update ops.runs set records_landed = records_landed + $2, records_quarantined = records_quarantined + $3
          where id = $1 and status = 'running' and ($2 > 0 or $3 > 0))
       update ops.stream_runs set pages = pages + 1, records_landed = records_landed + $2, records_quarantined = records_quarantined + $3
        where id = $4 and status = 'running'`,
      [target.runId, written, quarantined, target.streamRunId],
    );
  } else if (written || quarantined) {
    await query(
      client,
      `update ops.runs set records_landed = records_landed + $2, records_quarantined = records_quarantined + $3 where id = $1 and status = 'running'`,
      [target.runId, written, quarantined],
    );
  }
  // Unchanged: every valid record not written (identical to the landed row, or an older
  // version than the landed one or than another of the page).
  const valid = page.records.length - quarantine.length;
  return { received: page.records.length, written, unchanged: valid - written, quarantined, firstReason: quarantine[0]?.reason };
}

function* chunked(lines: string[], size = 256): Generator<string> {
  for (let i = 0; i < lines.length; i += size) yield lines.slice(i, i + size).join('');
}

/** The newest data in a page: the latest version, or the day after the latest report date. */
function newestData(stream: StreamIdentity, rows: Prepared[], dates?: string[]): string | null {
  let newest: string | null = null;
  if (stream.kind === 'date-report') {
    for (const d of [...(dates ?? []), ...rows.map((r) => r.reportDate ?? '')]) if (d && (!newest || d > newest)) newest = d;
    if (!newest) return null;
    const next = new Date(`${newest}T00:00:00Z`);
    next.setUTCDate(next.getUTCDate() + 1);
    return next.toISOString();
  }
  for (const r of rows) if (r.version && (!newest || r.version > newest)) newest = r.version;
  return newest;
}

/** The cursor a stream committed last, or null before its first run. */
export async function readStreamState(pool: pg.Pool, source: string, stream: string): Promise<JsonValue | null> {
  const res = await pool.query<{ state: JsonValue | null }>('select state from ops.stream_state where source = $1 and stream = $2', [source, stream]);
  return res.rows[0]?.state ?? null;
}

/**
 * Lands every page of a stream read, page by page, each in its own transaction.
 * `onPage` is told after each commit (progress, counters). A page of a date-report stream
 * replaces the dates it names (`page.dates`, as an extractor's page of whole days does); a page
 * without dates (an imported file's, whose records of one date may span pages) only merges by
 * key, and the file's replacement is finished by `removeRowsNotBrought` once every page landed.
 */
export async function landPages(
  pool: pg.Pool,
  target: Omit<LandTarget, 'batchId'> & { batchId?: string },
  pages: AsyncIterable<Page> | Iterable<Page>,
  onPage?: (result: LandResult, pageNumber: number) => void,
): Promise<LandResult & { pages: number }> {
  const full: LandTarget = { ...target, batchId: target.batchId ?? randomUUID() };
  const total: LandResult & { pages: number } = { received: 0, written: 0, unchanged: 0, quarantined: 0, pages: 0 };
  const add = (result: LandResult) => {
    if (total.firstReason === undefined) total.firstReason = result.firstReason;
    total.received += result.received;
    total.written += result.written;
    total.unchanged += result.unchanged;
    total.quarantined += result.quarantined;
    onPage?.(result, total.pages);
  };
  // While the database writes page n, the next page is read and prepared (parsed, keyed,
  // hashed): the two cores work at once. Pages still commit one after the other, in order.
  // If reading the next page fails, the page being written still commits (or fails) and is
  // counted before the error goes up; its rejection is never left unobserved.
  let writing: Promise<LandResult> | null = null;
  const settle = async () => {
    const current = writing;
    writing = null;
    if (current) add(await current);
  };
  try {
    for await (const page of pages) {
      const prepared = preparePage(full.stream, page.records, `page ${total.pages + 1}`);
      await settle();
      total.pages++;
      writing = writePage(pool, full, page, prepared);
      writing.catch(() => undefined);
    }
    await settle();
  } catch (error) {
    await settle().catch(() => undefined);
    throw error;
  }
  return total;
}
