import { readSecret } from '../config/load.ts';
import type { ReportEntry, VeriteConfig } from '../config/schema.ts';
import { registerSecret } from '../lib/logger.ts';
import type { WebhookFormat } from '../lib/webhook-flavour.ts';

/**
 * A URL that carries a token (a chat webhook, a monitor's ping URL), as the config sets it: the
 * variable holding it (`…Env`, preferred), the URL itself, or a default variable read when the
 * config names neither (docker-compose.yml passes those).
 */
export interface SecretUrlSetting {
  /** The config key of the URL itself (`alerts.webhookUrl`); its variable's key adds `Env`. */
  key: string;
  url?: string;
  env?: string;
  defaultEnv?: string;
  /** A chat webhook's format (`webhookFormat`): what its body is, when its host does not tell it. */
  format?: WebhookFormat;
}

export const alertWebhookSetting = (config: Pick<VeriteConfig, 'alerts'>): SecretUrlSetting => ({
  key: 'alerts.webhookUrl', url: config.alerts.webhookUrl, env: config.alerts.webhookUrlEnv, defaultEnv: 'VERITE_ALERT_WEBHOOK_URL', format: config.alerts.webhookFormat,
});

export const heartbeatSetting = (config: Pick<VeriteConfig, 'alerts'>): SecretUrlSetting => ({
  key: 'alerts.heartbeatUrl', url: config.alerts.heartbeatUrl, env: config.alerts.heartbeatUrlEnv, defaultEnv: 'VERITE_HEARTBEAT_URL',
});

/** A report's webhook; `label` names the report in messages (`reports[0] (weekly)`). */
export const reportWebhookSetting = (to: ReportEntry['to'], label = 'reports.to'): SecretUrlSetting => ({ key: `${label}.webhook`, url: to.webhook, env: to.webhookEnv, format: to.webhookFormat });

/** Whether a report entry sends a message anywhere (a webhook or e-mail), beyond writing its page. */
export const sendsMessages = (to: ReportEntry['to']): boolean => Boolean(to.webhook || to.webhookEnv || to.email);

/** The variable the URL is read from: the configured one, else the default one when it is set and no URL is given. */
export function secretUrlEnv(setting: SecretUrlSetting, env: NodeJS.ProcessEnv): string | undefined {
  return setting.env ?? (!setting.url && setting.defaultEnv && env[setting.defaultEnv] ? setting.defaultEnv : undefined);
}

/** Whether the config (or the default variable) gives the URL. */
export function hasSecretUrl(setting: SecretUrlSetting, env: NodeJS.ProcessEnv): boolean {
  return Boolean(setting.url) || secretUrlEnv(setting, env) !== undefined;
}

/** The URL, registered for redaction, or null when none is set; throws when its variable is not set or unreadable. */
export function secretUrl(setting: SecretUrlSetting, env: NodeJS.ProcessEnv = process.env): string | null {
  const variable = secretUrlEnv(setting, env);
  if (variable) return readSecret(variable, `${setting.key}Env`, env);
  if (setting.url) registerSecret(setting.url);
  return setting.url ?? null;
}
