import { existsSync, readFileSync } from 'node:fs';
import { resolve, extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { ConfigError, errorMessage, SecretNotSetError } from '../lib/errors.ts';
import { duplicateJsonKeys } from '../lib/json-duplicates.ts';
import { didYouMean } from '../lib/names.ts';
import { logLevelProblem, registerSecret } from '../lib/logger.ts';
import { configSchema, type VeriteConfig } from './schema.ts';

/** The files looked for in the working directory, first found first, when no file is named. */
export const DEFAULT_CONFIG_FILES = ['verite.config.json', 'verite.config.yaml', 'verite.config.yml', 'verite.config.ts'] as const;

export interface LoadConfigOptions {
  /** An explicit file (`--config`); else `VERITE_CONFIG`; else the first default file found. */
  file?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Merged over the file before validation (e.g. `--demo` adds the demo source). */
  overrides?: Record<string, unknown>;
}

export interface LoadedConfig {
  config: VeriteConfig;
  /** The file read, or null when none exists and defaults apply. */
  file: string | null;
}

async function readConfigFile(path: string): Promise<unknown> {
  const ext = extname(path).toLowerCase();
  if (ext === '.ts' || ext === '.js' || ext === '.mjs') {
    const mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
    return mod.default ?? {};
  }
  // A byte-order mark, which some editors write at the start of a UTF-8 file, is not part of the JSON or YAML.
  const text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  const yaml = ext === '.yaml' || ext === '.yml';
  let parsed: unknown;
  try {
    parsed = yaml ? parseYaml(text) ?? {} : JSON.parse(text);
  } catch (error) {
    const message = yaml ? (error as Error).message : withoutJsonPlace((error as Error).message);
    throw new ConfigError([`${path}: cannot be parsed: ${message}${yaml ? '' : jsonErrorPlace(text, message)}`]);
  }
  // JSON.parse keeps a key's last value and drops the first without a word (YAML refuses them).
  if (!yaml) {
    const twice = duplicateJsonKeys(text);
    if (twice.length) {
      throw new ConfigError(
        twice.map((d) => `${path}: "${d.path}" is written twice (again at line ${d.line}, column ${d.column}): JSON keeps only the last one and drops the first; merge them into one`),
      );
    }
  }
  return parsed;
}

/**
 * JSON.parse's message without the place Node 22 and later add to it (`at position 41 (line 3
 * column 1)`): {@link jsonErrorPlace} says it once, with the line's text.
 */
export function withoutJsonPlace(message: string): string {
  return message.replace(/(at position \d+) \(line \d+ column \d+\)/, '$1');
}

/**
 * Where a JSON error is, as a line and column and the line itself (JSON.parse gives a character
 * position), and what JSON does not allow that people write in a config by hand: comments and a
 * comma after the last entry.
 */
export function jsonErrorPlace(text: string, message: string): string {
  const at = /at position (\d+)/.exec(message);
  // Node gives no position for an unexpected token (`"currency": EUR`): found by reading the text again.
  const position = at ? Number(at[1]) : jsonErrorOffset(text);
  if (position === undefined) return '';
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  const shown = text.split('\n')[line - 1]!.trim().slice(0, 80);
  const rest = text.slice(position);
  const hint = /^\s*(\/\/|\/\*)/.test(rest)
    ? '; JSON allows no comments (a .yaml config does)'
    : /,\s*$/.test(before) && /^\s*[}\]]/.test(rest)
      ? '; JSON allows no comma after the last entry'
      : '';
  return ` (line ${line}, column ${column}: ${JSON.stringify(shown)})${hint}`;
}

/**
 * The offset of the first character that makes `text` no JSON (RFC 8259), or undefined when
 * it is JSON: what JSON.parse's "Unexpected token" message leaves out.
 */
export function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const fail = (): never => {
    throw new JsonAt(i);
  };
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const match = (pattern: RegExp) => {
    pattern.lastIndex = i;
    const m = pattern.exec(text);
    if (!m) fail();
    i += m![0].length;
  };
  const value = (): void => {
    space();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      space();
      if (text[i] === close) return void i++;
      for (;;) {
        space();
        if (close === '}') {
          if (text[i] !== '"') fail();
          match(STRING);
          space();
          if (text[i] !== ':') fail();
          i++;
        }
        value();
        space();
        if (text[i] === ',') i++;
        else if (text[i] === close) return void i++;
        else fail();
      }
    }
    if (c === '"') return match(STRING);
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return match(NUMBER);
    match(LITERAL);
  };
  try {
    value();
    space();
    return i < text.length ? i : undefined;
  } catch (error) {
    if (error instanceof JsonAt) return error.at;
    throw error;
  }
}

class JsonAt {
  readonly at: number;
  constructor(at: number) {
    this.at = at;
  }
}
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const LITERAL = /(?:true|false|null)(?![A-Za-z0-9_])/y;

/**
 * Reads the configuration file and the environment once, validates it with zod and returns
 * typed values. Every problem is reported at once in a {@link ConfigError}.
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const explicit = options.file ?? env.VERITE_CONFIG;
  let file: string | null = null;
  if (explicit) {
    file = resolve(cwd, explicit);
    if (!existsSync(file)) throw new ConfigError([`config file ${explicit} does not exist`]);
  } else {
    file = DEFAULT_CONFIG_FILES.map((f) => resolve(cwd, f)).find((f) => existsSync(f)) ?? null;
  }
  const raw = file ? await readConfigFile(file) : {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError([`${file}: the configuration must be an object`]);
  }
  const merged: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  if (options.overrides) {
    for (const [k, v] of Object.entries(options.overrides)) {
      merged[k] =
        v && typeof v === 'object' && !Array.isArray(v) && merged[k] && typeof merged[k] === 'object'
          ? { ...(merged[k] as object), ...(v as object) }
          : v;
    }
  }
  const problems: string[] = [];
  if (env.VERITE_REPORTING_TIMEZONE) merged.reportingTimezone = env.VERITE_REPORTING_TIMEZONE;
  if (env.VERITE_REPORTING_CURRENCY) merged.reportingCurrency = env.VERITE_REPORTING_CURRENCY;
  if (env.VERITE_CHURN_AFTER_DAYS) {
    const n = Number(env.VERITE_CHURN_AFTER_DAYS);
    if (Number.isInteger(n)) merged.churnAfterDays = n;
    else problems.push(`VERITE_CHURN_AFTER_DAYS: expected a whole number of days, got "${env.VERITE_CHURN_AFTER_DAYS}"`);
  }
  // Read by the logger (lib/logger.ts), which every command starts after this: said here with the file's problems.
  const logLevel = logLevelProblem(env.VERITE_LOG_LEVEL);
  if (logLevel) problems.push(logLevel);
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const where = issue.path.length ? issue.path.join('.') : '(top level)';
      if (issue.code === 'unrecognized_keys') {
        // A misspelt key is told the keys it is close to.
        const allowed = keysAt(configSchema, issue.path);
        const keys = issue.keys.map((key) => `"${key}"${didYouMean(key, allowed)}`);
        problems.push(`${where}: unrecognized key${keys.length === 1 ? '' : 's'}: ${keys.join(', ')}`);
        continue;
      }
      problems.push(`${where}: ${issue.message}`);
    }
  }
  if (problems.length || !parsed.success) throw new ConfigError(problems);
  return { config: parsed.data, file };
}

/**
 * Reads the secret named by a `...Env` key. Secrets never come from the file itself.
 *
 * What surrounds a secret by mistake is taken off: blanks and line ends (a `.env` file saved
 * with CRLF ends each value with a carriage return, which no HTTP header may hold), and one pair
 * of quotes around the whole (`docker run --env-file` keeps `KEY="value"`'s quotes). No token,
 * key or URL verite reads starts or ends with either.
 */
export function readSecret(envVar: string, what: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromFile = !env[envVar] && env[`${envVar}_FILE`];
  const given = fromFile ? secretFile(envVar, what, env[`${envVar}_FILE`]!) : env[envVar];
  if (!given) throw new SecretNotSetError([`${what}: the environment variable ${envVar} is not set (nor ${envVar}_FILE, naming a file that holds it)`]);
  registerSecret(given);
  let value = given.trim();
  const quote = value[0];
  if (value.length >= 2 && (quote === '"' || quote === "'") && value.endsWith(quote)) value = value.slice(1, -1).trim();
  if (!value) throw new ConfigError([`${what}: ${fromFile ? `the file ${env[`${envVar}_FILE`]} (${envVar}_FILE)` : `the environment variable ${envVar}`} is set but empty`]);
  registerSecret(value);
  return value;
}

/**
 * A secret read from the file `${envVar}_FILE` names, as Docker and Kubernetes hand secrets to a
 * container (`/run/secrets/…`; the convention of the official images, `POSTGRES_PASSWORD_FILE`).
 */
function secretFile(envVar: string, what: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'there is no such file' : code === 'EACCES' ? 'verite may not read it' : code === 'EISDIR' ? 'it is a folder' : errorMessage(error);
    throw new ConfigError([`${what}: ${envVar}_FILE names ${path}, and ${why}`]);
  }
}

/**
 * The warehouse's connection string from the environment: `DATABASE_URL`, else the file
 * `DATABASE_URL_FILE` names (a container's secret), trimmed; undefined when neither is set.
 */
export function databaseUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.DATABASE_URL) return env.DATABASE_URL;
  if (!env.DATABASE_URL_FILE) return undefined;
  const url = secretFile('DATABASE_URL', 'the warehouse', env.DATABASE_URL_FILE).trim();
  registerSecret(url);
  return url || undefined;
}

interface SchemaDef {
  type?: string;
  shape?: Record<string, unknown>;
  innerType?: unknown;
  in?: unknown;
  element?: unknown;
}

/** The keys the object schema at `path` of `schema` allows (optional, default and pipe wrappers looked through); none when it is not an object. */
function keysAt(schema: unknown, path: readonly PropertyKey[]): string[] {
  const def = (node: unknown): SchemaDef => ((node as { _zod?: { def?: SchemaDef } })?._zod?.def ?? {}) as SchemaDef;
  const unwrap = (node: unknown): unknown => {
    for (let d = def(node); d.innerType ?? d.in; d = def(node)) node = d.innerType ?? d.in;
    return node;
  };
  let node = unwrap(schema);
  for (const step of path) {
    const d = def(node);
    if (d.type === 'array' && typeof step === 'number') node = unwrap(d.element);
    else if (d.type === 'object' && d.shape && typeof step === 'string' && step in d.shape) node = unwrap(d.shape[step]);
    else return [];
  }
  const shape = def(node).shape;
  return shape ? Object.keys(shape) : [];
}
