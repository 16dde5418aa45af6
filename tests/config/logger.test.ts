import { describe, expect, it } from 'vitest';
import { RetryableError, setSleep, withRetry } from '../../lib/http.ts';
import { ConfigError } from '../../lib/errors.ts';
import { createLogger, logLevelOf, redactString, registerSecret } from '../../lib/logger.ts';

describe('log redaction', () => {
  it('hides registered secrets wherever they appear, and any connection-string password', () => {
    registerSecret('sk_test_abc123XYZ');
    expect(redactString('calling Stripe with sk_test_abc123XYZ failed')).toBe('calling Stripe with [redacted] failed');
    expect(redactString('postgres://app:s3cr3t@db:5432/shop')).toBe('postgres://app:[redacted]@db:5432/shop');
    expect(redactString('nothing to hide')).toBe('nothing to hide');
  });

  // Audit of issue 2: the pattern stopped at the first @, so "p@ss" leaked "ss".
  it('hides a connection-string password holding an unencoded @ whole', () => {
    expect(redactString('connect postgres://app:p@ss@w0rd@db:5432/shop refused')).toBe('connect postgres://app:[redacted]@db:5432/shop refused');
    expect(redactString('host=db user=app password=p@ss dbname=shop')).toBe('host=db user=app password=[redacted] dbname=shop');
  });

  it('hides credential-shaped tokens nobody registered (a provider quoting them in an error body)', () => {
    expect(redactString('HTTP 401: {"error":"Invalid API Key provided: sk_test_51Habc0123456789"}')).toBe('HTTP 401: {"error":"Invalid API Key provided: [redacted]"}');
    expect(redactString('Authorization: Bearer abcdef0123456789')).toBe('Authorization: Bearer [redacted]');
    expect(redactString('token shpat_0123456789abcdef0123 refused')).toBe('token [redacted] refused');
    expect(redactString('POST https://hooks.slack.com/services/T000/B000/XXXX failed')).toBe('POST https://hooks.slack.com/services/[redacted] failed');
  });
});

/** The JSON lines a logger built like the process-wide one writes. */
function capture(): { log: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[]; text: () => string } {
  const written: string[] = [];
  const log = createLogger({ write: (line: string) => void written.push(line) }, 'debug');
  return { log, lines: () => written.map((l) => JSON.parse(l) as Record<string, unknown>), text: () => written.join('') };
}

describe('the logger’s real output', () => {
  const secret = 'tok_9f8e7d6c5b4a';
  registerSecret(secret);

  // Audit of issue 2: log.error(err) took the error's message as the line's msg unredacted.
  it('redacts an Error logged alone: its message (the line’s msg), its stack and its cause', () => {
    const { log, lines, text } = capture();
    log.error(new Error(`shopify answered 401 for token ${secret}`, { cause: new Error(`body: {"token":"${secret}"}`) }));
    expect(text()).not.toContain(secret);
    const [line] = lines();
    expect(line).toMatchObject({ level: 50, msg: 'shopify answered 401 for token [redacted]' });
    expect(line!.err).toMatchObject({ type: 'Error', message: 'shopify answered 401 for token [redacted]', cause: { message: 'body: {"token":"[redacted]"}' } });
  });

  it('redacts an Error with a message, objects, interpolated values', () => {
    const { log, lines, text } = capture();
    log.warn(new Error(`retry ${secret}`), 'stream failed with %s', secret);
    log.info({ url: `postgres://verite:p@ss@db/verite`, nested: { note: secret } }, `connected with ${secret}`);
    expect(text()).not.toContain(secret);
    expect(text()).not.toContain('p@ss');
    expect(lines()[0]).toMatchObject({ msg: 'stream failed with [redacted]', err: { message: 'retry [redacted]' } });
    expect(lines()[1]).toMatchObject({ url: 'postgres://verite:[redacted]@db/verite', nested: { note: '[redacted]' }, msg: 'connected with [redacted]' });
  });

  // Audit of issue 2: child() bindings are written as given, past pino's formatters.
  it('redacts child bindings, of children of children too', () => {
    const { log, lines, text } = capture();
    const child = log.child({ source: 'stripe', key: secret });
    child.child({ request: `GET https://api.example.test/?access_token=${secret}` }).info('page read');
    expect(text()).not.toContain(secret);
    expect(lines()[0]).toMatchObject({ source: 'stripe', key: '[redacted]', request: 'GET https://api.example.test/?access_token=[redacted]', msg: 'page read' });
  });
});

describe('issue 17: log lines repeated the source and stream keys', () => {
  const count = (line: string, key: string) => line.split(`"${key}":`).length - 1;

  it('a key the logger already carries is written once, whoever adds it again', async () => {
    const { log, text } = capture();
    // As pipeline/extract.ts binds them, and an extractor's retry log adds them again.
    const stream = log.child({ runId: 'r1' }).child({ source: 'stripe', stream: 'charges' });
    stream.warn({ source: 'stripe', stream: 'charges', attempt: 2 }, 'retrying');
    stream.child({ source: 'stripe', stream: 'charges', request: 'GET /v1/charges' }).info('page committed');
    const [retrying, committed] = text().trim().split('\n');
    for (const line of [retrying!, committed!]) {
      expect(count(line, 'source'), line).toBe(1);
      expect(count(line, 'stream'), line).toBe(1);
      expect(count(line, 'runId'), line).toBe(1);
    }
    expect(JSON.parse(retrying!)).toMatchObject({ runId: 'r1', source: 'stripe', stream: 'charges', attempt: 2, msg: 'retrying' });
    expect(JSON.parse(committed!)).toMatchObject({ source: 'stripe', stream: 'charges', request: 'GET /v1/charges', msg: 'page committed' });
  });

  it('the retry log line of the shared HTTP code, under a stream\'s logger, names source and stream once', async () => {
    const { log, text } = capture();
    const restore = setSleep(async () => undefined);
    try {
      let n = 0;
      await withRetry({ source: 'shopify', stream: 'orders', request: 'GET orders', log: log.child({ source: 'shopify', stream: 'orders' }), retry: { attempts: 2 } }, async () => {
        if (++n === 1) throw new RetryableError('HTTP 503: busy', 503);
        return 'ok';
      });
    } finally {
      restore();
    }
    const line = text().trim();
    expect(count(line, 'source')).toBe(1);
    expect(count(line, 'stream')).toBe(1);
    expect(JSON.parse(line)).toMatchObject({ source: 'shopify', stream: 'orders', request: 'GET orders', status: 503, attempt: 1, msg: 'retrying after HTTP 503: busy' });
  });
});

describe('VERITE_LOG_LEVEL', () => {
  const EXPECTED = 'expected trace, debug, info, warn, error, fatal or silent';

  it('takes pino\'s levels in any case, the aliases that mean one of them, and empty as unset', () => {
    expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].map((v) => logLevelOf(v))).toEqual(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);
    expect(['warning', 'WARNING', 'Warn', ' warn ', 'err', 'information', 'INFO'].map((v) => logLevelOf(v))).toEqual(['warn', 'warn', 'warn', 'warn', 'error', 'info', 'info']);
    // Empty (`VERITE_LOG_LEVEL=` in a .env file) or blank is the default, as unset is.
    expect([undefined, '', '  '].map((v) => logLevelOf(v))).toEqual(['info', 'info', 'info']);
    expect(logLevelOf('', 'silent')).toBe('silent');
  });

  it('refuses anything else as a configuration error naming the variable and its levels', () => {
    const refused = (value: string) => {
      try {
        logLevelOf(value);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).problems;
      }
      throw new Error(`${value} was taken`);
    };
    // verbose is debug to some tools and trace to others: not guessed.
    expect(refused('verbose')).toEqual([`VERITE_LOG_LEVEL: ${EXPECTED}, got "verbose" (warning, err and information are read as warn, error and info)`]);
    expect(refused('debg')).toEqual([`VERITE_LOG_LEVEL: ${EXPECTED}, got "debg" (did you mean debug?) (warning, err and information are read as warn, error and info)`]);
    expect(refused('30')).toEqual([`VERITE_LOG_LEVEL: ${EXPECTED}, got "30" (warning, err and information are read as warn, error and info)`]);
  });

  it('a logger built with VERITE_LOG_LEVEL=warning writes warnings and errors, not info lines', () => {
    const before = process.env.VERITE_LOG_LEVEL;
    process.env.VERITE_LOG_LEVEL = 'warning';
    try {
      const written: string[] = [];
      const log = createLogger({ write: (line: string) => void written.push(line) });
      log.info('not written');
      log.warn('written');
      log.error('written too');
      expect(written.map((l) => JSON.parse(l) as { level: number; msg: string }).map((l) => [l.level, l.msg])).toEqual([[40, 'written'], [50, 'written too']]);
    } finally {
      if (before === undefined) delete process.env.VERITE_LOG_LEVEL;
      else process.env.VERITE_LOG_LEVEL = before;
    }
  });
});
