/**
 * A child process for the crash test: lands the fake order stream into DATABASE_URL through
 * the real pipeline, printing "committed N" after each page, so the parent can SIGKILL it at
 * any moment.
 */
import { configSchema } from '../../config/schema.ts';
import { logger } from '../../lib/logger.ts';
import { runPipeline } from '../../pipeline/run.ts';
import { openWarehouse } from '../../warehouse/connection.ts';
import { fakeOrdersSource } from './fake-orders.ts';

const warehouse = await openWarehouse({ databaseUrl: process.env.DATABASE_URL, migrate: false });
const source = fakeOrdersSource((pages) => process.stdout.write(`committed ${pages}\n`));
const result = await runPipeline({
  warehouse,
  config: configSchema.parse({}),
  log: logger(),
  sources: [{ source, config: {} }],
  steps: [],
});
process.stdout.write(`done ${result.status}\n`);
await warehouse.close();
