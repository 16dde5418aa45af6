import { expect } from 'vitest';

/** An expected value: a number (compared to 9 decimals), a string, a boolean, or null. */
export type Expected = number | string | boolean | null;

/**
 * Asserts that `actual` has exactly the columns of `expected` and that each column holds the
 * expected value: numbers (bigint counts, numeric strings) to 9 decimal places, NULL as null.
 */
export function expectRow(actual: Record<string, unknown> | undefined, expected: Record<string, Expected>, label: string): void {
  expect(actual, `${label}: row missing`).toBeDefined();
  expect(Object.keys(actual!).sort(), `${label}: columns`).toEqual(Object.keys(expected).sort());
  for (const [column, want] of Object.entries(expected)) {
    const got = actual![column];
    const where = `${label}.${column}`;
    if (want === null) expect(got, where).toBeNull();
    else if (typeof want === 'number') {
      expect(got, where).not.toBeNull();
      expect(Number(got), where).toBeCloseTo(want, 9);
    } else expect(got, where).toBe(want);
  }
}

/** Every date from `from` to `to`, inclusive, as YYYY-MM-DD. */
export function datesBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = new Date(`${from}T00:00:00Z`); d <= new Date(`${to}T00:00:00Z`); d.setUTCDate(d.getUTCDate() + 1)) out.push(d.toISOString().slice(0, 10));
  return out;
}
