import { addDays, isCalendarDate } from '../lib/dates.ts';
import { UsageError } from '../lib/errors.ts';

/** The three business reviews (docs/reports.md): what each shows follows its ritual. */
export const REPORT_KINDS = ['weekly', 'monthly', 'quarterly'] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];

/** One period of a report: an ISO week, a calendar month or a calendar quarter, in local dates. */
export interface ReportPeriod {
  kind: ReportKind;
  /** `2026-W48`, `2026-11`, `2026-Q4`. */
  id: string;
  /** First and last day, inclusive. */
  start: string;
  end: string;
  /** Its number of days. */
  days: number;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');
const daysBetween = (a: string, b: string) => Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);

/** The Monday of ISO week 1 of `year` (the week holding 4 January). */
function isoWeekOneMonday(year: number): string {
  const jan4 = new Date(Date.UTC(year, 0, 4));
  const weekday = (jan4.getUTCDay() + 6) % 7; // Monday 0
  return addDays(jan4.toISOString().slice(0, 10), -weekday);
}

/** The ISO week (`2026-W48`) holding a date. */
export function isoWeekId(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  const weekday = (d.getUTCDay() + 6) % 7;
  const thursday = addDays(date, 3 - weekday);
  const year = Number(thursday.slice(0, 4));
  const week = Math.floor(daysBetween(isoWeekOneMonday(year), thursday) / 7) + 1;
  return `${year}-W${pad(week)}`;
}

function make(kind: ReportKind, start: string, end: string): ReportPeriod {
  const y = Number(start.slice(0, 4));
  const m = Number(start.slice(5, 7));
  const id = kind === 'weekly' ? isoWeekId(start) : kind === 'monthly' ? `${y}-${pad(m)}` : `${y}-Q${Math.floor((m - 1) / 3) + 1}`;
  return { kind, id, start, end, days: daysBetween(start, end) + 1 };
}

/** The first day of the month `months` months after the month of `date`. */
function monthStart(date: string, months: number): string {
  const total = Number(date.slice(0, 4)) * 12 + Number(date.slice(5, 7)) - 1 + months;
  return `${Math.floor(total / 12)}-${pad((total % 12) + 1)}-01`;
}

/** The period of `kind` that holds `date`. */
export function periodOf(kind: ReportKind, date: string): ReportPeriod {
  if (kind === 'weekly') {
    const weekday = (new Date(`${date}T00:00:00Z`).getUTCDay() + 6) % 7;
    const start = addDays(date, -weekday);
    return make(kind, start, addDays(start, 6));
  }
  const first = monthStart(date, 0);
  const start = kind === 'monthly' ? first : monthStart(first, -((Number(first.slice(5, 7)) - 1) % 3));
  return make(kind, start, addDays(monthStart(start, kind === 'monthly' ? 1 : 3), -1));
}

const FORMATS: Record<ReportKind, { pattern: RegExp; example: string }> = {
  weekly: { pattern: /^(\d{4})-W(\d{2})$/, example: '2026-W48' },
  monthly: { pattern: /^(\d{4})-(\d{2})$/, example: '2026-11' },
  quarterly: { pattern: /^(\d{4})-Q(\d)$/, example: '2026-Q4' },
};

/**
 * Parses `--period` for a kind of report: `2026-W48`, `2026-11` or `2026-Q4` (`w` and `q` in
 * either case), or a calendar date, which names the period of that kind holding it. A period
 * of another kind is named as such, with the command that takes it; a week 53 in a year of 52
 * weeks says where that year's last week ends.
 */
export function parsePeriod(kind: ReportKind, text: string): ReportPeriod {
  const given = text.trim().toUpperCase();
  const { pattern, example } = FORMATS[kind];
  const bad = (why = '') => new UsageError(`--period ${JSON.stringify(text)}: ${why || `a ${kind} report expects a period such as ${example}`}${why ? '' : ', or a date (YYYY-MM-DD) within it'}`);
  if (isCalendarDate(given)) return periodOf(kind, given);
  const m = pattern.exec(given);
  if (!m) {
    const other = REPORT_KINDS.find((k) => k !== kind && FORMATS[k].pattern.test(given) && isPeriod(k, given));
    if (other) throw bad(`${given} is a ${PERIOD_NAMES[other]}: use \`verite report ${other} --period ${given}\`, or give a ${kind} report a period such as ${example}`);
    const unpadded = /^(\d{4})-([WQ]?)(\d)$/.exec(given);
    if (unpadded && kind !== 'quarterly' && (unpadded[2] === 'W') === (kind === 'weekly')) throw bad(`write the ${PERIOD_NAMES[kind]} with two digits: ${unpadded[1]}-${unpadded[2]}0${unpadded[3]}`);
    throw bad();
  }
  const year = Number(m[1]);
  const n = Number(m[2]);
  if (kind === 'weekly') {
    const start = addDays(isoWeekOneMonday(year), (n - 1) * 7);
    if (n === 53 && isoWeekId(start) !== given) {
      const last = addDays(isoWeekOneMonday(year + 1), -1);
      throw bad(`${year} has 52 ISO weeks: its last, ${year}-W52, ends on ${last}; the week after is ${year + 1}-W01`);
    }
    if (n < 1 || isoWeekId(start) !== given) throw bad();
    return periodOf(kind, start);
  }
  if (kind === 'monthly') {
    if (n < 1 || n > 12) throw bad();
    return periodOf(kind, `${year}-${pad(n)}-01`);
  }
  if (n < 1 || n > 4) throw bad();
  return periodOf(kind, `${year}-${pad((n - 1) * 3 + 1)}-01`);
}

/** Whether `text` is a period of `kind` as {@link parsePeriod} takes it. */
function isPeriod(kind: ReportKind, text: string): boolean {
  try {
    parsePeriod(kind, text);
    return true;
  } catch {
    return false;
  }
}

const PERIOD_NAMES: Record<ReportKind, string> = { weekly: 'week', monthly: 'month', quarterly: 'quarter' };

/** The period just before. */
export function previousPeriod(p: ReportPeriod): ReportPeriod {
  return periodOf(p.kind, addDays(p.start, -1));
}

/**
 * The same period a year earlier: for a week, the week 52 weeks before (same weekdays, the
 * retail convention, so a Saturday is compared with a Saturday); for a month or quarter, the
 * same calendar one the year before.
 */
export function yearEarlier(p: ReportPeriod): ReportPeriod {
  if (p.kind === 'weekly') return periodOf(p.kind, addDays(p.start, -364));
  return periodOf(p.kind, `${Number(p.start.slice(0, 4)) - 1}${p.start.slice(4)}`);
}

/** The `count` periods ending with `p`, oldest first. */
export function trailingPeriods(p: ReportPeriod, count: number): ReportPeriod[] {
  const out = [p];
  while (out.length < count) out.unshift(previousPeriod(out[0]!));
  return out;
}

/** The months of a period (one for a month, three for a quarter), as their first days. */
export function monthsOf(p: ReportPeriod): string[] {
  const out: string[] = [];
  for (let m = p.start; m <= p.end; m = monthStart(m, 1)) out.push(m);
  return out;
}
