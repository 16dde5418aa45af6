import type { Command } from 'commander';
import pg from 'pg';
import { UsageError } from '../../lib/errors.ts';
import { didYouMean, similarNames } from '../../lib/names.ts';
import { CURSOR_FETCH_ROWS, declareCursor, fetchBatches } from '../../warehouse/cursor.ts';
import { action, commandContext, EXIT, withWarehouse, type GlobalOptions } from '../context.ts';
import { csvLine, cell, jsonRow, tableFoot, tableLayout, type DisplayKind } from '../format.ts';
import { OutputWriter } from '../output.ts';
import { catalogEntries } from '../../metrics/definitions/index.ts';

/** What a statement given to `verite query` may begin with: reading, never changing anything. */
const READING = ['select', 'with', 'values', 'table', 'explain', 'show'];

/**
 * Refuses what is not one reading statement before it reaches the server. The server enforces
 * it anyway (one statement through the extended protocol, in a read-only session and
 * transaction); this only says so plainly, and keeps out statements that are "read-only" for
 * PostgreSQL yet act outside the database, such as `COPY … TO PROGRAM` or a `DO` block.
 */
function readingStatementProblem(text: string): string | null {
  const word = firstWord(text);
  if (!word) return 'expected a query (SELECT, WITH, VALUES, TABLE, SHOW or EXPLAIN)';
  if (!READING.includes(word)) return `only a query can run here (SELECT, WITH, VALUES, TABLE, SHOW or EXPLAIN), not ${word.toUpperCase()}`;
  return null;
}

/** A statement's first word, in lower case (leading comments and parentheses are not it); undefined when it has none. */
function firstWord(text: string): string | undefined {
  const start = text.replace(/^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/|\()*/, '');
  return /^[a-z]+/i.exec(start)?.[0]?.toLowerCase();
}

/** Type OIDs of the number types: int2, int4, int8, oid, float4, float8, numeric. */
const NUMBER_TYPES = new Set([21, 23, 20, 26, 700, 701, 1700]);
/** Decimal types a table rounds for display: float4, float8, numeric (integers are shown whole). */
const DECIMAL_TYPES = new Set([700, 701, 1700]);

/**
 * int8, float and numeric values as the server's text: a bigint beyond 2^53 keeps every digit
 * (the warehouse's connection turns int8 into a JavaScript number), NaN and Infinity stay visible.
 */
const NUMBERS_AS_TEXT = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 || DECIMAL_TYPES.has(oid) ? (value: string) => value : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser,
};

/** Money columns: the catalogue's currency metrics (revenue, aov …) and the reporting-currency amounts of core (`…_rc`). */
const MONEY_COLUMNS = new Set(catalogEntries.filter((e) => e.kind === 'metric' && e.unit === 'currency').map((e) => e.column));

/**
 * How a table shows each decimal column: money to the reporting currency's minor unit (cents
 * for most, none for JPY, three places for KWD), any other decimal to at most 6 places, for a
 * person to read (the JSON and CSV formats keep every digit).
 */
function displayKinds(fields: readonly pg.FieldDef[]): Record<string, DisplayKind> {
  const kinds: Record<string, DisplayKind> = {};
  for (const f of fields) {
    if (DECIMAL_TYPES.has(f.dataTypeID)) kinds[f.name] = f.dataTypeID === 1700 && (MONEY_COLUMNS.has(f.name) || f.name.endsWith('_rc')) ? 'money' : 'number';
  }
  return kinds;
}

/**
 * Where in the statement the server stopped, as psql shows it: the line, and a caret under the
 * character at `position` (counted from 1 over the whole text).
 */
function pointAt(text: string, position: number): string {
  const before = [...text].slice(0, position - 1).join('');
  const lineNumber = before.split('\n').length;
  const line = text.split('\n')[lineNumber - 1] ?? '';
  const column = [...(before.split('\n').pop() ?? '')].length;
  const label = `LINE ${lineNumber}: `;
  return `${label}${line}\n${' '.repeat(label.length + column)}^`;
}

/** Schemas a query reads from that are not the server's own. */
const OWN_SCHEMAS = `table_schema not in ('pg_catalog', 'information_schema') and table_schema not like 'pg\\_%'`;

/**
 * What `verite query` says of a statement the server refused: its message, where in the text
 * (psql's caret), its hint, and for a table or column of no such name the close ones the
 * warehouse has (`kpi_daily` is `metrics.kpi_daily`: the warehouse's tables live in schemas).
 * Read on the failed query's session after its rollback; a lookup that fails leaves the message as it was.
 */
async function explainQueryError(client: pg.PoolClient, text: string, error: pg.DatabaseError): Promise<string> {
  const parts = [error.message];
  const position = Number(error.position);
  if (Number.isInteger(position) && position > 0) parts.push(pointAt(text, position));
  if (error.hint) parts.push(`HINT: ${error.hint}`);
  try {
    const relation = error.code === '42P01' ? /relation "([^"]+)" does not exist/.exec(error.message)?.[1] : undefined;
    if (relation) {
      const tables = (await client.query<{ name: string; bare: string }>(`select table_schema || '.' || table_name as name, table_name as bare from information_schema.tables where ${OWN_SCHEMAS}`)).rows;
      // A bare name is the table of that name in whichever schema has it; a wrong name, the close ones.
      const dot = relation.lastIndexOf('.');
      const bare = relation.slice(dot + 1);
      const inSchemas = dot === -1 ? tables.filter((t) => t.bare === bare).map((t) => t.name) : [];
      const near = inSchemas.length ? inSchemas : dot === -1 ? similarNames(bare, tables.map((t) => t.bare)).flatMap((b) => tables.filter((t) => t.bare === b).map((t) => t.name)) : similarNames(relation, tables.map((t) => t.name));
      if (near.length) parts[0] += ` (did you mean ${[...new Set(near)].slice(0, 3).join(', ')}?)`;
      else parts.push('`verite metrics list` lists the published tables, and information_schema.tables every table');
    }
    const column = error.code === '42703' && !error.hint ? /column "?([^" ]+)"? does not exist/.exec(error.message)?.[1] : undefined;
    if (column) {
      // The columns of the tables the text names (schema.table), for the close ones.
      const named = [...text.matchAll(/\b([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\b/gi)].map((m) => `${m[1]}.${m[2]}`.toLowerCase());
      const columns = (await client.query<{ name: string }>(
        `select distinct column_name as name from information_schema.columns where ${OWN_SCHEMAS} and lower(table_schema || '.' || table_name) = any($1)`,
        [named],
      )).rows.map((r) => r.name);
      const wanted = column.slice(column.lastIndexOf('.') + 1);
      parts[0] += didYouMean(wanted, columns);
    }
  } catch {
    // The explanation is a help, never a second failure.
  }
  return parts.join('\n');
}

/** PostgreSQL's longest `statement_timeout`, in seconds (2^31 − 1 milliseconds, about 24.8 days). */
const LONGEST_TIMEOUT = 2_147_483;

/**
 * `--timeout`, checked: a number of seconds written as a decimal, from a millisecond to
 * PostgreSQL's longest. `0.0001` rounded to 0 ms, which is no time-out at all; `0x10` and `1e3`
 * are not what a user writes for seconds; `1e12` was refused by the server with "out of range".
 */
export function timeoutSeconds(value: string): number {
  const seconds = Number(value);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(value) || seconds < 0.001 || seconds > LONGEST_TIMEOUT) {
    throw new UsageError(`--timeout ${value}: expected a number of seconds from 0.001 to ${LONGEST_TIMEOUT}, such as 60 or 2.5`);
  }
  return seconds;
}

export type QueryFormat = 'table' | 'json' | 'csv';

/** What a cursor can read (DECLARE … CURSOR FOR takes a SELECT or VALUES); EXPLAIN and SHOW are read whole (a few rows). */
const THROUGH_A_CURSOR = ['select', 'with', 'values', 'table'];

/**
 * The rows of one reading statement, a batch at a time: through a cursor (`DECLARE … CURSOR`,
 * `FETCH n`) in the client's open transaction, so a result of millions of rows is never held
 * whole; EXPLAIN and SHOW, and a statement the cursor does not take (a data-modifying WITH,
 * `SELECT … INTO`), whole as one batch, as the server answers them, so its own words and the
 * place in its text are said of it. `timeoutMs` bounds the time the server spends on the
 * statement: each fetch gets what the ones before it left, so a reader that pauses (a pipe into
 * `less`) takes none of it.
 */
async function* statementBatches(client: pg.ClientBase, text: string, options: { rows: number; timeoutMs: number }): AsyncGenerator<pg.QueryResult> {
  const word = firstWord(text) ?? '';
  // The extended protocol takes exactly one statement: "commit; create table …" is refused by the
  // server before anything runs. Numbers come back as the server's text, every digit kept.
  const whole = { text, queryMode: 'extended', types: NUMBERS_AS_TEXT } as pg.QueryConfig;
  if (!THROUGH_A_CURSOR.includes(word)) {
    yield await client.query(whole);
    return;
  }
  // Planned for every row, as the statement alone would be, not for the first tenth of them.
  await client.query('set local cursor_tuple_fraction = 1');
  await client.query('savepoint verite_declare');
  try {
    await declareCursor(client, 'verite_query', { sql: text, parameters: [] });
    // The cursor stays; the statement runs in the transaction itself, not in a subtransaction.
    await client.query('release savepoint verite_declare');
  } catch {
    // Refused by DECLARE: the statement alone says why in its own words (its place in the text is not shifted by DECLARE's).
    await client.query('rollback to savepoint verite_declare');
    yield await client.query(whole);
    return;
  }
  let spent = 0;
  let started = 0;
  const beforeFetch = async () => {
    await client.query(`set local statement_timeout = ${Math.max(1, Math.round(options.timeoutMs - spent))}`);
    started = performance.now();
  };
  for await (const result of fetchBatches(client, 'verite_query', { rows: options.rows, types: NUMBERS_AS_TEXT, beforeFetch })) {
    spent += performance.now() - started;
    yield result;
  }
}

/**
 * Runs one reading statement on `client` (in its open transaction) and writes its rows to `out`
 * as they are fetched, `rows` at a time (default {@link CURSOR_FETCH_ROWS}): CSV and JSON row by
 * row, a table laid out from its first batch (its widths and alignment; a wider value further
 * down pushes its own line out). Each batch is one write, which waits while the reader is slow.
 */
export async function printQuery(
  client: pg.ClientBase,
  text: string,
  format: QueryFormat,
  out: OutputWriter,
  options: { rows?: number; timeoutMs?: number; rawCsv?: boolean; currency?: string } = {},
): Promise<void> {
  let layout: ReturnType<typeof tableLayout> | undefined;
  let columns: string[] | undefined;
  let numbers: Set<string> = new Set();
  let count = 0;
  for await (const result of statementBatches(client, text, { rows: options.rows ?? CURSOR_FETCH_ROWS, timeoutMs: options.timeoutMs ?? 60_000 })) {
    const rows = (result.rows ?? []) as Record<string, unknown>[];
    if (columns === undefined) {
      const fields = result.fields ?? [];
      columns = fields.map((f) => f.name);
      numbers = new Set(fields.filter((f) => NUMBER_TYPES.has(f.dataTypeID)).map((f) => f.name));
      if (format === 'csv') await out.write(`${csvLine(columns, undefined, { raw: options.rawCsv })}\n`);
      else if (format === 'json') await out.write('[');
      else if (columns.length === 0) await out.write('(no rows)\n');
      else {
        layout = tableLayout(columns, rows, { kinds: displayKinds(fields), currency: options.currency });
        await out.write(layout.head);
      }
    }
    const cols = columns;
    let piece: string;
    if (format === 'csv') piece = rows.map((r) => `${csvLine(cols.map((c) => r[c]), cols, { numbers, raw: options.rawCsv })}\n`).join('');
    else if (format === 'json') piece = rows.map((r, i) => `${count + i === 0 ? '' : ','}${jsonRow(r, numbers)}`).join('');
    else piece = layout ? rows.map((r) => `${layout!.line(r)}\n`).join('') : '';
    count += rows.length;
    await out.write(piece);
    // The reader went away (`| head`): nothing more is read.
    if (out.closed) return;
  }
  if (format === 'json') await out.write(']\n');
  else if (format === 'table' && layout) await out.write(tableFoot(count));
}

export function registerQuery(program: Command): void {
  program
    .command('query')
    .description('run a read-only query (one statement) against the warehouse and print it')
    .argument('<sql>', 'one SQL query, run in a read-only session and transaction')
    .option('--format <format>', 'table (decimals rounded for reading: money to the reporting currency\'s minor unit), json (numbers as JSON numbers, every digit) or csv (every digit)', 'table')
    .option('--timeout <seconds>', 'statement time-out in seconds', '60')
    .option('--raw-csv', "with --format csv: text cells as they are, without the ' put before one a spreadsheet would run as a formula (= + - @)")
    .action(
      action(async (text: string, opts: { format: string; timeout: string; rawCsv?: boolean }) => {
        if (!['table', 'json', 'csv'].includes(opts.format)) throw new UsageError(`--format must be table, json or csv, not ${opts.format}`);
        if (opts.rawCsv && opts.format !== 'csv') throw new UsageError('--raw-csv is for --format csv');
        const timeout = timeoutSeconds(opts.timeout);
        const problem = readingStatementProblem(text);
        if (problem) throw new UsageError(`query: ${problem}`);
        const ctx = await commandContext(program.opts<GlobalOptions>());
        return withWarehouse(ctx.log, async (warehouse) => {
          // A server that goes away while the query runs fails the query, never the process: the
          // pool gives every client an 'error' listener (warehouse/connection.ts).
          const client = await warehouse.pool.connect();
          const out = new OutputWriter();
          try {
            // Read-only for the session too: a statement that ends the transaction (COMMIT) or
            // tries to change its mode leaves nothing writable behind it.
            await client.query('set session characteristics as transaction read only');
            await client.query('begin transaction read only');
            const timeoutMs = Math.round(timeout * 1000);
            await client.query(`set local statement_timeout = ${timeoutMs}`);
            // The rows are fetched as the output is read: a reader that takes its time (a pipe
            // into less) keeps the transaction open meanwhile, which is not a session left idle.
            await client.query('set local idle_in_transaction_session_timeout = 0');
            await printQuery(client, text, opts.format as QueryFormat, out, { timeoutMs, rawCsv: opts.rawCsv, currency: ctx.config.reportingCurrency });
            await client.query('commit');
            out.end();
            return EXIT.ok;
          } catch (error) {
            await client.query('rollback').catch(() => undefined);
            // 42601 from the extended protocol: more than one statement.
            if ((error as { code?: string }).code === '42601' && /multiple commands/.test((error as Error).message)) {
              throw new UsageError('query: one statement at a time (the text holds more than one)');
            }
            throw new Error(`query failed: ${await explainQueryError(client, text, error as pg.DatabaseError)}`);
          } finally {
            // The session was changed (read-only, perhaps more by the statement): never reuse it.
            client.release(true);
          }
        });
      }),
    );
}
