import { createHash } from 'node:crypto';
import { CompiledQuery, sql, type Compilable, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../warehouse/database.ts';
import { coreColumns } from '../warehouse/tables/core.ts';
import type { ChangeSets, IncrementalBuild, Model, TransformContext } from './model.ts';
import { rawChanges, rawTableStream } from './raw-changes.ts';

/**
 * How one model is brought up to date in a build (docs/scale.md, "Incremental build"):
 *
 * - `full`: rebuilt from the whole of its inputs, and the models reading it are too (a first
 *   build, `--full`, a changed query or conventions, the periodic full rebuild, a model
 *   `--select` named, or one reading it that the selection left as it was, at the next build);
 * - `diff`: a model without an incremental declaration whose inputs changed: rebuilt from the
 *   whole of its inputs, then compared with its previous rows to know which changed;
 * - `incremental`: only the rows of the values its changes name are rebuilt;
 * - `skip`: none of its inputs changed: nothing to do.
 */
export type BuildMode = 'full' | 'diff' | 'incremental' | 'skip';

/** What a model's build replaced, for the models that read it. */
export interface ModelDelta {
  mode: BuildMode;
  /** Temporary tables of the rows as they were and as they are now (diff and incremental). */
  before?: string;
  after?: string;
  /** Temporary table of those rows that changed, old and new ({@link keepChangedRows}). */
  changed?: string;
  /** Rows replaced (deleted plus inserted), as the dependents will see them. */
  rows: number;
}

/** What a build reads from `ops.model_builds` for one model. */
export interface PreviousBuild {
  through: string;
  signature: string;
  lastFullAt: Date;
  /** Set by a `--select` that rebuilt a model this one reads: the next build rebuilds it in full. */
  rebuildInFull: boolean;
}

/**
 * The signature of a model's build: a hash of its compiled query (with the clock pinned, so a
 * new day is no new query) and of the conventions it is built with. A different signature
 * means the stored rows may not be what the query gives now: a full rebuild.
 */
export function modelSignature(db: Kysely<Database>, model: Model, ctx: TransformContext): string {
  const pinned: TransformContext = { ...ctx, now: new Date(0) };
  const compiled = model.build(db, pinned).compile();
  const hash = createHash('sha256');
  hash.update(compiled.sql);
  hash.update(JSON.stringify(compiled.parameters));
  hash.update(JSON.stringify({ tz: ctx.reportingTimezone, currency: ctx.reportingCurrency, channels: ctx.channels, meta: ctx.metaPurchaseActionType }));
  if (model.incremental) hash.update(JSON.stringify({ replaceBy: model.incremental.replaceBy, scope: model.incremental.scope }));
  return hash.digest('hex').slice(0, 32);
}

/**
 * Whether a model's query reads the clock (`core.fx_rates` runs its days to today): such a model
 * is rebuilt whenever the build's day may differ from its last, even with no input changed.
 */
export function readsTheClock(db: Kysely<Database>, model: Model, ctx: TransformContext): boolean {
  // A check folded into the build reads the clock (a date after today is set aside), but that
  // is no reason to rebuild: the records it set aside are checked again at every build.
  const at = (now: Date) => {
    const compiled = model.build(db, { ...ctx, now }).compile();
    let text = compiled.sql;
    for (const check of model.checks ?? []) {
      if (check.severity !== 'set-aside' || !check.folded) continue;
      const folded = check.folded({ ...ctx, now }).compile(db);
      if (folded.parameters.length === 0) text = text.split(folded.sql).join('(folded check)');
    }
    return { sql: text, parameters: compiled.parameters };
  };
  const a = at(new Date(0));
  const b = at(new Date(86_400_000 * 10_000));
  return a.sql !== b.sql || JSON.stringify(a.parameters) !== JSON.stringify(b.parameters);
}

/**
 * Rewrites a compiled statement so that each table of `tables` is read from another (a
 * temporary table of its scoped rows): both spellings, `"schema"."table"` as Kysely writes it
 * and `schema.table` as the models' SQL text does, but not inside a quoted string or a longer name.
 */
export function readFrom(text: string, tables: ReadonlyMap<string, string>): string {
  let out = text;
  for (const [table, instead] of tables) {
    const [schema, name] = table.split('.') as [string, string];
    const pattern = new RegExp(`(?<![\\w."'])(?:"${schema}"\\."${name}"|${schema}\\.${name})(?![\\w"])`, 'g');
    out = out.replace(pattern, instead);
  }
  return out;
}

/** Compiles a query or a `sql` fragment. */
export function compile(db: Kysely<Database>, query: Compilable | RawBuilder<unknown>): CompiledQuery {
  return 'isRawBuilder' in query ? (query as RawBuilder<unknown>).compile(db) : (query as Compilable).compile();
}

/** Runs `prefix` followed by a compiled statement read from other tables (`readFrom`). */
export async function executeReading(db: Kysely<Database>, prefix: string, query: CompiledQuery, tables: ReadonlyMap<string, string>): Promise<number> {
  const result = await db.executeQuery(CompiledQuery.raw(`${prefix} ${readFrom(query.sql, tables)}`, [...query.parameters]));
  return Number(result.numAffectedRows ?? 0n);
}

/** The change sets an incremental model's `changed` query reads. */
export function changeSets(deltas: ReadonlyMap<string, ModelDelta>, after: string, through: string): ChangeSets {
  return {
    raw: (source, stream) => rawChanges(source, stream, { after, through }),
    replaced: (model) => {
      const delta = deltas.get(model);
      if (!delta || delta.mode === 'skip') return sql<Record<string, unknown>>`(select * from ${sql.table(model)} where false)`;
      if (!delta.changed) throw new Error(`${model} was rebuilt in full: the models reading it are rebuilt in full too`);
      return sql<Record<string, unknown>>`(select * from ${sql.table(delta.changed)})`;
    },
  };
}

/**
 * The raw streams (`source.stream`) with a change in (after, through], read once per distinct
 * `after` (every model's watermark is usually the same) for the whole build.
 */
export function changedStreams(db: Kysely<Database>, through: string): (after: string) => Promise<Set<string>> {
  const byAfter = new Map<string, Promise<Set<string>>>();
  return (after) => {
    let changed = byAfter.get(after);
    if (!changed) {
      changed = sql<{ stream: string }>`select distinct source || '.' || stream as stream from ops.raw_changes
        where change_id > ${after}::bigint and change_id <= ${through}::bigint`
        .execute(db)
        .then((res) => new Set(res.rows.map((r) => r.stream)));
      byAfter.set(after, changed);
    }
    return changed;
  };
}

/** Whether any raw input of the model is among `changed` (`source.stream`). */
export function rawInputsChanged(model: Model, changed: ReadonlySet<string>): boolean {
  return model.dependsOn.some((dep) => {
    const stream = rawTableStream(dep);
    return stream !== undefined && changed.has(`${stream.source}.${stream.stream}`);
  });
}

/** The date columns of a core table (those the metrics group by), from its declared columns. */
export function dateColumns(model: string): string[] {
  const columns = (coreColumns as Record<string, Record<string, unknown>>)[model];
  if (!columns) return [];
  return Object.entries(columns)
    .filter(([, spec]) => spec === 'date' || spec === 'date?')
    .map(([name]) => name);
}

/**
 * Keeps in `table` (temporary) the rows of a delta that changed: those before less those after,
 * and those after less those before, each as often as it occurs. A row replaced by an identical
 * one (an order of a customer the build widened to, left as it was) is not among them, and asks
 * nothing of the models reading it. Worked out once, read by every model downstream
 * (`changes.replaced`) and by the metrics (`recordMetricInputs`).
 */
export async function keepChangedRows(db: Kysely<Database>, before: string, after: string, table: string): Promise<void> {
  await sql`create temp table ${sql.table(table)} on commit drop as
    select * from (select * from ${sql.table(before)} except all select * from ${sql.table(after)}) b
    union all select * from (select * from ${sql.table(after)} except all select * from ${sql.table(before)}) a`.execute(db);
  await sql`analyze ${sql.table(table)}`.execute(db);
}

/**
 * Tells the next metrics refresh what this build replaced in a core table
 * (`ops.metric_inputs_changed`): every date, in each date column, of the rows that changed
 * (a replaced row as it was and as it is, unless the two are the same); every customer
 * replaced, for `core.customers` (the customer tables' state reads them all); or `everything`
 * when it was rebuilt in full or has no date (a product renamed may move any day's figures).
 */
export async function recordMetricInputs(db: Kysely<Database>, model: string, delta: ModelDelta): Promise<void> {
  if (!model.startsWith('core.') || delta.mode === 'skip') return;
  if (delta.mode === 'full' || !delta.before || !delta.after || !delta.changed) {
    await sql`insert into ops.metric_inputs_changed (model, everything) values (${model}, true)`.execute(db);
    return;
  }
  if (delta.rows === 0) return;
  const columns = dateColumns(model);
  // A table with no date (products, variants): any change may move any day's figures.
  if (!columns.length && model !== 'core.customers') {
    await sql`insert into ops.metric_inputs_changed (model, everything) values (${model}, true)`.execute(db);
    return;
  }
  const rows = sql`(select * from ${sql.table(delta.before)} union all select * from ${sql.table(delta.after)})`;
  // The dates of the rows that changed: a row replaced by an identical one (an order of a
  // customer widened to, untouched) moves no figure, and would send the refresh back through
  // every day of that customer's history.
  const changed = sql.table(delta.changed);
  for (const column of columns) {
    await sql`insert into ops.metric_inputs_changed (model, date)
      select distinct ${model}, r.${sql.ref(column)} from ${changed} r where r.${sql.ref(column)} is not null`.execute(db);
  }
  // A payment matched to another order moves both orders' days (orders without a payment).
  if (model === 'core.payments') {
    await sql`insert into ops.metric_inputs_changed (model, date)
      select distinct ${model}, o.order_date from core.orders o where o.order_id in (select r.order_id from ${changed} r)`.execute(db);
  }
  if (model === 'core.customers') {
    await sql`insert into ops.metric_inputs_changed (model, customer_key)
      select distinct ${model}, r.customer_key from ${rows} r where r.customer_key is not null`.execute(db);
  }
}

/**
 * The incremental build of a staging model whose every row comes from one raw record of
 * `source.stream`, its `_key` in the model's column `column`: the rows of the records written
 * or removed are rebuilt from those records alone (a removed one leaves no row).
 */
export function byRawKey(source: string, stream: string, column: string, also?: (changes: ChangeSets) => RawBuilder<unknown>): IncrementalBuild {
  return {
    replaceBy: column,
    changed: (changes) =>
      also
        ? sql`select key as value from ${changes.raw(source, stream)} r union all select value::text from (${also(changes)}) a`
        : sql`select key as value from ${changes.raw(source, stream)} r`,
    scope: { [`raw.${source}__${stream}`]: '_key' },
  };
}

/** The days whose exchange rates this build replaced: every amount converted on them moves. */
export function ratesChangedOn(changes: ChangeSets): RawBuilder<{ date: string }> {
  return sql<{ date: string }>`(select distinct f.date from ${changes.replaced('core.fx_rates')} f)`;
}

/**
 * How a charge or a shipment may name an order `core.orders` replaced (old and new rows): its id,
 * its name, or its name without the '#'. A subquery of `ref`.
 */
export function orderReferences(changes: ChangeSets): RawBuilder<{ ref: string }> {
  const orders = changes.replaced('core.orders');
  return sql<{ ref: string }>`(select o.order_id as ref from ${orders} o
    union select o.order_name from ${orders} o where o.order_name is not null
    union select substr(o.order_name, 2) from ${orders} o where o.order_name like '#%')`;
}
