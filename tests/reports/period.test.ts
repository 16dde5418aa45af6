import { describe, expect, it } from 'vitest';
import { parsePeriod } from '../../reports/period.ts';

/** `verite report --period`: the forms it takes, and what it says of those it does not. */
describe('a report period', () => {
  it('takes an ISO week, a month or a quarter, in either case', () => {
    // ISO week 1 of 2026 begins on Monday 29 December 2025 (1 January 2026 is a Thursday).
    expect(parsePeriod('weekly', '2026-W01')).toMatchObject({ id: '2026-W01', start: '2025-12-29', end: '2026-01-04', days: 7 });
    expect(parsePeriod('weekly', '2026-w53')).toMatchObject({ id: '2026-W53', start: '2026-12-28', end: '2027-01-03' });
    expect(parsePeriod('monthly', '2024-02')).toMatchObject({ id: '2024-02', start: '2024-02-01', end: '2024-02-29', days: 29 });
    expect(parsePeriod('quarterly', ' 2026-q4 ')).toMatchObject({ id: '2026-Q4', start: '2026-10-01', end: '2026-12-31', days: 92 });
  });

  it('takes a date for the period holding it', () => {
    // Sunday 1 November 2026 ends ISO week 44 (Monday 26 October to Sunday 1 November).
    expect(parsePeriod('weekly', '2026-11-01')).toMatchObject({ id: '2026-W44', start: '2026-10-26', end: '2026-11-01' });
    expect(parsePeriod('monthly', '2026-11-30')).toMatchObject({ id: '2026-11', start: '2026-11-01', end: '2026-11-30' });
    expect(parsePeriod('quarterly', '2026-08-15')).toMatchObject({ id: '2026-Q3', start: '2026-07-01', end: '2026-09-30' });
  });

  it('names a period of another kind with the command that takes it', () => {
    expect(() => parsePeriod('weekly', '2026-11')).toThrow('--period "2026-11": 2026-11 is a month: use `verite report monthly --period 2026-11`, or give a weekly report a period such as 2026-W48');
    expect(() => parsePeriod('monthly', '2026-q4')).toThrow('--period "2026-q4": 2026-Q4 is a quarter: use `verite report quarterly --period 2026-Q4`, or give a monthly report a period such as 2026-11');
    // Not a month either: the plain refusal.
    expect(() => parsePeriod('weekly', '2026-13')).toThrow('--period "2026-13": a weekly report expects a period such as 2026-W48, or a date (YYYY-MM-DD) within it');
  });

  it('says where a year of 52 weeks ends, and asks for two digits', () => {
    // 2025 begins on a Wednesday and is no leap year: 52 ISO weeks, the last ending Sunday 28 December.
    expect(() => parsePeriod('weekly', '2025-W53')).toThrow('--period "2025-W53": 2025 has 52 ISO weeks: its last, 2025-W52, ends on 2025-12-28; the week after is 2026-W01');
    expect(() => parsePeriod('weekly', '2026-W5')).toThrow('--period "2026-W5": write the week with two digits: 2026-W05');
    expect(() => parsePeriod('monthly', '2026-5')).toThrow('--period "2026-5": write the month with two digits: 2026-05');
    expect(() => parsePeriod('weekly', '2026-02-30')).toThrow('a weekly report expects a period such as 2026-W48, or a date (YYYY-MM-DD) within it');
  });
});
