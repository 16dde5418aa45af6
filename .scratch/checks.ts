import { configSchema } from '../config/schema.ts';
import { openWarehouse } from '../warehouse/connection.ts';
import { models } from '../transforms/models.ts';
import { transformContext } from '../transforms/runner.ts';
const dir = process.argv[2]!;
const wh = await openWarehouse({ cwd: dir, dataDir: dir });
const ctx = transformContext(configSchema.parse({ sources: { demo: {} } }), new Date('2026-01-03T06:00:00Z'));
for (const m of models) for (const c of m.checks ?? []) {
  if (c.severity !== 'warn') continue;
  const q = c.failing(wh.db, ctx) as any;
  const compiled = 'isRawBuilder' in q ? q.compile(wh.db) : q.compile();
  const t = Date.now();
  await wh.pool.query(compiled.sql, [...compiled.parameters]);
  console.log(m.name, c.name, Date.now() - t, 'ms');
}
await wh.close();
