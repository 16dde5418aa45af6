import { describe, expect, it } from 'vitest';
import { checkRuntime, nodeVersionFinding } from '../../pipeline/runtime-check.ts';

/**
 * `verite check`'s line on the Node.js it runs on, judged on a date. The dates are the Node.js
 * Release Working Group's schedule (schedule.json of nodejs/Release): 20.x ends on 2026-04-30,
 * 22.x on 2027-04-30, 24.x on 2028-04-30, 26.x on 2029-04-30 (long-term support from
 * 2026-10-28), 25.x on 2026-06-01; 27.x gets no long-term support date there yet.
 */
const on = (date: string) => new Date(`${date}T00:00:00Z`);

describe('the Node.js line verite runs on', () => {
  it('past its end of life: a warning with the date, and the supported long-term lines to move to', () => {
    expect(nodeVersionFinding('20.20.2', on('2026-12-08'))).toEqual({
      level: 'warning',
      message:
        'Node.js 20.20.2: the 20.x line reached its end of life on 2026-04-30 and gets no more security fixes: move to Node.js 22 (supported until 2027-04-30), 24 (supported until 2028-04-30) or 26 (supported until 2029-04-30)',
    });
    // An odd line, which never had long-term support, ended on 2026-06-01.
    expect(nodeVersionFinding('25.9.0', on('2026-12-08')).message).toMatch(/^Node\.js 25\.9\.0: the 25\.x line reached its end of life on 2026-06-01 and/);
  });

  it('on its last day of support it still has it; the next day it has ended', () => {
    // 2026-04-29 is one day before 2026-04-30: within the 60 days.
    expect(nodeVersionFinding('20.20.2', on('2026-04-29')).message).toContain('reaches its end of life on 2026-04-30, in 1 day,');
    expect(nodeVersionFinding('20.20.2', on('2026-04-30')).message).toContain('reached its end of life on 2026-04-30');
  });

  it('within 60 days of its end: a warning with the days left; the line itself is no longer advised', () => {
    // 2027-03-15 to 2027-04-30: 16 days of March, 30 of April.
    expect(nodeVersionFinding('22.23.5', on('2027-03-15'))).toEqual({
      level: 'warning',
      message: 'Node.js 22.23.5: the 22.x line reaches its end of life on 2027-04-30, in 46 days, and then gets no more security fixes: move to Node.js 24 (supported until 2028-04-30) or 26 (supported until 2029-04-30)',
    });
    // 2027-03-01: 30 days of March and 30 of April, 60: still a warning; 2027-02-28: 61, not yet.
    expect(nodeVersionFinding('22.23.5', on('2027-03-01')).level).toBe('warning');
    expect(nodeVersionFinding('22.23.5', on('2027-02-28'))).toEqual({ level: 'ok', message: 'Node.js 22.23.5: the 22.x line gets security fixes until 2027-04-30' });
  });

  it('advises only the lines in long-term support on the date', () => {
    // On 2026-06-01 26.x is out but not yet in long-term support (from 2026-10-28).
    expect(nodeVersionFinding('20.20.2', on('2026-06-01')).message).toMatch(/: move to Node\.js 22 \(supported until 2027-04-30\) or 24 \(supported until 2028-04-30\)$/);
    // In March 2029 26.x has 46 days left and no later line has a long-term support date: where to look.
    expect(nodeVersionFinding('26.12.1', on('2029-03-15')).message).toMatch(/, in 46 days, and then gets no more security fixes: move to a long-term support line \(https:\/\/github\.com\/nodejs\/Release#release-schedule\)$/);
  });

  it('a supported line is ok, and a line the table does not know yet is ok with where to look', () => {
    expect(checkRuntime('24.22.3', on('2026-12-08'))).toEqual({ level: 'ok', findings: [{ level: 'ok', message: 'Node.js 24.22.3: the 24.x line gets security fixes until 2028-04-30' }] });
    expect(nodeVersionFinding('28.0.0', on('2028-06-01'))).toEqual({
      level: 'ok',
      message: "Node.js 28.0.0: a line not in verite's table of Node.js lines (as published on 2026-12-08); its end of life is at https://github.com/nodejs/Release#release-schedule",
    });
    // Older than any line in the table: long past its end.
    expect(checkRuntime('16.20.2', on('2026-12-08')).findings).toEqual([
      {
        level: 'warning',
        message: 'Node.js 16.20.2: a line past its end of life, older than any verite runs on: move to Node.js 22 (supported until 2027-04-30), 24 (supported until 2028-04-30) or 26 (supported until 2029-04-30)',
      },
    ]);
  });
});
