import { CompiledQuery, sql, type Compilable, type Kysely, type RawBuilder } from 'kysely';
import { DEFAULT_META_PURCHASE_ACTION_TYPE, type VeriteConfig } from '../config/schema.ts';
import { errorMessage, UsageError } from '../lib/errors.ts';
import { didYouMean } from '../lib/names.ts';
import type { Logger } from '../lib/logger.ts';
import type { Progress } from '../lib/progress.ts';
import type { Database } from '../warehouse/database.ts';
import { buildInOneProcess, setBuildSettings, sharedMemoryShortage, sharedMemoryWarning } from '../warehouse/build-session.ts';
import type { Warehouse } from '../warehouse/connection.ts';
import { tableSignature } from '../warehouse/table-signature.ts';
import { defaultChannelRules } from './channels.ts';
import { changeSets, changedStreams, compile, executeReading, keepChangedRows, modelSignature, rawInputsChanged, readsTheClock, readFrom, recordMetricInputs, type BuildMode, type ModelDelta, type PreviousBuild } from './incremental.ts';
import { FOLDED_COLUMN, type ChangeSets, type DataCheck, type Model, type PartialIndex, type SetAsideCheck, type StopCheck, type TransformContext, type WarnCheck } from './model.ts';
import { codedWarning, type WarningCode } from '../lib/warning-codes.ts';
import { permissionAdvice } from '../warehouse/ownership.ts';

export type ModelStatus = 'succeeded' | 'failed' | 'not-run';

/** What happened to one model (as Kysely's Migrator reports each migration). */
export interface ModelResult {
  model: string;
  status: ModelStatus;
  rows?: number;
  ms?: number;
  /** The SQL that failed, with the database error. */
  sql?: string;
  error?: string;
  /**
   * Why a model did not run (a dependency failed, or it was not selected; one that reads a
   * selected model is rebuilt in full by the next build, which the reason says).
   */
  reason?: string;
  /** How it was brought up to date (docs/scale.md, "Incremental build"). */
  mode?: BuildMode;
  /** Rows replaced, as the models reading it see them: deleted plus inserted (a full build: its rows). */
  replaced?: number;
}

export interface CheckResult {
  model: string;
  check: string;
  passed: boolean;
  /** Failing rows, at most a few. */
  sample: Record<string, unknown>[];
  message?: string;
  /** The check's SQL, when the check's own query failed. */
  sql?: string;
  /** A warning check: failing, it warns and the build is still published. */
  warning?: boolean;
  /** A warning check's code (`silenceWarnings`). */
  code?: WarningCode;
}

/** What one set-aside check took out of its model's table in this build. */
export interface SetAsideResult {
  model: string;
  check: string;
  source: string;
  stream: string;
  /** Records set aside. */
  count: number;
  /** The first few (by key), with their reasons. */
  sample: { key: string; reason: string }[];
}

export interface TransformResult {
  /**
   * Every model built and every stop check passed, so the new tables were published (records
   * set aside leave `warnings`, not a failure).
   */
  status: 'succeeded' | 'failed';
  /** Whether the new tables are what readers now see (false: the previous build still is). */
  published: boolean;
  results: ModelResult[];
  /** The stop checks (set-aside checks report in `setAside`). */
  checks: CheckResult[];
  /** Every set-aside check that set records aside in this build. */
  setAside: SetAsideResult[];
  /** One line per record set aside (the first few of each check), for the run's summary. */
  warnings: string[];
  /** The codes of the failing warn checks the config silences (`silenceWarnings`): logged, not in `warnings`. */
  silenced?: string[];
  /**
   * How the build went, when not as usual: it went on in one process because the server ran
   * short of shared memory for parallel workers (what to give the server is said).
   */
  notes: string[];
  /** The first problem, for the run's message. */
  error?: string;
}

/** How many records of each set-aside check the warnings name one by one. */
const NAMED_PER_CHECK = 5;

/** Model dependencies that loop. */
export class ModelCycleError extends Error {
  override name = 'ModelCycleError';
  readonly cycle: string[];
  constructor(cycle: string[]) {
    super(`the transform models depend on each other in a cycle: ${cycle.join(' → ')}`);
    this.cycle = cycle;
  }
}

/**
 * Models that cannot be ordered because of what they declare: a dependency that names no
 * model and no raw table (a typo such as `core.order`), or two models building one table.
 * Lists every problem.
 */
export class ModelDependencyError extends Error {
  override name = 'ModelDependencyError';
  readonly problems: string[];
  constructor(problems: string[]) {
    super(
      problems.length === 1
        ? `the transform models cannot be ordered: ${problems[0]}`
        : `the transform models cannot be ordered (${problems.length} problems):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.problems = problems;
  }
}

/**
 * The problems of a model list, all of them: a name built by two models, a dependency that
 * is neither a model nor a `raw.` table (sources are read from raw, so anything else a model
 * reads must be built by a model).
 */
function dependencyProblems(models: readonly Model[]): string[] {
  const names = models.map((m) => m.name);
  const known = new Set(names);
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) problems.push(`two models build ${name}`);
    seen.add(name);
  }
  for (const model of models) {
    for (const dep of model.dependsOn) {
      if (known.has(dep) || dep.startsWith('raw.')) continue;
      problems.push(`${model.name} depends on ${dep}, which is no model${didYouMean(dep, names)}`);
    }
  }
  return [...new Set(problems)];
}

/**
 * Orders models so each comes after what it depends on (`raw.` tables are inputs, not
 * models). Refuses a dependency on an unknown model ({@link ModelDependencyError}) and a
 * cycle ({@link ModelCycleError}), naming them.
 */
export function orderModels(models: readonly Model[]): Model[] {
  const problems = dependencyProblems(models);
  if (problems.length) throw new ModelDependencyError(problems);
  const byName = new Map(models.map((m) => [m.name, m]));
  const ordered: Model[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (model: Model, path: string[]) => {
    const s = state.get(model.name);
    if (s === 'done') return;
    if (s === 'visiting') {
      throw new ModelCycleError([...path.slice(path.indexOf(model.name)), model.name]);
    }
    state.set(model.name, 'visiting');
    for (const dep of model.dependsOn) {
      const target = byName.get(dep);
      if (target) visit(target, [...path, model.name]);
    }
    state.set(model.name, 'done');
    ordered.push(model);
  };
  for (const model of models) visit(model, []);
  return ordered;
}

export function transformContext(config: VeriteConfig, now = new Date()): TransformContext {
  return {
    reportingTimezone: config.reportingTimezone,
    reportingCurrency: config.reportingCurrency,
    channels: config.channels ?? defaultChannelRules,
    metaPurchaseActionType: config.sources.meta_ads?.purchaseActionType ?? DEFAULT_META_PURCHASE_ACTION_TYPE,
    now,
    config,
  };
}

function splitName(name: string): { schema: string; table: string } {
  const [schema, table] = name.split('.');
  if (!schema || !table) throw new Error(`a model name is schema.table, not ${name}`);
  return { schema, table };
}

export interface RunTransformsOptions {
  models: readonly Model[];
  /**
   * Build only these models, in full, from their inputs as they are (models they read that are
   * not selected are not brought up to date first). The models downstream of a selected one that
   * are not selected are rebuilt in full by the next build: the selected model's watermark moves
   * past every change, so they could no longer learn from it what changed.
   */
  select?: string[];
  now?: Date;
  log?: Logger;
  /** Told after each model is built (step `transform`). */
  progress?: Progress;
  /** Rebuild every model from the whole of its inputs (`verite transform --full`), not from what changed. */
  full?: boolean;
  /** Called in the build's transaction just before it commits (a run records there that its transform was published). */
  beforeCommit?: (trx: Kysely<Database>) => Promise<void>;
}

/**
 * Builds the models in dependency order inside ONE transaction: each model's table is built
 * under a new name, then its rows replace the published ones in place (or, for a new or
 * reshaped table, it is swapped in; see `buildTable`), so readers are not held up while it
 * runs; the data tests run at the end; and only if
 * every model built and every check passed is the transaction committed. Otherwise it rolls
 * back, and readers keep seeing the previous complete build. Returns a result per model;
 * models that cannot be ordered (a cycle, an unknown dependency) are a failed result with every
 * model not run, not an exception. Throws only a {@link UsageError} for a `select` naming no model.
 */
export async function runModels(db: Kysely<Database>, config: VeriteConfig, options: RunTransformsOptions): Promise<TransformResult> {
  const selected = options.select?.length ? new Set(options.select) : null;
  if (selected) {
    const names = options.models.map((m) => m.name);
    const unknown = [...selected].filter((s) => !names.includes(s));
    if (unknown.length) {
      throw new UsageError(`no such model: ${unknown.map((u) => `${u}${didYouMean(u, names)}`).join(', ')}; the models are ${names.join(', ')}`);
    }
  }
  let ordered: Model[];
  try {
    ordered = orderModels(options.models);
  } catch (error) {
    if (!(error instanceof ModelCycleError || error instanceof ModelDependencyError)) throw error;
    // Nothing can be built in a valid order: nothing is, and readers keep the previous build.
    const reason = errorMessage(error);
    options.log?.error({ err: reason }, 'transform models cannot be ordered');
    return {
      status: 'failed',
      published: false,
      results: options.models.map((m) => ({ model: m.name, status: 'not-run', reason })),
      checks: [],
      setAside: [],
      warnings: [],
      notes: [],
      error: `${error.name}: ${reason}`,
    };
  }
  const ctx = transformContext(config, options.now);
  const results: ModelResult[] = [];
  const checks: CheckResult[] = [];
  const setAside: SetAsideResult[] = [];
  const failed = new Set<string>();
  const deltas = new Map<string, ModelDelta>();
  const signatures = new Map<string, string>();
  // The models not selected that read a selected one (or one of these): rebuilt in full next time.
  const behind = new Set<string>();
  const trx = await db.startTransaction().execute();
  const tdb = trx as unknown as Kysely<Database>;
  let committed = false;
  try {
    await setBuildSettings(tdb, config.transform?.workMem);
    // Every change up to here is committed: runs land only under the run lock (docs/scale.md).
    const through = (await sql<{ through: string }>`select coalesce(max(change_id), 0)::text as through from ops.raw_changes`.execute(trx)).rows[0]!.through;
    const previous = await previousBuilds(tdb);
    const found = await foundBefore(tdb, ordered.map((m) => m.name));
    const streamsChangedSince = changedStreams(tdb, through);
    await startSetAside(tdb, ordered.map((m) => m.name));
    let temp = 0;
    let oneProcess = false;
    const buildNotes: string[] = [];
    for (const model of ordered) {
      if (selected && !selected.has(model.name)) {
        // The selected model consumes every change up to `through`, those this model has not
        // read too: the next build finds nothing new in it, and only a full build of this one
        // reads them (an updated order, orders whose lines staging already has).
        const reads = model.dependsOn.some((d) => selected.has(d) || behind.has(d));
        if (reads) behind.add(model.name);
        results.push({ model: model.name, status: 'not-run', reason: reads ? 'not selected; the next build rebuilds it in full' : 'not selected' });
        continue;
      }
      const blocked = model.dependsOn.filter((d) => failed.has(d));
      if (blocked.length) {
        failed.add(model.name);
        results.push({ model: model.name, status: 'not-run', reason: `depends on ${blocked.join(', ')}, which did not build` });
        continue;
      }
      const started = Date.now();
      // A server whose shared memory cannot hold parallel workers (a PostgreSQL container's
      // 64 MB /dev/shm) gets the model again, in one process.
      for (;;) {
        let compiled: string | undefined;
        const setAsideBefore = setAside.length;
        const savepoint = await trx.savepoint('model').execute();
        const restore = await applyPlannerSettings(tdb, model);
        try {
          const signature = modelSignature(tdb, model, ctx);
          signatures.set(model.name, signature);
          const before = previous.get(model.name);
          const mode = await chooseMode(tdb, model, { before, previous, signature, full: options.full === true || selected !== null, deltas, ctx, config, found, streamsChangedSince });
          const n = ++temp;
          let rows: number;
          let delta: ModelDelta;
          if (mode === 'skip') {
            rows = 0;
            delta = { mode, rows: 0 };
          } else if (mode === 'incremental') {
            const built = await buildIncrementally(tdb, model, ctx, changeSets(deltas, before!.through, through), n, (c) => (compiled = c), options.log);
            rows = built.inserted;
            delta = built.delta;
            setAside.push(...(await recordSetAside(built.setAside, options.log)));
          } else {
            // A model compared with its previous rows keeps them aside first.
            const kept = mode === 'diff' ? `pg_temp.verite_before_${n}` : undefined;
            if (kept) await sql`create temp table ${sql.table(kept)} on commit drop as select * from ${sql.table(model.name)}`.execute(trx);
            await clearSetAside(tdb, model.name);
            const query = model.build(tdb, ctx);
            compiled = query.compile().sql;
            // A check folded into the build reads the rows built, before they are published.
            rows = await buildTable(tdb, model, query, async (building) => {
              await requireFoldedColumn(tdb, model, building);
              for (const check of setAsideChecks(model).filter((c) => c.folded)) {
                compiled = compileCheck(tdb, check, ctx).sql;
                const outcome = await runCheckReading(tdb, model, check, ctx, new Map([[model.name, building]]), building, n);
                if (outcome.count > 0) setAside.push(...(await recordSetAside([outcome.result], options.log)));
              }
              await dropFoldedColumn(tdb, model, building);
            });
            // Records the model cannot use leave its table before any model reads it.
            for (const check of setAsideChecks(model).filter((c) => !c.folded)) {
              compiled = compileCheck(tdb, check, ctx).sql;
              const outcome = await setRecordsAside(tdb, model, check, ctx, check.failing(tdb, ctx) as unknown as RawBuilder<unknown>, model.name);
              if (outcome.count === 0) continue;
              rows -= outcome.removed;
              setAside.push(...(await recordSetAside([outcome.result], options.log)));
            }
            delta = kept ? await compareWithBefore(tdb, model.name, kept, n) : { mode: 'full', rows };
          }
          deltas.set(model.name, delta);
          await recordMetricInputs(tdb, model.name, delta);
          await savepoint.releaseSavepoint('model').execute();
          await restore();
          results.push({ model: model.name, status: 'succeeded', rows, ms: Date.now() - started, mode, replaced: delta.rows });
          options.log?.debug({ model: model.name, rows, mode, replaced: delta.rows }, 'model built');
          const what = mode === 'full' || mode === 'diff' ? `${rows.toLocaleString('en-US')} rows` : mode === 'skip' ? 'unchanged' : `${delta.rows.toLocaleString('en-US')} rows replaced`;
          options.progress?.update('transform', `transform: ${results.length}/${ordered.length} models (${model.name}, ${what})`, {
            models: results.length,
            of: ordered.length,
            model: model.name,
            rows,
          });
        } catch (error) {
          await savepoint.rollbackToSavepoint('model').execute();
          await restore();
          if (!oneProcess && sharedMemoryShortage(error)) {
            // Every later statement of the build would meet the same shortage: the rest of the
            // transaction runs in one process, this model again first.
            oneProcess = true;
            setAside.length = setAsideBefore;
            await buildInOneProcess(tdb);
            const note = sharedMemoryWarning('build', model.name, error);
            buildNotes.push(note);
            options.log?.warn({ model: model.name }, note);
            continue;
          }
          failed.add(model.name);
          // A table another login built, which this one may not replace: who owns it and what to do.
          const advice = await permissionAdvice(tdb, error);
          results.push({ model: model.name, status: 'failed', ms: Date.now() - started, sql: compiled, error: `${errorMessage(error)}${advice ? `: ${advice}` : ''}` });
          options.log?.error({ model: model.name, err: errorMessage(error) }, 'model failed');
        }
        break;
      }
    }
    options.progress?.update('transform', `transform: ${ordered.length} models done, running the data checks`, { models: results.length, of: ordered.length, checks: true });
    for (const model of ordered) {
      if (!results.some((r) => r.model === model.name && r.status === 'succeeded')) continue;
      const delta = deltas.get(model.name);
      // A model left as it was passed its checks when it was built.
      if (!delta || delta.mode === 'skip') continue;
      // An incremental build checks the rows it inserted (the others passed before), except the
      // warnings, which describe the whole table readers see.
      const scoped = delta.mode === 'incremental' ? delta.after : undefined;
      const keyHeld = await keyHeldByIndex(tdb, model);
      for (const check of modelChecks(model, scoped)) {
        if ('heldByIndex' in check && check.heldByIndex && keyHeld) {
          // The unique index holds the key on every row: nothing to look for.
          checks.push({ model: model.name, check: check.name, passed: true, sample: [] });
          continue;
        }
        // A check whose own query fails is a failed check, not the end of the run: the
        // savepoint keeps the transaction usable for the other checks.
        for (;;) {
          const savepoint = await trx.savepoint('check').execute();
          let compiled: string | undefined;
          try {
            const q = compileCheck(tdb, check, ctx);
            const tables = scoped && check.severity !== 'warn' && !('whole' in check && check.whole) ? new Map([[model.name, scoped]]) : new Map<string, string>();
            compiled = readFrom(q.sql, tables);
            const rows = ((await trx.executeQuery(CompiledQuery.raw(compiled, [...q.parameters]))).rows ?? []) as Record<string, unknown>[];
            await savepoint.releaseSavepoint('check').execute();
            const passed = rows.length === 0;
            checks.push({
              model: model.name,
              check: check.name,
              passed,
              sample: rows.slice(0, 5),
              message: passed ? undefined : check.describe?.(rows),
              ...(check.severity === 'warn' ? { warning: true, ...(check.code ? { code: check.code } : {}) } : {}),
            });
          } catch (error) {
            await savepoint.rollbackToSavepoint('check').execute();
            if (!oneProcess && sharedMemoryShortage(error)) {
              // As for a model (above): this check again, and the rest, in one process.
              oneProcess = true;
              await buildInOneProcess(tdb);
              const note = sharedMemoryWarning('build', `${model.name}: check ${check.name}`, error);
              buildNotes.push(note);
              options.log?.warn({ model: model.name, check: check.name }, note);
              continue;
            }
            const message = `the check's query failed: ${errorMessage(error)}`;
            checks.push({ model: model.name, check: check.name, passed: false, sample: [], message, sql: compiled });
            options.log?.error({ model: model.name, check: check.name, err: errorMessage(error) }, 'data check failed to run');
          }
          break;
        }
      }
    }
    const firstFailure = results.find((r) => r.status === 'failed');
    const failedChecks = checks.filter((c) => !c.passed && !c.warning);
    const error = firstFailure
      ? `model ${firstFailure.model} failed: ${firstFailure.error}`
      : failedChecks.length
        ? failedChecks.map((c) => `${c.model}: check ${c.check} failed${c.message ? `: ${c.message}` : ''}${c.sample.length ? ` (e.g. ${JSON.stringify(c.sample[0])})` : ''}`).join('; ')
        : undefined;
    const warned = checks.filter((c) => !c.passed && c.warning);
    const isSilenced = (c: CheckResult) => c.code !== undefined && (config.silenceWarnings ?? []).includes(c.code);
    for (const c of warned.filter(isSilenced)) options.log?.info({ code: c.code }, `${c.model}: ${c.message ?? c.check} (silenced by silenceWarnings)`);
    const warnings = [...setAside.flatMap(setAsideWarnings), ...warned.filter((c) => !isSilenced(c)).map((c) => codedWarning(`${c.model}: ${c.message ?? c.check}`, c.code))];
    const silenced = [...new Set(warned.filter(isSilenced).map((c) => c.code!))];
    if (error) {
      await trx.rollback().execute();
      committed = true;
      // Nothing was published, so nothing was set aside either: ops.set_aside is as before.
      return { status: 'failed', published: false, results, checks, setAside, warnings: [], notes: buildNotes, error };
    }
    await recordBuilds(tdb, results, deltas, signatures, through, ctx.now, ordered.map((m) => m.name), [...behind]);
    await options.beforeCommit?.(tdb);
    await trx.commit().execute();
    committed = true;
    await dropRedundantIndexes(db, ordered, options.log);
    return { status: 'succeeded', published: true, results, checks, setAside, warnings, ...(silenced.length ? { silenced } : {}), notes: buildNotes };
  } finally {
    if (!committed) await trx.rollback().execute().catch(() => undefined);
  }
}

/**
 * Sets a model's own planner settings for the rest of the transaction; returns what puts the
 * previous values back (a released savepoint keeps a setting made inside it).
 */
async function applyPlannerSettings(db: Kysely<Database>, model: Model): Promise<() => Promise<void>> {
  const settings = Object.entries(model.planner ?? {});
  if (settings.length === 0) return async () => {};
  const previous: [string, string][] = [];
  for (const [name, value] of settings) {
    const res = await sql<{ previous: string }>`select current_setting(${name}) as previous, set_config(${name}, ${value}, true)`.execute(db);
    previous.push([name, res.rows[0]!.previous]);
  }
  return async () => {
    for (const [name, value] of previous) await sql`select set_config(${name}, ${value}, true)`.execute(db);
  };
}

/**
 * Builds a model's table under `<table>__building`, then publishes it. When the published table
 * has the same columns, its rows are replaced in place (DELETE and INSERT of the rows that
 * differ from the new build, {@link refill}): those statements take locks no reader waits for,
 * so `core.orders` stays readable (its previous rows) for the whole of the long transaction, and a session orphaned by a killed transform
 * blocks nobody. A new or reshaped table (a first build, a verite upgrade) is swapped in by DROP
 * and RENAME instead, which readers of that table wait for until the commit.
 */
async function buildTable(db: Kysely<Database>, model: Model, query: Compilable, prepare?: (building: string) => Promise<void>): Promise<number> {
  const { schema, table } = splitName(model.name);
  const building = `${schema}.${table}__building`;
  await sql`drop table if exists ${sql.table(building)}`.execute(db);
  await sql`create table ${sql.table(building)} as ${query as unknown as ReturnType<typeof sql>}`.execute(db);
  await prepare?.(building);
  const published = await tableSignature(db, model.name);
  let rows: number | undefined;
  if (published !== '' && published === (await tableSignature(db, building))) {
    rows = await writeUnderKey(db, model, () => refill(db, model, building));
    await sql`drop table ${sql.table(building)}`.execute(db);
  } else {
    await sql`drop table if exists ${sql.table(model.name)}`.execute(db);
    await sql`alter table ${sql.table(building)} rename to ${sql.id(table)}`.execute(db);
  }
  // A refilled table keeps its indexes; a new one gets them (CREATE INDEX blocks writers, not readers).
  await createIndexes(db, model);
  await sql`analyze ${sql.table(model.name)}`.execute(db);
  if (rows !== undefined) return rows;
  const count = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(model.name)}`.execute(db);
  return count.rows[0]?.n ?? 0;
}

/**
 * The model's indexes, those it lacks only. An incremental model's rows are replaced by their
 * replaceBy column: it is indexed too. An incremental build calls this as well, so a table
 * published by an earlier version gets an index declared since without waiting for a full build.
 */
async function createIndexes(db: Kysely<Database>, model: Model): Promise<void> {
  const { schema, table } = splitName(model.name);
  const wanted = wantedIndexes(model);
  const existing = new Set(
    (await sql<{ name: string }>`select indexname as name from pg_indexes where schemaname = ${schema} and tablename = ${table}`.execute(db)).rows.map((r) => r.name),
  );
  const key = uniqueIndex(model);
  let keyHeld = false;
  if (key) {
    keyHeld = existing.has(key.name);
    if (!keyHeld) {
      // A repeated key refuses the unique index: a plain one on the same columns instead, and
      // the key check, which then reads the table, names the copies.
      await sql`savepoint verite_key_index`.execute(db);
      try {
        await sql`create unique index ${sql.id(key.name)} on ${sql.table(model.name)} (${sql.join(key.columns.map((c) => sql.id(c)))})`.execute(db);
        await sql`release savepoint verite_key_index`.execute(db);
        keyHeld = true;
      } catch (error) {
        if (!isRepeatedKey(error)) throw error;
        await sql`rollback to savepoint verite_key_index`.execute(db);
        await createPlainKeyIndex(db, model, key);
      }
    }
  }
  // The unique index's leading columns serve the lookups an index on them alone would.
  const indexes = keyHeld ? wanted.filter((i) => !coveredByKey(i, key!)) : wanted;
  for (const { name, columns, where } of indexes) {
    if (existing.has(name)) continue;
    // `if not exists` still: PostgreSQL cuts a name longer than 63 bytes, which the list above then lacks.
    await sql`create index if not exists ${sql.id(name)} on ${sql.table(model.name)} (${sql.join(columns.map((c) => sql.id(c)))})${where ? sql` where ${sql.raw(where)}` : sql``}`.execute(db);
  }
}

/** The indexes a model's table has beside its key's: those it declares, and one on its `replaceBy` column. */
function wantedIndexes(model: Model): { name: string; columns: readonly string[]; where?: string }[] {
  const { table } = splitName(model.name);
  const declared = (model.indexes ?? []).map((index): { name: string; columns: readonly string[]; where?: string } =>
    isPartialIndex(index) ? index : { name: `${table}_${index.join('_')}`, columns: index },
  );
  const replaceBy = model.incremental?.replaceBy;
  return replaceBy && !declared.some((i) => !i.where && i.columns.length === 1 && i.columns[0] === replaceBy)
    ? [...declared, { name: `${table}_${replaceBy}`, columns: [replaceBy] }]
    : declared;
}

/** Whether the key's unique index serves the lookups of `index`: a plain index on the key's leading columns. */
function coveredByKey(index: { columns: readonly string[]; where?: string }, key: { columns: readonly string[] }): boolean {
  return !index.where && index.columns.length <= key.columns.length && index.columns.every((c, n) => key.columns[n] === c);
}

/**
 * After a build is published, drops the plain indexes a table's key index makes redundant: the
 * ones a warehouse built before keys were held by unique indexes has beside them (on the
 * `replaceBy` column, or on the key's columns), which every write still keeps up to date.
 * `DROP INDEX CONCURRENTLY`, one statement at a time outside the build's transaction: it
 * waits for the table's readers and writers to finish, and blocks neither; it waits 5 s at
 * most. A drop that fails or waits longer is logged and left for the next run; the build stays
 * published.
 */
async function dropRedundantIndexes(db: Kysely<Database>, models: readonly Model[], log: Logger | undefined): Promise<void> {
  const candidates: { table: string; key: string; redundant: string[] }[] = [];
  for (const model of models) {
    const key = uniqueIndex(model);
    if (!key) continue;
    const redundant = [key.plain, ...wantedIndexes(model).filter((i) => coveredByKey(i, key)).map((i) => i.name)];
    candidates.push({ table: model.name, key: key.name, redundant });
  }
  if (candidates.length === 0) return;
  const found = await sql<{ schema: string; name: string }>`
    select i.schemaname as schema, i.indexname as name
      from pg_indexes i
      join jsonb_to_recordset(${JSON.stringify(candidates)}::jsonb) as c("table" text, key text, redundant text[])
        on i.schemaname || '.' || i.tablename = c."table" and i.indexname = any(c.redundant)
     where exists (select 1 from pg_indexes k where k.schemaname = i.schemaname and k.tablename = i.tablename and k.indexname = c.key)`.execute(db);
  if (found.rows.length === 0) return;
  await db.connection().execute(async (c) => {
    // A reader's long query would hold the run up: after a few seconds, the next run tries again.
    await sql`set lock_timeout = '5s'`.execute(c);
    for (const { schema, name } of found.rows) {
      try {
        await sql`drop index concurrently if exists ${sql.table(`${schema}.${name}`)}`.execute(c);
        log?.info({ index: `${schema}.${name}` }, 'dropped an index the key index makes redundant');
      } catch (error) {
        log?.warn({ index: `${schema}.${name}`, err: errorMessage(error) }, 'could not drop an index the key index makes redundant; the next run tries again');
      }
    }
    await sql`reset lock_timeout`.execute(c);
  });
}

function isPartialIndex(index: readonly string[] | PartialIndex): index is PartialIndex {
  return !Array.isArray(index);
}

/**
 * The unique index that holds a model's key (`<table>_<columns>_key`), and the plain index on
 * the same columns that stands in for it while the key repeats; null for a model without a key.
 * The index is the key check: building it finds a repeated key as the check's grouping did, and
 * it serves the lookups by the key's leading columns (an incremental model's `replaceBy`).
 */
function uniqueIndex(model: Model): { name: string; plain: string; columns: readonly string[] } | null {
  if (!model.uniqueKey?.length) return null;
  const { table } = splitName(model.name);
  const plain = `${table}_${model.uniqueKey.join('_')}`;
  return { name: `${plain}_key`, plain, columns: model.uniqueKey };
}

/** The plain index that stands in for the key's unique index while the key repeats. */
async function createPlainKeyIndex(db: Kysely<Database>, model: Model, key: { plain: string; columns: readonly string[] }): Promise<void> {
  await sql`create index if not exists ${sql.id(key.plain)} on ${sql.table(model.name)} (${sql.join(key.columns.map((c) => sql.id(c)))})`.execute(db);
}

/** A unique index refused a row (`23505 unique_violation`); with `index`, that index. */
function isRepeatedKey(error: unknown, index?: string): boolean {
  const e = error as { code?: unknown; constraint?: unknown } | null;
  return e?.code === '23505' && (index === undefined || e.constraint === index);
}

/**
 * Writes rows into a model's published table (`write`) where its unique index may refuse a
 * repeated key. Then the index gives way to the plain one (the key check needs the rows to name
 * the copies, and the build fails on it, as it did before the index held the key) and the rows
 * are written again. Dropping the index locks the table's readers out, until the failed build
 * rolls back.
 */
async function writeUnderKey<T>(db: Kysely<Database>, model: Model, write: () => Promise<T>): Promise<T> {
  const key = uniqueIndex(model);
  if (!key) return write();
  await sql`savepoint verite_key_write`.execute(db);
  try {
    const result = await write();
    await sql`release savepoint verite_key_write`.execute(db);
    return result;
  } catch (error) {
    if (!isRepeatedKey(error, key.name)) throw error;
    await sql`rollback to savepoint verite_key_write`.execute(db);
    const { schema } = splitName(model.name);
    await sql`drop index ${sql.table(`${schema}.${key.name}`)}`.execute(db);
    await createPlainKeyIndex(db, model, key);
    return write();
  }
}

/** The model's table has its unique index (so the key check needs no query). */
async function keyHeldByIndex(db: Kysely<Database>, model: Model): Promise<boolean> {
  const key = uniqueIndex(model);
  if (!key) return false;
  const { schema } = splitName(model.name);
  const res = await sql<{ held: boolean }>`
    select exists (select 1 from pg_index i join pg_class c on c.oid = i.indexrelid
                    where c.relname = ${key.name} and c.relnamespace = ${schema}::regnamespace and i.indisunique and i.indisvalid) as held`.execute(db);
  return res.rows[0]!.held;
}

/**
 * Makes a published table hold exactly the rows of `building`, of the same columns, writing only
 * the rows that differ: those whose key (`uniqueKey`) is on one side only, or whose row is not
 * the same value byte for byte (`*=`, the comparison `REFRESH MATERIALIZED VIEW CONCURRENTLY`
 * makes: `1.0` and `1.00` differ, as they would read; comparing the rows as text was as exact and
 * three times slower, 7.4 s against 2.2 s for the payments at a million). A row matched on its key
 * has the key's first column non-null on both sides. Not TRUNCATE: it is not MVCC-safe
 * and locks readers out until the commit. Deleting and inserting every row wrote each index again
 * and left as many dead rows: 6–34 s a large table at a million orders in a full rebuild, where a
 * weekly one changes a few percent of the rows. When the row counts still differ afterwards (a
 * key null or repeated, which the key checks then report), every row is replaced. Returns the
 * table's rows.
 */
async function refill(db: Kysely<Database>, model: Model, building: string): Promise<number> {
  const keys = model.uniqueKey ?? [];
  const counts = async () =>
    (await sql<{ published: number; built: number }>`select (select count(*) from ${sql.table(model.name)})::int as published, (select count(*) from ${sql.table(building)})::int as built`.execute(db)).rows[0]!;
  if (keys.length) {
    const changed = sql.table('pg_temp.verite_refill_keys');
    const key = (alias: string) => sql.join(keys.map((k) => sql.ref(`${alias}.${k}`)));
    await sql`drop table if exists ${changed}`.execute(db);
    await sql`create temp table ${changed} on commit drop as
      select ${sql.join(keys.map((k) => sql`coalesce(${sql.ref(`o.${k}`)}, ${sql.ref(`n.${k}`)}) as ${sql.id(k)}`))}
        from ${sql.table(model.name)} o full join ${sql.table(building)} n on ${sql.join(keys.map((k) => sql`${sql.ref(`o.${k}`)} = ${sql.ref(`n.${k}`)}`), sql` and `)}
       where ${sql.ref(`o.${keys[0]}`)} is null or ${sql.ref(`n.${keys[0]}`)} is null or not (o *= n)`.execute(db);
    await sql`delete from ${sql.table(model.name)} o where (${key('o')}) in (select ${key('c')} from ${changed} c)`.execute(db);
    await sql`insert into ${sql.table(model.name)} select * from ${sql.table(building)} n where (${key('n')}) in (select ${key('c')} from ${changed} c)`.execute(db);
    await sql`drop table ${changed}`.execute(db);
    const { published, built } = await counts();
    if (published === built) return built;
  }
  await sql`delete from ${sql.table(model.name)}`.execute(db);
  const inserted = await sql`insert into ${sql.table(model.name)} select * from ${sql.table(building)}`.execute(db);
  return Number(inserted.numAffectedRows ?? 0);
}

function compileCheck(db: Kysely<Database>, check: DataCheck, ctx: TransformContext): CompiledQuery {
  const query = check.failing(db, ctx);
  return 'isRawBuilder' in query ? query.compile(db) : query.compile();
}

function setAsideChecks(model: Model): SetAsideCheck[] {
  return (model.checks ?? []).filter((c): c is SetAsideCheck => c.severity === 'set-aside');
}

/** Where the set-aside rows of the models about to be built keep their `since` meanwhile. */
const SET_ASIDE_BEFORE = 'verite_set_aside_before';

/**
 * Keeps when each record was first set aside (each build of a model says again what it sets
 * aside, clearing what its previous build said: {@link clearSetAside}) and clears the rows of
 * models that no longer exist (`known` are the models there are). In the build's transaction:
 * a build that fails leaves `ops.set_aside` as it was, describing the build readers still see.
 */
async function startSetAside(db: Kysely<Database>, known: string[]): Promise<void> {
  await sql`create temp table ${sql.id(SET_ASIDE_BEFORE)} on commit drop as
    select model, check_name, source, stream, key, since from ops.set_aside where model = any(${known}::text[])`.execute(db);
  await sql`delete from ops.set_aside where not (model = any(${known}::text[]))`.execute(db);
}

/** Clears what the previous build of a model set aside: all of it, or the keys of `values` (a table of `value`). */
async function clearSetAside(db: Kysely<Database>, model: string, values?: string): Promise<void> {
  if (values) await sql`delete from ops.set_aside where model = ${model} and key in (select value from ${sql.table(values)})`.execute(db);
  else await sql`delete from ops.set_aside where model = ${model}`.execute(db);
}

/** Logs what a model set aside, and returns it for the result. */
async function recordSetAside(results: SetAsideResult[], log?: Logger): Promise<SetAsideResult[]> {
  for (const r of results) {
    log?.warn({ model: r.model, check: r.check, source: r.source, stream: r.stream, records: r.count, first: r.sample[0] }, 'records set aside');
  }
  return results;
}

/**
 * Runs one set-aside check on a model just built: records the rows `found` returns in
 * `ops.set_aside` and deletes the rows of `table` (the model's, or the rows an incremental build
 * is about to insert) that hold those records' keys.
 */
async function setRecordsAside(
  db: Kysely<Database>,
  model: Model,
  check: SetAsideCheck,
  _ctx: TransformContext,
  found: RawBuilder<unknown>,
  table: string,
): Promise<{ count: number; removed: number; result: SetAsideResult }> {
  // The records found first, in a statement of their own: a query that writes (the INSERT
  // below) runs in one process, and the check reads every record of a raw table.
  // That statement asks for no order: one that did (to keep a reason per key) was planned as a
  // walk of the raw table's key index, a random read per record. The few found are put in
  // order afterwards.
  const foundTable = 'pg_temp.verite_set_aside_found';
  await sql`drop table if exists ${sql.table(foundTable)}`.execute(db);
  await sql`create temp table ${sql.table(foundTable)} on commit drop as
    select x.key::text as key, x.reason::text as reason from (${found}) x where x.key is not null`.execute(db);
  const res = await sql<{ n: number; sample: { key: string; reason: string }[] | null }>`
    with found as (select distinct on (key) key, reason from ${sql.table(foundTable)} order by key, reason collate "C"),
    stored as (
      insert into ops.set_aside (model, check_name, source, stream, key, reason, since, set_aside_at)
      select ${model.name}, ${check.name}, ${check.source}, ${check.stream}, f.key, coalesce(f.reason, ${check.name}), coalesce(b.since, now()), now()
        from found f
        left join ${sql.table(SET_ASIDE_BEFORE)} b
          on b.model = ${model.name} and b.check_name = ${check.name} and b.source = ${check.source} and b.stream = ${check.stream} and b.key = f.key
      -- A build committed meanwhile (a transform run alongside) wrote the same record: this one's word stands.
      on conflict (model, check_name, source, stream, key) do update set reason = excluded.reason, set_aside_at = excluded.set_aside_at
      returning key, reason)
    select count(*)::int as n,
           (select jsonb_agg(jsonb_build_object('key', s.key, 'reason', s.reason) order by s.key)
              from (select key, reason from stored order by key limit ${sql.lit(NAMED_PER_CHECK)}) s) as sample
      from stored`.execute(db);
  await sql`drop table ${sql.table(foundTable)}`.execute(db);
  const count = res.rows[0]?.n ?? 0;
  let removed = 0;
  if (count > 0) {
    const deleted = await sql`delete from ${sql.table(table)} t
      where t.${sql.ref(check.keyColumn)}::text in (
        select key from ops.set_aside where model = ${model.name} and check_name = ${check.name} and source = ${check.source} and stream = ${check.stream})`.execute(db);
    removed = Number(deleted.numAffectedRows ?? 0n);
  }
  return { count, removed, result: { model: model.name, check: check.name, source: check.source, stream: check.stream, count, sample: res.rows[0]?.sample ?? [] } };
}

/**
 * Runs a set-aside check whose query reads `tables` in place of the tables it names (the rows
 * just built, the scoped inputs), and takes the records it finds out of `table`.
 */
async function runCheckReading(
  db: Kysely<Database>,
  model: Model,
  check: SetAsideCheck,
  ctx: TransformContext,
  tables: ReadonlyMap<string, string>,
  table: string,
  n: number,
): Promise<{ count: number; removed: number; result: SetAsideResult }> {
  const checked = `pg_temp.verite_found_${n}`;
  await executeReading(db, `create temp table ${checked} on commit drop as`, compile(db, check.failing(db, ctx)), tables);
  const outcome = await setRecordsAside(db, model, check, ctx, sql`select * from ${sql.table(checked)}`, table);
  await sql`drop table ${sql.table(checked)}`.execute(db);
  return outcome;
}

/** A folded check's column leaves the rows built once the check has read it (`rawRecordsCheck`). */
async function dropFoldedColumn(db: Kysely<Database>, model: Model, table: string): Promise<void> {
  if (!setAsideChecks(model).some((c) => c.folded)) return;
  await sql`alter table ${sql.table(table)} drop column ${sql.id(FOLDED_COLUMN)}`.execute(db);
}

/** A model whose check is folded into it must select the check's column: said plainly, not as a missing column. */
async function requireFoldedColumn(db: Kysely<Database>, model: Model, table: string): Promise<void> {
  const folded = setAsideChecks(model).find((c) => c.folded);
  if (!folded) return;
  const found = await sql`select 1 from pg_attribute where attrelid = to_regclass(${table}) and attname = ${FOLDED_COLUMN} and not attisdropped`.execute(db);
  if (found.rows.length === 0) {
    throw new Error(`${model.name}: its check "${folded.name}" of ${folded.source} ${folded.stream} is folded into it, but its query does not select ${FOLDED_COLUMN} (select foldedProblem(check, ctx))`);
  }
}

/** The warning lines of one set-aside check: its first records by key, then how many more. */
/** Whether a run's warning is one of {@link setAsideWarnings}' (records set aside), not another step's (a cost missing, a stream read in part). */
export function isSetAsideWarning(warning: string): boolean {
  return /^(\S+\.\S+ .+ set aside: |… and \d+ more \S+ records set aside by )/.test(warning);
}

function setAsideWarnings(s: SetAsideResult): string[] {
  const lines = s.sample.map((r) => `${s.source}.${s.stream} ${r.key} set aside: ${r.reason}`);
  if (s.count > s.sample.length) lines.push(`… and ${s.count - s.sample.length} more ${s.source}.${s.stream} records set aside by ${s.model} (verite quarantine list)`);
  return lines;
}

/** A key check of an incremental build: it reads the whole table (for the rows just inserted), never the inserted rows alone. */
type KeyCheck = StopCheck & { whole?: boolean; heldByIndex?: boolean };

/**
 * The model's stop checks plus unique and not-null key checks from `uniqueKey`. With `inserted`
 * (an incremental build's temporary table of the rows it inserted), the key checks look only at
 * those rows' keys: the other rows were unique before and are unchanged.
 */
function modelChecks(model: Model, inserted?: string): (KeyCheck | WarnCheck)[] {
  const out: (KeyCheck | WarnCheck)[] = [];
  if (model.uniqueKey?.length) {
    const cols = model.uniqueKey.map((c) => sql.ref(c));
    const only = inserted ? sql`where (${sql.join(cols)}) in (select ${sql.join(cols)} from ${sql.table(inserted)})` : sql``;
    out.push({
      name: `unique (${model.uniqueKey.join(', ')})`,
      whole: true,
      // Answered by the model's unique index where it holds (uniqueIndex); this query finds the copies where it could not.
      heldByIndex: true,
      // The grouping is planned without the LIMIT (a materialized CTE): with it, PostgreSQL reads
      // the key's index in order and visits the heap for every row, 10 times slower at a million rows.
      failing: () =>
        sql`with copies as materialized (select ${sql.join(cols)}, count(*)::int as copies from ${sql.table(model.name)} ${only} group by ${sql.join(cols)} having count(*) > 1)
          select * from copies limit 5`,
    });
    out.push({
      name: `not null (${model.uniqueKey.join(', ')})`,
      failing: () => sql`select * from ${sql.table(model.name)} where ${sql.join(cols.map((c) => sql`${c} is null`), sql` or `)} limit 5`,
    });
  }
  out.push(...(model.checks ?? []).filter((c): c is StopCheck | WarnCheck => c.severity !== 'set-aside'));
  return out;
}

/** Each model's last build (`ops.model_builds`). */
async function previousBuilds(db: Kysely<Database>): Promise<Map<string, PreviousBuild>> {
  const rows = await sql<{ model: string; through: string; signature: string; last_full_at: Date; rebuild_in_full: boolean }>`
    select model, through_change_id::text as through, signature, last_full_at, rebuild_in_full from ops.model_builds`.execute(db);
  return new Map(rows.rows.map((r) => [r.model, { through: r.through, signature: r.signature, lastFullAt: new Date(r.last_full_at), rebuildInFull: r.rebuild_in_full }]));
}

interface ModeInputs {
  before: PreviousBuild | undefined;
  /** Every model's last build, as the build found them. */
  previous: ReadonlyMap<string, PreviousBuild>;
  signature: string;
  /** `--full`, or a selection of models (built as they are asked, in full). */
  full: boolean;
  deltas: ReadonlyMap<string, ModelDelta>;
  ctx: TransformContext;
  config: VeriteConfig;
  found: FoundBefore;
  streamsChangedSince: (after: string) => Promise<Set<string>>;
}

/** How a model is brought up to date in this build ({@link BuildMode}). */
async function chooseMode(db: Kysely<Database>, model: Model, inputs: ModeInputs): Promise<BuildMode> {
  const { before } = inputs;
  if (inputs.full || !before || before.rebuildInFull || before.signature !== inputs.signature) return 'full';
  // A model it reads was last built through later changes than it was: a `--select` of a release
  // before the mark above (migration 0031) moved that model on alone, and the changes in between
  // never reached this one. Every build records one watermark for all the models it builds.
  const readsLaterBuild = (d: string) => BigInt(inputs.previous.get(d)?.through ?? before.through) > BigInt(before.through);
  if (model.dependsOn.some(readsLaterBuild)) return 'full';
  if (!inputs.found.tables.has(model.name)) return 'full';
  const every = inputs.config.transform?.fullRebuildEveryDays ?? 7;
  if (inputs.ctx.now.getTime() - before.lastFullAt.getTime() >= every * 86_400_000) return 'full';
  if (model.dependsOn.some((d) => inputs.deltas.get(d)?.mode === 'full')) return 'full';
  const changed =
    model.dependsOn.some((d) => (inputs.deltas.get(d)?.rows ?? 0) > 0) ||
    rawInputsChanged(model, await inputs.streamsChangedSince(before.through)) ||
    readsTheClock(db, model, inputs.ctx) ||
    // A record set aside is checked again every build (a date no longer in the future).
    inputs.found.setAside.has(model.name);
  if (!changed) return 'skip';
  return model.incremental ? 'incremental' : 'diff';
}

/** What the build finds before it starts, read once: which model tables exist, which models have records set aside. */
interface FoundBefore {
  tables: ReadonlySet<string>;
  setAside: ReadonlySet<string>;
}

async function foundBefore(db: Kysely<Database>, models: string[]): Promise<FoundBefore> {
  const tables = await sql<{ model: string }>`select m as model from unnest(${models}::text[]) m where to_regclass(m) is not null`.execute(db);
  const setAside = await sql<{ model: string }>`select distinct model from ops.set_aside`.execute(db);
  return { tables: new Set(tables.rows.map((r) => r.model)), setAside: new Set(setAside.rows.map((r) => r.model)) };
}

/**
 * The rows of a model rebuilt in full that differ from those kept aside before (`kept`): the
 * old ones that are gone or changed, and the new ones, as temporary tables for the models that read it.
 */
async function compareWithBefore(db: Kysely<Database>, model: string, kept: string, n: number): Promise<ModelDelta> {
  const before = `pg_temp.verite_old_${n}`;
  const after = `pg_temp.verite_new_${n}`;
  await sql`create temp table ${sql.table(before)} on commit drop as select * from ${sql.table(kept)} except all select * from ${sql.table(model)}`.execute(db);
  await sql`create temp table ${sql.table(after)} on commit drop as select * from ${sql.table(model)} except all select * from ${sql.table(kept)}`.execute(db);
  await sql`drop table ${sql.table(kept)}`.execute(db);
  await sql`analyze ${sql.table(before)}`.execute(db);
  await sql`analyze ${sql.table(after)}`.execute(db);
  const changed = `pg_temp.verite_changed_${n}`;
  await keepChangedRows(db, before, after, changed);
  return { mode: 'diff', before, after, changed, rows: await countRows(db, before) + (await countRows(db, after)) };
}

async function countRows(db: Kysely<Database>, table: string): Promise<number> {
  const res = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(db);
  return res.rows[0]?.n ?? 0;
}

/**
 * Brings a model up to date from its changes ({@link IncrementalBuild}): the values to rebuild
 * (its changes, and the records it set aside, checked again), each scoped table read as its rows
 * holding them, the model's query run over those into a temporary table, its set-aside checks
 * run on that, and then, in place, the table's rows holding the values deleted (kept as the
 * rows "before") and the new ones inserted.
 */
async function buildIncrementally(
  db: Kysely<Database>,
  model: Model,
  ctx: TransformContext,
  changes: ChangeSets,
  n: number,
  compiling: (sql: string) => void,
  log?: Logger,
): Promise<{ inserted: number; delta: ModelDelta; setAside: SetAsideResult[] }> {
  const incremental = model.incremental!;
  // Each step's time, in the debug log: what a slow incremental build spends its time on.
  let last = Date.now();
  const step = (name: string) => {
    const now = Date.now();
    log?.debug({ model: model.name, step: name, ms: now - last }, 'incremental build step');
    last = now;
  };
  const values = `pg_temp.verite_values_${n}`;
  const changed = incremental.changed(changes, ctx);
  compiling(changed.compile(db).sql);
  await sql`create temp table ${sql.table(values)} on commit drop as
    select distinct value::text as value from (${changed}) c where value is not null
    union
    select key from ops.set_aside where model = ${model.name}`.execute(db);
  await sql`analyze ${sql.table(values)}`.execute(db);
  step('values to rebuild');
  const tables = new Map<string, string>();
  let i = 0;
  for (const [table, column] of Object.entries(incremental.scope)) {
    const scoped = `pg_temp.verite_scope_${n}_${i++}`;
    await sql`create temp table ${sql.table(scoped)} on commit drop as
      select * from ${sql.table(table)} where ${sql.ref(column)} in (select value from ${sql.table(values)})`.execute(db);
    await sql`analyze ${sql.table(scoped)}`.execute(db);
    tables.set(table, scoped);
  }
  step('scoped inputs');
  const after = `pg_temp.verite_new_${n}`;
  const query = compile(db, model.build(db, ctx));
  compiling(readFrom(query.sql, tables));
  await executeReading(db, `create temp table ${after} on commit drop as`, query, tables);
  step('query');
  await requireFoldedColumn(db, model, after);
  await clearSetAside(db, model.name, values);
  const setAside: SetAsideResult[] = [];
  for (const check of setAsideChecks(model)) {
    compiling(readFrom(compile(db, check.failing(db, ctx)).sql, tables));
    // The check reads the rows just built (and the scoped inputs), not the published table.
    const outcome = await runCheckReading(db, model, check, ctx, new Map([...tables, [model.name, after]]), after, n);
    if (outcome.count > 0) setAside.push(outcome.result);
  }
  await dropFoldedColumn(db, model, after);
  step('set-aside checks');
  const before = `pg_temp.verite_old_${n}`;
  await sql`create temp table ${sql.table(before)} on commit drop as select * from ${sql.table(model.name)} where false`.execute(db);
  const by = sql.ref(incremental.replaceBy);
  await sql`with gone as (delete from ${sql.table(model.name)} where ${by} in (select value from ${sql.table(values)}) returning *)
    insert into ${sql.table(before)} select * from gone`.execute(db);
  const inserted = await writeUnderKey(db, model, () => sql`insert into ${sql.table(model.name)} select * from ${sql.table(after)}`.execute(db));
  const count = Number(inserted.numAffectedRows ?? 0n);
  await createIndexes(db, model);
  // Both analyzed: the models reading them choose index lookups for a few rows, not a scan of a whole table.
  await sql`analyze ${sql.table(after)}`.execute(db);
  await sql`analyze ${sql.table(before)}`.execute(db);
  const changedRows = `pg_temp.verite_changed_${n}`;
  await keepChangedRows(db, before, after, changedRows);
  step('replace');
  return { inserted: count, delta: { mode: 'incremental', before, after, changed: changedRows, rows: count + (await countRows(db, before)) }, setAside };
}

/**
 * Moves each built model's watermark to `through` (and its signature, and when it was last
 * built in full), marks the models of `behind` (not selected, reading a selected model) to be
 * rebuilt in full by the next build, then deletes the changes every model has consumed. In the
 * build's transaction: a failed build leaves them where they were, and the next one reads them again.
 */
async function recordBuilds(
  db: Kysely<Database>,
  results: readonly ModelResult[],
  deltas: ReadonlyMap<string, ModelDelta>,
  signatures: ReadonlyMap<string, string>,
  through: string,
  now: Date,
  known: string[],
  behind: string[],
): Promise<void> {
  for (const r of results) {
    const delta = deltas.get(r.model);
    const signature = signatures.get(r.model);
    if (r.status !== 'succeeded' || !delta || !signature) continue;
    const full = delta.mode === 'full' || delta.mode === 'diff';
    await sql`insert into ops.model_builds (model, through_change_id, signature, built_at, last_full_at, rebuild_in_full)
      values (${r.model}, ${through}::bigint, ${signature}, ${now}, ${now}, false)
      on conflict (model) do update set through_change_id = excluded.through_change_id, signature = excluded.signature,
        built_at = excluded.built_at, last_full_at = ${full ? sql`excluded.last_full_at` : sql`ops.model_builds.last_full_at`},
        rebuild_in_full = false`.execute(db);
  }
  // A model with no watermark yet is rebuilt in full anyway.
  if (behind.length) await sql`update ops.model_builds set rebuild_in_full = true where model = any(${behind}::text[])`.execute(db);
  // A transform model that no longer exists has no watermark (the metric tables keep theirs here too).
  await sql`delete from ops.model_builds where (model like 'staging.%' or model like 'core.%') and not (model = any(${known}::text[]))`.execute(db);
  const consumed = await sql<{ upto: string }>`
    select (case when count(*) = ${known.length} then min(through_change_id) else 0 end)::text as upto
      from ops.model_builds where model = any(${known}::text[])`.execute(db);
  const upto = consumed.rows[0]?.upto ?? '0';
  if (upto === '0') return;
  // Every change consumed and none newer (a first build after a large load: millions of rows):
  // emptied at once. Locked first, so no change can be recorded between the check and the emptying.
  await sql`lock table ops.raw_changes in exclusive mode`.execute(db);
  const newest = await sql<{ newest: string }>`select coalesce(max(change_id), 0)::text as newest from ops.raw_changes`.execute(db);
  if (newest.rows[0]?.newest === upto) await sql`truncate ops.raw_changes`.execute(db);
  else await sql`delete from ops.raw_changes where change_id <= ${upto}::bigint`.execute(db);
}

/** Runs every model against the warehouse, logging a line per failure. */
export async function runTransforms(warehouse: Warehouse, config: VeriteConfig, options: Omit<RunTransformsOptions, 'models'> & { models?: readonly Model[] }): Promise<TransformResult> {
  const { models } = await import('./models.ts');
  return runModels(warehouse.db, config, { ...options, models: options.models ?? models });
}

/**
 * The core models whose table was not built by this version of their query and these settings
 * (reporting time zone and currency, channel rules, Meta purchase type): their signature in
 * `ops.model_builds` differs from the one a build would record now, or none is recorded. A
 * metrics refresh alone must not read them: it would build metrics on tables of another shape or
 * other conventions (`verite metrics refresh` says to run the transform first). Models whose
 * table does not exist are not named here (the refresh names those itself).
 */
export async function staleCoreModels(warehouse: Pick<Warehouse, 'db'>, config: VeriteConfig, options: { models?: readonly Model[] } = {}): Promise<string[]> {
  const models = options.models ?? (await import('./models.ts')).models;
  const ctx = transformContext(config);
  const builds = await previousBuilds(warehouse.db);
  const core = models.filter((m) => m.name.startsWith('core.'));
  const { tables } = await foundBefore(warehouse.db, core.map((m) => m.name));
  return core.filter((m) => tables.has(m.name) && builds.get(m.name)?.signature !== modelSignature(warehouse.db, m, ctx)).map((m) => m.name);
}
