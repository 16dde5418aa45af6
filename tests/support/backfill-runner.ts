/**
 * A `verite backfill` process for tests: the real backfill runner on the fake source's `daily`
 * stream. Environment: DATABASE_URL, BACKFILL_FROM, BACKFILL_TO, BACKFILL_CHUNK_DAYS,
 * FAKE_DELAY_MS, FAKE_READ_LOG (a file receiving one line per window read).
 * Prints the result as JSON on stdout; exits 0 when the backfill succeeded.
 */
import { configSchema } from '../../config/schema.ts';
import { logger } from '../../lib/logger.ts';
import { runBackfill } from '../../pipeline/backfill.ts';
import { openWarehouse } from '../../warehouse/connection.ts';
import { fakeSource } from './fake-source.ts';

const env = process.env;
const log = logger();
const warehouse = await openWarehouse({ log, migrate: false });
const source = fakeSource({ delayMs: Number(env.FAKE_DELAY_MS ?? 0), readLog: env.FAKE_READ_LOG });
try {
  const result = await runBackfill({
    warehouse, config: configSchema.parse({ retries: { streamAttempts: 1, backoffSeconds: 0 } }), log,
    source: { source, config: {} }, stream: 'daily', from: env.BACKFILL_FROM!, to: env.BACKFILL_TO!, chunkDays: Number(env.BACKFILL_CHUNK_DAYS ?? 7), steps: [],
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = result.status === 'succeeded' ? 0 : 1;
} finally {
  await warehouse.close();
}
