import type { VeriteConfig } from '../config/schema.ts';
import { errorMessage } from '../lib/errors.ts';
import { httpRequest } from '../lib/http.ts';
import type { Logger } from '../lib/logger.ts';
import { heartbeatSetting, secretUrl } from './secret-url.ts';

/**
 * The heartbeat: a GET to a monitor's ping URL (healthchecks.io, Cronitor, Better Stack, Uptime
 * Kuma's push monitors) after each run of every source that succeeded. The monitor alerts when
 * the ping does not come in its own grace time, which is the one failure verite's alert rules
 * cannot report: a scheduler that is not running at all (a stopped container, a full disk at
 * boot, a crontab line lost). A failed run sends nothing; the rules say why it failed.
 */

/** Pings the heartbeat, if one is set; a ping that fails is logged, never a run's failure. */
export async function pingHeartbeat(options: { config: Pick<VeriteConfig, 'alerts'>; log: Logger; env?: NodeJS.ProcessEnv; signal?: AbortSignal }): Promise<boolean> {
  const { log } = options;
  let url: string | null;
  try {
    url = secretUrl(heartbeatSetting(options.config), options.env);
  } catch (error) {
    log.error({ err: errorMessage(error) }, 'the heartbeat is not sent');
    return false;
  }
  if (!url) return false;
  try {
    // The URL is never named in errors or logs: `describe` stands for it.
    await httpRequest({ source: 'alerts', log, signal: options.signal, retry: { attempts: 3, timeoutMs: 10_000 } }, { url, describe: 'GET heartbeat' });
    log.info('heartbeat sent');
    return true;
  } catch (error) {
    log.warn({ err: errorMessage(error) }, 'the heartbeat could not be sent; the monitor will say the run is late');
    return false;
  }
}
