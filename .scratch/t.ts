import { openWarehouse } from '../warehouse/connection.ts';
const [dir, ...queries] = process.argv.slice(2);
const wh = await openWarehouse({ cwd: dir!, dataDir: `${dir}` });
for (const q of queries) {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) { const t = Date.now(); await wh.pool.query(q); times.push(Date.now() - t); }
  console.log(times.sort((a, b) => a - b)[1], 'ms', q.slice(0, 150));
}
await wh.close();
