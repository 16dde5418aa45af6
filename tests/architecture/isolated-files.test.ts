import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isIsolated } from '../support/isolated-files.ts';

/**
 * Most test files share their worker processes, and the modules loaded there (vitest.config.ts).
 * A module mock (`vi.mock`) is applied when the module is first loaded, so in a shared process it
 * takes effect only if no earlier file loaded that module: the test then passes or fails by the
 * order the files ran in (report-retry.test.ts's mock of node-cron did, its cron tasks never
 * reaching the test). Every file that mocks a module must run in a process of its own.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const testFiles = (readdirSync(`${root}tests`, { recursive: true }) as string[])
  .map((f) => `tests/${f.split('\\').join('/')}`)
  .filter((f) => f.endsWith('.test.ts'));
const mocking = testFiles.filter((f) => /\bvi\s*\.\s*(mock|doMock|unmock|doUnmock)\s*\(/.test(readFileSync(`${root}${f}`, 'utf8')));

describe('the test files that share processes', () => {
  it('leave out every file that mocks a module', () => {
    // The two that do today: found, so the check reads the files it means to.
    expect(mocking).toEqual(expect.arrayContaining(['tests/scheduler/report-retry.test.ts', 'tests/reports/chart-fonts-reads.test.ts']));
    expect(mocking.filter((f) => !isIsolated(f))).toEqual([]);
  });

  it('are told from the isolated ones by folder or by file', () => {
    expect(isIsolated('tests/architecture/start-up.test.ts')).toBe(true);
    expect(isIsolated('tests/reports/chart-fonts-reads.test.ts')).toBe(true);
    expect(isIsolated('tests/scheduler/reload.test.ts')).toBe(false);
    expect(isIsolated('tests/reports/delivery.test.ts')).toBe(false);
    expect(isIsolated('tests/cli/cli.test.ts')).toBe(false);
    expect(testFiles.filter(isIsolated).length).toBeLessThan(testFiles.length / 2);
  });
});
