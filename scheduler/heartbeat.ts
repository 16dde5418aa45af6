import { readSecret } from '../config/load.ts';
import type { VeriteConfig } from '../config/schema.ts';
import { errorMessage } from '../lib/errors.ts';
import { httpRequest } from '../lib/http.ts';
import { registerSecret, type Logger } from '../lib/logger.ts';

/**
 * The heartbeat: a GET to a monitor's ping URL (healthchecks.io, Cronitor, Better Stack, Uptime
 * Kuma's push monitors) after each run of every source that succeeded. The monitor alerts when
 * the ping does not come in its own grace time, which is the one failure verite's alert rules
 * cannot report: a scheduler that is not running at all (a stopped container, a full disk at
 * boot, a crontab line lost). A failed run sends nothing; the rules say why it failed.
 */

/** Where the heartbeat's URL is read when the config names no variable and no URL (docker-compose.yml passes it). */
export const DEFAULT_HEARTBEAT_URL_ENV = 'VERITE_HEARTBEAT_URL';

/** The variable the heartbeat's URL is read from: `heartbeatUrlEnv`, else `VERITE_HEARTBEAT_URL` when set and no URL is given. */
export function heartbeatUrlEnv(config: Pick<VeriteConfig, 'alerts'>, env: NodeJS.ProcessEnv): string | undefined {
  return config.alerts.heartbeatUrlEnv ?? (!config.alerts.heartbeatUrl && env[DEFAULT_HEARTBEAT_URL_ENV] ? DEFAULT_HEARTBEAT_URL_ENV : undefined);
}

/** The heartbeat's URL, a secret (it carries the monitor's token), or null when none is set. */
export function heartbeatUrl(config: Pick<VeriteConfig, 'alerts'>, env: NodeJS.ProcessEnv = process.env): string | null {
  const variable = heartbeatUrlEnv(config, env);
  if (variable) return readSecret(variable, 'alerts.heartbeatUrlEnv', env);
  const direct = config.alerts.heartbeatUrl;
  if (direct) registerSecret(direct);
  return direct ?? null;
}

/** Pings the heartbeat, if one is set; a ping that fails is logged, never a run's failure. */
export async function pingHeartbeat(options: { config: Pick<VeriteConfig, 'alerts'>; log: Logger; env?: NodeJS.ProcessEnv; signal?: AbortSignal }): Promise<boolean> {
  const { log } = options;
  let url: string | null;
  try {
    url = heartbeatUrl(options.config, options.env);
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
