/**
 * A `verite schedule` process for tests: the real scheduler and SIGTERM handling, with the fake
 * source standing in for the configured ones (a child process cannot see sources registered by
 * the test). Environment: DATABASE_URL, VERITE_CONFIG, FAKE_DELAY_MS, and FAKE_BARRIER: a file
 * whose existence every page waits for (the test creates it to let the runs go on).
 */
import { existsSync } from 'node:fs';
import { interruptSignal } from '../../cli/context.ts';
import { sleep } from '../../lib/http.ts';
import { loadConfig } from '../../config/load.ts';
import { logger } from '../../lib/logger.ts';
import { startScheduler } from '../../scheduler/scheduler.ts';
import { openWarehouse } from '../../warehouse/connection.ts';
import { fakeSource } from './fake-source.ts';

const log = logger();
const { config } = await loadConfig();
const warehouse = await openWarehouse({ log, migrate: false });
const barrier = process.env.FAKE_BARRIER;
const beforePage = barrier
  ? async (signal: AbortSignal) => {
      while (!existsSync(barrier) && !signal.aborted) await sleep(20, signal).catch(() => undefined);
    }
  : undefined;
const source = fakeSource({ delayMs: Number(process.env.FAKE_DELAY_MS ?? 400), pages: 3, streams: ['ticks'], beforePage });
const { signal, dispose } = interruptSignal(log);
const scheduler = startScheduler({ warehouse, config, log, resolve: () => [{ source, config: {} }], steps: [] });
await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
await scheduler.stop('stopped by a signal');
await warehouse.close();
dispose();
log.info({ firings: scheduler.firings }, 'scheduler stopped');
