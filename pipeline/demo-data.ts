import type { Warehouse } from '../warehouse/connection.ts';

/**
 * Why a real shop's data must not land in this warehouse, or null when it may: it holds the
 * demo shop's data (a `demo` run in `ops.runs`), landed before the demo got a warehouse of its
 * own, or by pointing the real warehouse at the demo's. A real shop's orders would be counted
 * with the demo's in every metric. The sentence says how to start clean.
 */
export async function demoDataProblem(warehouse: Pick<Warehouse, 'db' | 'embedded' | 'describe'>): Promise<string | null> {
  const demo = await warehouse.db
    .selectFrom('ops.runs')
    .select(['id', 'started_at'])
    .where('kind', '=', 'demo')
    .where('status', '<>', 'skipped')
    .orderBy('started_at', 'desc')
    .executeTakeFirst();
  if (!demo) return null;
  const clean = warehouse.embedded
    ? `stop every verite command using it, then delete the folder ${warehouse.embedded.dataDir} (the next command starts an empty warehouse there)`
    : 'point DATABASE_URL at a new, empty database (or drop and create this one again)';
  return (
    `this warehouse (${warehouse.describe}) holds the demo shop's data (demo run ${demo.id} of ${demo.started_at.toISOString().slice(0, 10)}): ` +
    `a real shop's data landed here would be counted with the demo's in every metric, so nothing was changed. ` +
    `The demo has a warehouse of its own now (verite run --demo; verite --demo query …). To start clean, ${clean}`
  );
}
