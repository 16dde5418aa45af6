/**
 * The few error classes of verite. Each carries the context a reader needs to act on it:
 * which source and stream, which request, which SQL.
 */

/** Where in the pipeline an error happened. Every field is optional; set what is known. */
export interface ErrorContext {
  source?: string;
  stream?: string;
  window?: { from: string; to: string };
  request?: string;
  status?: number;
  record?: string;
}

/** A source or stream failed: the API refused, the data was unusable, a retry budget ran out. */
export class ExtractError extends Error {
  override name = 'ExtractError';
  /**
   * True when trying the stream again in the same run cannot help: a refused credential, an
   * API version the provider shut off, a quota that refills in hours. The pipeline then fails
   * the stream after one attempt instead of retrying it.
   */
  readonly permanent: boolean;
  readonly context: ErrorContext;
  constructor(
    message: string,
    context: ErrorContext,
    options?: { cause?: unknown; permanent?: boolean },
  ) {
    super(`${describeContext(context)}${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.context = context;
    this.permanent = options?.permanent ?? false;
  }
}

/**
 * Whether trying again in the same run cannot help: an {@link ExtractError} marked
 * {@link ExtractError.permanent}, or the warehouse refusing verite's login a privilege
 * (SQLSTATE 42501 on the error or one of its causes: "permission denied to create temporary
 * tables", "permission denied for schema …"), which only a grant by someone else gives.
 */
export function isPermanent(error: unknown): boolean {
  if (error instanceof ExtractError && error.permanent) return true;
  for (let e: unknown = error, depth = 0; e && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === '42501') return true;
  }
  return false;
}

/** A statement failed in the warehouse; carries the SQL and parameters, the driver error as cause. */
export class WarehouseError extends Error {
  override name = 'WarehouseError';
  readonly sql: string;
  readonly parameters: readonly unknown[];
  constructor(
    message: string,
    sql: string,
    parameters: readonly unknown[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.sql = sql;
    this.parameters = parameters;
  }
}

/** The configuration (file, environment, command-line) is unusable. Lists every problem. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly problems: string[];
  constructor(problems: string[]) {
    super(
      problems.length === 1
        ? `invalid configuration: ${problems[0]}`
        : `invalid configuration (${problems.length} problems):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.problems = problems;
  }
}

/** A secret's environment variable that is not set (nor its `_FILE`): a configuration error `verite check` words as such. */
export class SecretNotSetError extends ConfigError {
  override name = 'SecretNotSetError';
}

/** Bad command-line usage; exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function describeContext(context: ErrorContext): string {
  const parts: string[] = [];
  if (context.source) parts.push(context.stream ? `${context.source}.${context.stream}` : context.source);
  if (context.window) parts.push(`window ${context.window.from}..${context.window.to}`);
  if (context.request) parts.push(context.request);
  if (context.status !== undefined) parts.push(`HTTP ${context.status}`);
  if (context.record) parts.push(`record ${context.record}`);
  return parts.length ? `[${parts.join(', ')}] ` : '';
}

/**
 * The message of any thrown value, with its causes, for logs and exit messages. PostgreSQL's
 * hint is kept (`out of shared memory (hint: You might need to increase
 * max_locks_per_transaction.)`, `No space left on device (hint: Check free disk space.)`): it
 * is often the only words that say what to do. Its `detail` is not: it may quote a row's values.
 */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const hint = (error as { hint?: unknown }).hint;
    const own = typeof hint === 'string' && hint.trim() !== '' && !error.message.includes(hint) ? `${error.message} (hint: ${hint.trim()})` : error.message;
    const cause = (error as { cause?: unknown }).cause;
    return cause && cause !== error ? `${own} (caused by: ${errorMessage(cause)})` : own;
  }
  return String(error);
}
