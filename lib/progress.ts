import type { Logger } from './logger.ts';
import { clearProgressLine, drawProgressLine } from './progress-line.ts';

/**
 * How far a long step has got (a stream being landed, the transform, the metrics refresh), said
 * while it runs: a line redrawn in place on a terminal, and an info log line every
 * `everyMs` per step, so a first load of two years is never minutes of silence, in a terminal or
 * in a scheduler's logs. A step that ends within `everyMs` logs no progress line (its own
 * summary line says what it did).
 */
export interface Progress {
  /**
   * The step `key` (e.g. `shopify.orders`, `transform`) moved on: `text` is shown on a terminal,
   * `fields` are the log line's (pages, records, the dates reached …).
   */
  update(key: string, text: string, fields: Record<string, unknown>): void;
  /** The step ended: its terminal line is cleared. */
  done(key: string): void;
}

export interface ProgressOptions {
  log: Logger;
  /** Where the terminal line is drawn; nothing is drawn unless it is a TTY. */
  out?: Pick<NodeJS.WriteStream, 'write' | 'isTTY'>;
  /** Milliseconds between two log lines of one step (default 10 s). */
  everyMs?: number;
  /** The clock (tests pass their own). */
  now?: () => number;
}

/** A {@link Progress} that logs at info every `everyMs` per step and draws on `out` when it is a terminal. */
export function createProgress(options: ProgressOptions): Progress {
  const { log } = options;
  const everyMs = options.everyMs ?? 10_000;
  const now = options.now ?? Date.now;
  const tty = options.out?.isTTY === true ? options.out : null;
  const lastLogged = new Map<string, number>();
  return {
    update(key, text, fields) {
      const at = now();
      const last = lastLogged.get(key);
      if (last === undefined) lastLogged.set(key, at);
      else if (at - last >= everyMs) {
        lastLogged.set(key, at);
        clearProgressLine();
        log.info({ step: key, ...fields }, `in progress: ${text}`);
      }
      if (tty) drawProgressLine(tty, text);
    },
    done(key) {
      lastLogged.delete(key);
      clearProgressLine();
    },
  };
}

/** A {@link Progress} that says nothing. */
export const silentProgress: Progress = { update: () => undefined, done: () => undefined };
