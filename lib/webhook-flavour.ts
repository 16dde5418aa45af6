/**
 * What a chat webhook takes, told from its URL's host (docs/sources/webhooks.md): Slack and
 * anything Slack-compatible (Google Chat, Mattermost, Discord's `/slack` endpoint) take
 * `{"text": …}`; a Teams Workflows webhook takes a message with an Adaptive Card; a Discord
 * webhook takes `{"content": …}` of at most 2,000 characters. A Teams Office 365 connector
 * (`*.webhook.office.com`, `outlook.office.com/webhook`) was retired by Microsoft and takes
 * nothing any more. A shop whose webhook sits behind a proxy or on a domain of its own names the
 * format instead (`webhookFormat`).
 */

/** The format a webhook is sent in, as the config may name it; `auto` (the default) tells it from the host. */
export const WEBHOOK_FORMATS = ['auto', 'slack', 'teams', 'discord'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** What a webhook is: the format of its body, or a retired Office 365 connector that takes none. */
export type WebhookFlavour = 'slack' | 'teams' | 'discord' | 'retired-teams-connector';

/** When Microsoft's retirement of Office 365 connectors in Teams completed (its announcement's last update). */
export const CONNECTORS_RETIRED = '22 May 2026';

/** Why a retired Office 365 connector's URL is not posted to, and what to use instead. The URL is not quoted. */
export const RETIRED_CONNECTOR =
  `the webhook is a Microsoft Teams Office 365 connector (webhook.office.com), which Microsoft retired (its retirement completed on ${CONNECTORS_RETIRED}): ` +
  'a message posted there never reaches the channel; in Teams, create a Workflows webhook ("Post to a channel when a webhook request is received") and use its URL';

/** Discord's limit on a webhook message's `content`. */
export const DISCORD_CONTENT_LIMIT = 2000;

const TEAMS_WORKFLOW_HOSTS = ['logic.azure.com', 'environment.api.powerplatform.com'];
const DISCORD_HOSTS = ['discord.com', 'discordapp.com', 'ptb.discord.com', 'canary.discord.com', 'ptb.discordapp.com', 'canary.discordapp.com'];

const underDomain = (host: string, domain: string) => host === domain || host.endsWith(`.${domain}`);

/** Whether the URL is a Teams Office 365 connector's, which Microsoft retired (whatever format the config names). */
export function isRetiredTeamsConnector(url: URL): boolean {
  const host = url.hostname.toLowerCase();
  if (underDomain(host, 'webhook.office.com')) return true;
  return (host === 'outlook.office.com' || host === 'outlook.office365.com') && /^\/webhook(?:b2)?\//i.test(url.pathname);
}

/** The webhook's flavour: a retired connector always; else the configured format, or (`auto`) the one its host takes. */
export function webhookFlavour(url: string | URL, format: WebhookFormat = 'auto'): WebhookFlavour {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return format === 'auto' ? 'slack' : format;
  }
  if (isRetiredTeamsConnector(parsed)) return 'retired-teams-connector';
  if (format !== 'auto') return format;
  const host = parsed.hostname.toLowerCase();
  if (TEAMS_WORKFLOW_HOSTS.some((d) => host.endsWith(`.${d}`))) return 'teams';
  // Discord's `/slack` endpoint takes Slack's body.
  if (DISCORD_HOSTS.includes(host) && /^\/api\/(?:v\d+\/)?webhooks\//.test(parsed.pathname) && !/\/slack\/?$/.test(parsed.pathname)) return 'discord';
  return 'slack';
}

/** What a message is in words the places share: Slack's mrkdwn (`*bold*`, `:emoji:` shortcodes, bare links). */
export interface WebhookMessage {
  /** The message, one line per line. */
  text: string;
  /** A line of context shown after it (who sent it, about what). */
  context?: string;
  /** Slack's body when it is richer than `{"text"}` (alerts' blocks). */
  slack?: object;
  /** The last line (the report's link) is kept whole when the message must be cut for Discord. */
  keepLastLine?: boolean;
}

/** Shortcodes verite writes, as the characters Teams and Discord show (neither reads Slack's shortcodes in a webhook's text). */
const EMOJI: Record<string, string> = { ':rotating_light:': '\u{1F6A8}', ':white_check_mark:': '\u2705' };
const emoji = (s: string) => s.replace(/:(?:rotating_light|white_check_mark):/g, (code) => EMOJI[code]!);

/** Slack's `*bold*` as Markdown's `**bold**` (Teams' TextBlocks and Discord read Markdown; a single `*` is italics there). */
const markdownBold = (s: string) => s.replace(/(^|[\s(])\*([^*\n]+)\*(?=$|[\s).,:;])/g, '$1**$2**');

/** A bare http(s) link as a Markdown link, so a Teams TextBlock makes it clickable. */
const markdownLinks = (s: string) => s.replace(/(^|\s)(https?:\/\/[^\s)\]]+)/g, (_, before: string, href: string) => `${before}[${href}](${href})`);

/** The body posted to a webhook of this flavour (never a retired connector's: there is nothing to post there). */
export function webhookBody(flavour: Exclude<WebhookFlavour, 'retired-teams-connector'>, message: WebhookMessage): object {
  if (flavour === 'slack') return message.slack ?? { text: message.text };
  const lines = message.text.split('\n');
  if (flavour === 'teams') {
    const body: Record<string, unknown>[] = lines.map((line) => ({ type: 'TextBlock', text: markdownLinks(markdownBold(emoji(line))), wrap: true }));
    if (message.context) body.push({ type: 'TextBlock', text: emoji(message.context), wrap: true, isSubtle: true, size: 'Small' });
    return {
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          contentUrl: null,
          content: { $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4', body },
        },
      ],
    };
  }
  const text = [...lines.map((line) => markdownBold(emoji(line))), ...(message.context ? [emoji(message.context)] : [])];
  return { content: discordContent(text, message.keepLastLine && !message.context) };
}

/** The note that ends a message cut to Discord's limit. */
export const DISCORD_CUT_NOTE = '… (cut: a Discord message holds at most 2,000 characters)';

/**
 * The lines as one Discord message of at most 2,000 characters: cut at a space or line end before
 * the limit, saying so (and keeping the last line whole, the report's link, when asked). Measured
 * in UTF-16 units, never fewer than the characters Discord counts.
 */
export function discordContent(lines: string[], keepLastLine = false): string {
  const whole = lines.join('\n');
  if (whole.length <= DISCORD_CONTENT_LIMIT) return whole;
  const tail = keepLastLine && lines.length > 1 ? `\n${lines.at(-1)!}` : '';
  const head = tail ? lines.slice(0, -1).join('\n') : whole;
  const room = Math.max(0, DISCORD_CONTENT_LIMIT - DISCORD_CUT_NOTE.length - 1 - tail.length);
  let cut = head.slice(0, room);
  const space = Math.max(cut.lastIndexOf(' '), cut.lastIndexOf('\n'));
  if (space > room / 2) cut = cut.slice(0, space);
  // Never half a surrogate pair.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut.trimEnd()} ${DISCORD_CUT_NOTE}${tail}`.slice(0, DISCORD_CONTENT_LIMIT);
}

/**
 * The body to post to the webhook at `url` (its flavour from its host or `format`); throws
 * {@link RetiredWebhookError} for a retired connector, before anything is sent.
 */
export function webhookPostBody(url: string, format: WebhookFormat | undefined, message: WebhookMessage): object {
  const flavour = webhookFlavour(url, format);
  if (flavour === 'retired-teams-connector') throw new RetiredWebhookError();
  return webhookBody(flavour, message);
}

/** A webhook that takes no message: thrown before anything is sent, and not retried. */
export class RetiredWebhookError extends Error {
  constructor() {
    super(RETIRED_CONNECTOR);
    this.name = 'RetiredWebhookError';
  }
}

/** How a flavour is named in `verite check`. */
export function flavourLabel(flavour: WebhookFlavour): string {
  switch (flavour) {
    case 'teams':
      return 'a Teams Workflows webhook: sent as an Adaptive Card';
    case 'discord':
      return 'a Discord webhook: sent as Discord content of at most 2,000 characters';
    case 'slack':
      return 'sent as Slack-compatible JSON';
    case 'retired-teams-connector':
      return RETIRED_CONNECTOR;
  }
}
