/**
 * A child process for the crash test: lands the fake order stream into DATABASE_URL through
 * the real pipeline, printing "requested N" when page N + 1 is asked for (pages 1 … N − 1 are
 * committed by then), so the parent can SIGKILL it at any moment.
 */
import { configSchema } from '../../config/schema.ts';
import { logger } from '../../lib/logger.ts';
import { runPipeline } from '../../pipeline/run.ts';
import { openWarehouse } from '../../warehouse/connection.ts';
import { fakeOrdersSource } from './fake-orders.ts';

const warehouse = await openWarehouse({ databaseUrl: process.env.DATABASE_URL, migrate: false });
const source = fakeOrdersSource((pages) => process.stdout.write(`requested ${pages}\n`));
const result = await runPipeline({
  warehouse,
  config: configSchema.parse({}),
  log: logger(),
  sources: [{ source, config: {} }],
  steps: [],
});
process.stdout.write(`done ${result.status}\n`);
await warehouse.close();
