import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Values that must never reach a log line: API keys, tokens, the password of DATABASE_URL.
 * Anything registered here is replaced by `[redacted]` wherever it appears in a logged
 * string, whatever the key it sits under; well-known secret keys are redacted by path too.
 */
const secretValues = new Set<string>();

export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 4) secretValues.add(value);
}

export function redactString(text: string): string {
  let out = text;
  for (const secret of secretValues) {
    if (out.includes(secret)) out = out.split(secret).join('[redacted]');
  }
  // A password inside any connection string, registered or not.
  return out.replace(/(postgres(?:ql)?:\/\/[^:/@\s]+:)([^@\s]+)(@)/gi, '$1[redacted]$3');
}

function redactDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactString(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    return { type: value.name, message: redactString(value.message), stack: value.stack ? redactString(value.stack) : undefined };
  }
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v, depth + 1);
  return out;
}

const REDACT_PATHS = [
  'password', '*.password', 'token', '*.token', 'accessToken', '*.accessToken', 'secret', '*.secret',
  'secretKey', '*.secretKey', 'apiKey', '*.apiKey', 'authorization', '*.authorization',
  'headers.authorization', '*.headers.authorization', 'headers["x-shopify-access-token"]',
];

let root: Logger | undefined;

/**
 * The process-wide logger: JSON lines on stderr, or readable lines when stderr is a terminal
 * (or `VERITE_LOG_FORMAT=pretty`). Level from `VERITE_LOG_LEVEL` (default `info`).
 */
export function logger(): Logger {
  if (root) return root;
  const pretty = process.env.VERITE_LOG_FORMAT === 'pretty' || (process.env.VERITE_LOG_FORMAT !== 'json' && process.stderr.isTTY);
  const options: pino.LoggerOptions = {
    level: process.env.VERITE_LOG_LEVEL ?? 'info',
    base: undefined,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: { log: (object) => redactDeep(object) as Record<string, unknown> },
    hooks: {
      logMethod(args, method) {
        // The message string itself may carry a secret (an error message quoting a URL).
        const redacted = args.map((a) => (typeof a === 'string' ? redactString(a) : a)) as Parameters<typeof method>;
        method.apply(this, redacted);
      },
    },
  };
  root = pretty
    ? pino(options, pino.transport({ target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } }))
    : pino(options, pino.destination({ dest: 2, sync: true }));
  return root;
}

/** Replaces the process-wide logger (tests capture log lines this way). */
export function setLogger(next: Logger): void {
  root = next;
}
