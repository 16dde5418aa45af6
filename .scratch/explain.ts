import { sql } from 'kysely';
import { configSchema } from '../config/schema.ts';
import { openWarehouse } from '../warehouse/connection.ts';
import { models } from '../transforms/models.ts';
import { transformContext } from '../transforms/runner.ts';

const [dir, name] = process.argv.slice(2);
const wh = await openWarehouse({ cwd: dir!, dataDir: `${dir}` });
const config = configSchema.parse({ sources: { demo: {} } });
const ctx = transformContext(config, new Date('2026-01-02T06:00:00Z'));
const model = models.find((m) => m.name === name)!;
const db = wh.db;
await sql`set timezone = 'UTC'`.execute(db);
await sql`set work_mem = '256MB'`.execute(db);
const time = async (label: string, q: { sql: string; parameters: readonly unknown[] }) => {
  const t = Date.now();
  const res = await wh.pool.query(`explain (analyze, buffers) ${q.sql}`, [...q.parameters]);
  console.log(`== ${label}: ${Date.now() - t} ms`);
  console.log(res.rows.map((r) => r['QUERY PLAN']).slice(0, 40).join('\n'));
};
const t0 = Date.now();
await wh.pool.query(`select (_record->>'created_at')::date as date, count(*), sum((_record->>'total_price')::numeric) from raw.shopify__orders group by 1`);
console.log(`scan: ${Date.now() - t0} ms`);
await time('build', model.build(db, ctx).compile());
for (const check of model.checks ?? []) {
  const q = check.failing(db, ctx) as any;
  await time(`check ${check.name}`, 'isRawBuilder' in q ? q.compile(db) : q.compile());
}
await wh.close();
