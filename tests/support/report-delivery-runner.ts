/**
 * One scheduled report delivery in a process of its own, as `verite schedule` fires it
 * (scheduler/report-delivery.ts), for a test to kill in the middle. Environment: DATABASE_URL,
 * REPORT_CONFIG (the config as JSON; its first report is delivered) and REPORT_NOW (the firing's
 * time). The pause before the retry of a failed send never ends: the test kills the process in it.
 * Prints the result as JSON on stdout if it gets that far.
 */
import { configSchema } from '../../config/schema.ts';
import { logger } from '../../lib/logger.ts';
import { deliverReport } from '../../scheduler/report-delivery.ts';
import { openWarehouse } from '../../warehouse/connection.ts';

const log = logger();
const config = configSchema.parse(JSON.parse(process.env.REPORT_CONFIG!));
const warehouse = await openWarehouse({ log, migrate: false });
try {
  const result = await deliverReport({ warehouse, config, log, entry: config.reports[0]!, now: new Date(process.env.REPORT_NOW!), sleep: () => new Promise<void>(() => undefined) });
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await warehouse.close();
}
