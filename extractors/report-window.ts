import { addDays, localDate } from '../lib/dates.ts';
import { ExtractError, type ErrorContext } from '../lib/errors.ts';
import { reportDate } from '../catalog/catalog.ts';
import type { Logger } from '../lib/logger.ts';
import type { DateWindow, JsonValue, Page, ReadContext } from './types.ts';

/**
 * The calendar of the date-report streams (GA4, Google Ads, Meta): dates as `YYYY-MM-DD`, the
 * window a read covers (a backfill's, or the cursor less the lookback up to the last complete
 * day), and the cursor each page stores. One copy for every report source, so "yesterday" and
 * "lookback" mean the same thing in all of them.
 */

/** The cursor of a date-report stream: the last date completely landed. */
export type ReportState = { through: string };

/** Every date of an inclusive window, oldest first. */
export function datesOf(window: DateWindow): string[] {
  const out: string[] = [];
  for (let d = window.from; d <= window.to; d = addDays(d, 1)) out.push(d);
  return out;
}

/** Consecutive windows of at most `days` dates covering `window`, oldest first. */
export function chunkWindow(window: DateWindow, days: number): DateWindow[] {
  const out: DateWindow[] = [];
  for (let from = window.from; from <= window.to; from = addDays(from, days)) {
    const to = addDays(from, days - 1);
    out.push({ from, to: to < window.to ? to : window.to });
  }
  return out;
}

/** A window of two or more dates cut into two halves (the first one the longer when odd). */
export function halves(window: DateWindow): [DateWindow, DateWindow] {
  const days = datesOf(window).length;
  const firstTo = addDays(window.from, Math.ceil(days / 2) - 1);
  return [
    { from: window.from, to: firstTo },
    { from: addDays(firstTo, 1), to: window.to },
  ];
}

/**
 * A window's rows sorted into one list per date, oldest first: what a date-report stream lands
 * as one page per date. A row dated outside the window (not expected) still lands, with the
 * window's last date.
 */
export function rowsByDate<T>(window: DateWindow, rows: Iterable<T>, dateOf: (row: T) => string | undefined): { date: string; records: T[] }[] {
  const dates = datesOf(window);
  const byDate = new Map<string, T[]>(dates.map((d) => [d, []]));
  const stray: T[] = [];
  for (const row of rows) (byDate.get(dateOf(row) ?? '') ?? stray).push(row);
  return dates.map((date) => ({ date, records: date === window.to ? [...byDate.get(date)!, ...stray] : byDate.get(date)! }));
}

/** The `through` date of a stored cursor, or undefined when there is none (or it is unreadable). */
export function throughOf(state: JsonValue | null): string | undefined {
  if (!state || typeof state !== 'object' || Array.isArray(state)) return undefined;
  return typeof state.through === 'string' ? reportDate(state.through) : undefined;
}

/**
 * The dates a read covers: a backfill's window as it is; else from the cursor minus the lookback
 * to the last complete day, never before `startDate`. The first run reads from `startDate`.
 *
 * @example
 * // Lookback 28, last complete day 2024-03-09, cursor at 2024-03-08: 28 dates, 2024-02-11 to 2024-03-09.
 * readWindow({ window: null, startDate: '2024-01-01', lookbackDays: 28 }, '2024-03-08', '2024-03-09');
 */
export function readWindow(ctx: Pick<ReadContext<unknown>, 'window' | 'startDate' | 'lookbackDays'>, through: string | undefined, lastComplete: string): DateWindow {
  if (ctx.window) return ctx.window;
  if (!through) return { from: ctx.startDate, to: lastComplete };
  // A cursor older than the lookback (runs were missed) resumes right after it.
  const resume = addDays(through, 1);
  const lookback = addDays(lastComplete, -ctx.lookbackDays + 1);
  const from = resume < lookback ? resume : lookback;
  return { from: from > ctx.startDate ? from : ctx.startDate, to: lastComplete };
}

/**
 * The ids of the accounts (ad accounts, Google Ads customers, GA4 properties) a stored cursor
 * says are read through its `through`, kept under `key`; undefined when it keeps none (none
 * stored yet, or a cursor written by a release that kept no list).
 */
export function readIdsOf(state: JsonValue | null, key: string): string[] | undefined {
  if (!state || typeof state !== 'object' || Array.isArray(state)) return undefined;
  const ids = state[key];
  return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : undefined;
}

/** What a read of a report stream covers, account by account (see {@link planAccounts}). */
export interface AccountsPlan {
  /** The dates every configured account is read over: {@link readWindow}'s. */
  window: DateWindow;
  /** The configured accounts the cursor has not read (added to the config since); none on a first run or a backfill. */
  added: string[];
  /**
   * The dates before `window` the added accounts still need, from `startDate`: read for them
   * alone, after `window`. Null when there are none.
   */
  history: DateWindow | null;
  /**
   * The ids a page's cursor keeps once it lands `date`: the accounts read before, until the
   * page of the added accounts' last date, then every configured one. An account taken out of
   * the config is no longer kept, so adding it again reads its history again.
   */
  idsAfter(date: string): string[];
}

/**
 * Which dates a read of a report stream covers for which account. Every configured account is
 * read over {@link readWindow}'s dates. An account the cursor has not read (its id is not among
 * `readIds` while there is a `through`) is new: it gets what a first run would, its dates from
 * `startDate` on, the earlier ones (`history`) read for it alone. A cursor without a list
 * (`readIds` undefined, as releases before the list wrote it) is taken as having read every
 * account configured now. A backfill reads its window for every account and leaves the list
 * alone (its pages store no cursor).
 *
 * @example
 * // Lookback 28, cursor at 2024-03-09 having read act_111; act_222 added; startDate 2024-01-01:
 * // both over 2024-02-12..2024-03-10, then act_222 alone over 2024-01-01..2024-02-11.
 * planAccounts({ window: null, startDate: '2024-01-01', lookbackDays: 28 }, '2024-03-09', '2024-03-10', ['111', '222'], ['111']);
 */
export function planAccounts(
  ctx: Pick<ReadContext<unknown>, 'window' | 'startDate' | 'lookbackDays'>,
  through: string | undefined,
  lastComplete: string,
  configured: readonly string[],
  readIds: readonly string[] | undefined,
): AccountsPlan {
  const window = readWindow(ctx, through, lastComplete);
  const all = [...configured];
  if (ctx.window || !through) return { window, added: [], history: null, idsAfter: () => all };
  const known = readIds ?? configured;
  const added = configured.filter((id) => !known.includes(id));
  if (added.length === 0) return { window, added, history: null, idsAfter: () => all };
  const before = addDays(window.from, -1);
  const to = before < lastComplete ? before : lastComplete;
  const history = ctx.startDate <= to ? { from: ctx.startDate, to } : null;
  const lastDate = history ? history.to : window.to;
  const read = configured.filter((id) => known.includes(id));
  return { window, added, history, idsAfter: (date) => (date === lastDate ? all : read) };
}

/** One pass of a read: its dates, the accounts read over them, and what its pages replace. */
export interface AccountPass<A> {
  dates: DateWindow;
  accounts: A[];
  /** For an added account's history: its own rows only, the others' rows of those dates stay. */
  replaceOnly?: Page['replaceOnly'];
}

/**
 * The passes a read of a report stream makes, in order: the plan's window for every account
 * (when it holds a date), then the added accounts' history for them alone, whose pages replace
 * only the rows holding their ids at `idPath` in the record. None when there is nothing to read.
 * Each added account is logged with the date it is read from (`noun` names it: `customer 123`).
 */
export function accountPasses<A>(
  plan: AccountsPlan,
  accounts: readonly A[],
  idOf: (account: A) => string,
  options: { idPath: string[]; log: Logger; noun: (id: string) => string; key: string },
): AccountPass<A>[] {
  const { window, history, added } = plan;
  for (const id of added) {
    const from = history?.from ?? window.from;
    options.log.info({ id, from, othersFrom: window.from }, `${options.noun(id)} is new in ${options.key}: reading it from ${from}`);
  }
  const passes: AccountPass<A>[] = [];
  if (window.from <= window.to) passes.push({ dates: window, accounts: [...accounts] });
  if (history) passes.push({ dates: history, accounts: accounts.filter((a) => added.includes(idOf(a))), replaceOnly: { path: options.idPath, values: added } });
  return passes;
}

/** The cursor after landing `date`: a backfill of older dates never moves it backwards. */
export function stateAfter(previous: string | undefined, date: string): ReportState {
  return { through: previous && previous > date ? previous : date };
}

/**
 * The zone an account (a GA4 property, an ad account) reports its days in, as the API gave it:
 * UTC when it gives none, with a warning (once per run) then, or when the zone differs from the
 * reporting time zone, since its dates are taken as they are. `label` names the account in the
 * warning, e.g. `customer 1234567890`.
 */
export function reportZone(ctx: Pick<ReadContext<unknown>, 'global' | 'warnOnce'>, source: string, label: string, zone: unknown): string {
  if (typeof zone !== 'string' || !zone) {
    ctx.warnOnce(`${source}: ${label} reports no time zone; its days are taken as UTC days`, 'account-time-zone');
    return 'UTC';
  }
  if (zone !== ctx.global.reportingTimezone) {
    ctx.warnOnce(`${source}: ${label} reports days in ${zone}, not in the reporting time zone ${ctx.global.reportingTimezone}; its dates are taken as they are`, 'account-time-zone');
  }
  return zone;
}

/**
 * The last date that is over in every account's zone at `now` (the earliest of their
 * yesterdays); undefined without accounts. An account whose zone this runtime does not know
 * fails the read, naming it.
 */
export function lastCompleteDay(now: Date, accounts: readonly { label: string; timeZone: string }[], where: ErrorContext): string | undefined {
  let last: string | undefined;
  for (const account of accounts) {
    let today: string;
    try {
      today = localDate(now, account.timeZone);
    } catch (error) {
      throw new ExtractError(`${account.label} has a time zone this runtime does not know: ${account.timeZone}`, where, { cause: error, permanent: true });
    }
    const yesterday = addDays(today, -1);
    if (last === undefined || yesterday < last) last = yesterday;
  }
  return last;
}
