import pino, { type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import { ConfigError } from './errors.ts';
import { didYouMean } from './names.ts';
import { clearProgressLine } from './progress-line.ts';

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

/**
 * Forgets every registered secret, as at a process's start: for test files that share one
 * process (tests/support/shared-process.ts), so one file's secrets do not redact another's lines.
 */
export function forgetSecrets(): void {
  secretValues.clear();
}

/**
 * Credentials that have a recognisable shape, redacted even when nobody registered them (a
 * provider's error body quoting a token, a URL in a driver's message).
 */
const SECRET_PATTERNS: [RegExp, string][] = [
  // user:password@ in any URL. The password runs to the last @ before a space or a quote, so one
  // with an unencoded @ is hidden whole.
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@"'`]*:)[^\s"'`<>]*@/gi, '$1[redacted]@'],
  // libpq key=value strings and query strings.
  [/\b(password|access_token|refresh_token|client_secret|api_key)=([^\s&'"]+)/gi, '$1=[redacted]'],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, '$1 [redacted]'],
  // Stripe, Shopify, EasyPost, Google, Meta keys and tokens; Slack webhook paths.
  [/\b[sr]k_(live|test)_[A-Za-z0-9]{8,}/g, '[redacted]'],
  [/\bshp(at|ca|pa|ss)_[A-Za-z0-9]{16,}/g, '[redacted]'],
  [/\bEZ[AT]K[A-Za-z0-9]{16,}/g, '[redacted]'],
  [/\bya29\.[A-Za-z0-9._-]{16,}/g, '[redacted]'],
  [/\b1\/\/[A-Za-z0-9_-]{16,}/g, '[redacted]'],
  [/\bEAA[A-Za-z0-9]{20,}/g, '[redacted]'],
  [/(hooks\.slack\.com\/services\/)[A-Za-z0-9/]+/gi, '$1[redacted]'],
];

/** Whether `text` holds a credential-shaped token (a key, a token, a password in a URL), by the patterns {@link redactString} hides. */
export function looksLikeCredential(text: string): boolean {
  return SECRET_PATTERNS.some(([pattern]) => text.replace(pattern, '') !== text);
}

/** `text` with every registered secret and every credential-shaped token replaced by `[redacted]`. */
export function redactString(text: string): string {
  let out = text;
  for (const secret of secretValues) {
    if (out.includes(secret)) out = out.split(secret).join('[redacted]');
  }
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** A value with every string in it redacted; an Error becomes `{ type, message, stack, cause }`. */
export function redactDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactString(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    const cause = (value as { cause?: unknown }).cause;
    return {
      type: value.name,
      message: redactString(value.message),
      stack: value.stack ? redactString(value.stack) : undefined,
      ...(cause !== undefined && cause !== value ? { cause: redactDeep(cause, depth + 1) } : {}),
    };
  }
  if (value instanceof Date) return value;
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
/** Where the process-wide JSON logger writes when not to stderr ({@link resetLogger}). */
let rootDestination: pino.DestinationStream | undefined;

/** The levels `VERITE_LOG_LEVEL` takes: pino's, from the most said to none. */
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Other tools' names for a level that mean one of verite's and nothing else: `warning` (Python,
 * syslog, Serilog), `err` (syslog), `information` (.NET). Not `verbose`, which is debug to some
 * tools and trace to others.
 */
const LOG_LEVEL_ALIASES: Record<string, LogLevel> = { warning: 'warn', err: 'error', information: 'info' };

/**
 * What is wrong with `value` as `VERITE_LOG_LEVEL`, or undefined when it is a level (in any case,
 * blanks around it aside), one of {@link LOG_LEVEL_ALIASES}, or empty or unset (the default).
 */
export function logLevelProblem(value: string | undefined): string | undefined {
  const level = value?.trim().toLowerCase() ?? '';
  if (level === '' || (LOG_LEVELS as readonly string[]).includes(level) || Object.hasOwn(LOG_LEVEL_ALIASES, level)) return undefined;
  return (
    `VERITE_LOG_LEVEL: expected ${LOG_LEVELS.slice(0, -1).join(', ')} or silent, got ${JSON.stringify(value)}` +
    `${didYouMean(level, [...LOG_LEVELS, ...Object.keys(LOG_LEVEL_ALIASES)])} (warning, err and information are read as warn, error and info)`
  );
}

/**
 * The level `value` (`VERITE_LOG_LEVEL`) names; `fallback` when it is empty or unset. A
 * {@link ConfigError} naming the variable and its levels when it names none: pino would refuse
 * it with "default level:warning must be included in custom levels".
 */
export function logLevelOf(value: string | undefined, fallback: LogLevel = 'info'): LogLevel {
  const problem = logLevelProblem(value);
  if (problem) throw new ConfigError([problem]);
  const level = value?.trim().toLowerCase() ?? '';
  return level === '' ? fallback : (LOG_LEVEL_ALIASES[level] ?? (level as LogLevel));
}

/**
 * Builds a logger with verite's redaction writing JSON lines to `destination` (what
 * {@link logger} does with stderr; tests pass a stream to read the real output).
 */
export function createLogger(destination: pino.DestinationStream, level: string = logLevelOf(process.env.VERITE_LOG_LEVEL)): Logger {
  return redacting(pino(loggerOptions(level), destination));
}

function loggerOptions(level: string): pino.LoggerOptions {
  return {
    level,
    base: undefined,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: { log: (object) => redactDeep(object) as Record<string, unknown> },
    // The formatter above already turned each Error into { type, message, stack, cause }.
    serializers: { err: (value: unknown) => value },
    hooks: {
      logMethod(args, method) {
        // The message, its interpolated values and an Error given alone (whose message pino
        // takes as the line's msg) may carry a secret: an error quoting a URL or a response body.
        const [first, ...rest] = args as unknown[];
        // A key the logger already carries (a child's source and stream) is written once:
        // callers that add it again to the line's object would repeat it in the JSON.
        const bound = first && typeof first === 'object' && !(first instanceof Error) ? withoutBound(first as Record<string, unknown>, (this as Logger).bindings()) : first;
        const redacted =
          first instanceof Error
            ? [{ err: redactDeep(first) }, ...(typeof rest[0] === 'string' ? [] : [redactString(first.message)]), ...rest.map((a) => redactDeep(a))]
            : [typeof first === 'string' ? redactString(first) : bound, ...rest.map((a) => redactDeep(a))];
        method.apply(this, redacted as Parameters<typeof method>);
      },
    },
  };
}

/** `fields` without the keys `bindings` already hold with the same value. */
function withoutBound(fields: Record<string, unknown>, bindings: pino.Bindings): Record<string, unknown> {
  const keys = Object.keys(fields).filter((k) => k in bindings && bindings[k] === fields[k]);
  if (keys.length === 0) return fields;
  const out = { ...fields };
  for (const k of keys) delete out[k];
  return out;
}

/**
 * Child bindings skip pino's formatters: redact them on the way in, for children of children
 * too. A binding the parent already holds with the same value is not bound twice.
 */
function redacting(instance: Logger): Logger {
  type ChildFn = (this: Logger, bindings: pino.Bindings, options?: unknown) => Logger;
  const child = instance.child as unknown as ChildFn;
  const redactedChild: ChildFn = function (bindings, options) {
    return child.call(this, withoutBound(redactDeep(bindings) as pino.Bindings, this.bindings()) as pino.Bindings, options);
  };
  instance.child = redactedChild as unknown as Logger['child'];
  return instance;
}

/**
 * The process-wide logger: JSON lines on stderr, or readable lines when stderr is a terminal
 * (or `VERITE_LOG_FORMAT=pretty`). Level from `VERITE_LOG_LEVEL` (default `info`; {@link logLevelOf}).
 */
export function logger(): Logger {
  if (root) return root;
  const pretty = process.env.VERITE_LOG_FORMAT === 'pretty' || (process.env.VERITE_LOG_FORMAT !== 'json' && process.stderr.isTTY);
  if (pretty) {
    // Written in this thread, so that a progress line drawn on the terminal is cleared before each
    // log line (lib/progress.ts) instead of having the line appended to it.
    const lines = pinoPretty({ destination: 2, sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' });
    root = createLogger({ write: (line: string) => (clearProgressLine(), lines.write(line)) });
  } else {
    root = createLogger(rootDestination ?? pino.destination({ dest: 2, sync: true }));
  }
  return root;
}

/** Replaces the process-wide logger (tests capture log lines this way). */
export function setLogger(next: Logger): void {
  root = next;
}

/**
 * Forgets the process-wide logger: the next {@link logger} builds it again from the environment
 * then, as at a process's start, its JSON lines written to `destination` instead of stderr when
 * given (tests running the command line in their own process).
 */
export function resetLogger(destination?: pino.DestinationStream): void {
  root = undefined;
  rootDestination = destination;
}
