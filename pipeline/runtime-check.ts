import { ok, warning, worstLevel, type CheckFinding, type CheckLevel } from '../extractors/check.ts';

/**
 * `verite check`'s look at the Node.js it runs on: verite runs from its sources on Node.js, so a
 * line past its end of life (no more security fixes) is what a demanding operator wants to hear
 * of, as of an API version near its end. A warning, never a problem: verite still runs there.
 */

/** The day the lines below were read from the Node.js Release Working Group's schedule. */
export const NODE_SCHEDULE_AS_OF = '2026-12-08';

/** Where the schedule is published. */
export const NODE_SCHEDULE_REFERENCE = 'https://github.com/nodejs/Release#release-schedule';

/** How far ahead of a line's end of life it is reported as a warning (as an API version's). */
export const NODE_END_OF_LIFE_WARNING_DAYS = 60;

/**
 * Each release line's first day of long-term support (null for the odd lines, which get none)
 * and its end of life, from `schedule.json` of nodejs/Release (docs/sources/node.md).
 */
const NODE_LINES: Readonly<Record<number, { lts: string | null; end: string }>> = {
  18: { lts: '2022-10-25', end: '2025-04-30' },
  19: { lts: null, end: '2023-06-01' },
  20: { lts: '2023-10-24', end: '2026-04-30' },
  21: { lts: null, end: '2024-06-01' },
  22: { lts: '2024-10-29', end: '2027-04-30' },
  23: { lts: null, end: '2025-06-01' },
  24: { lts: '2025-10-28', end: '2028-04-30' },
  25: { lts: null, end: '2026-06-01' },
  26: { lts: '2026-10-28', end: '2029-04-30' },
  27: { lts: null, end: '2030-04-30' },
};
const KNOWN = Object.keys(NODE_LINES).map(Number);

const DAY_MS = 86_400_000;
const dayOf = (date: string) => Date.parse(`${date}T00:00:00Z`);

/**
 * What to move to on `asOf`: the long-term support lines already in it that stay supported past
 * the warning's reach, with their ends, e.g. `Node.js 24 (supported until 2028-04-30) or 26 (…)`.
 */
function advice(asOf: Date): string {
  const lines = KNOWN.filter((major) => {
    const life = NODE_LINES[major]!;
    return life.lts !== null && dayOf(life.lts) <= asOf.getTime() && dayOf(life.end) - asOf.getTime() > NODE_END_OF_LIFE_WARNING_DAYS * DAY_MS;
  });
  if (!lines.length) return `move to a long-term support line (${NODE_SCHEDULE_REFERENCE})`;
  const named = lines.map((major, i) => `${i === 0 ? 'Node.js ' : ''}${major} (supported until ${NODE_LINES[major]!.end})`);
  return `move to ${named.length > 1 ? `${named.slice(0, -1).join(', ')} or ${named.at(-1)}` : named[0]}`;
}

/** The Node.js `version` (as `process.versions.node` gives it, e.g. `20.20.2`) judged on `asOf`. */
export function nodeVersionFinding(version: string, asOf: Date): CheckFinding {
  const major = Number.parseInt(version, 10);
  const name = `Node.js ${version}`;
  const life = NODE_LINES[major];
  if (!life) {
    if (Number.isFinite(major) && major < Math.min(...KNOWN)) return warning(`${name}: a line past its end of life, older than any verite runs on: ${advice(asOf)}`);
    return ok(`${name}: a line not in verite's table of Node.js lines (as published on ${NODE_SCHEDULE_AS_OF}); its end of life is at ${NODE_SCHEDULE_REFERENCE}`);
  }
  if (asOf.getTime() >= dayOf(life.end)) {
    return warning(`${name}: the ${major}.x line reached its end of life on ${life.end} and gets no more security fixes: ${advice(asOf)}`);
  }
  const daysLeft = Math.floor((dayOf(life.end) - asOf.getTime()) / DAY_MS);
  if (daysLeft <= NODE_END_OF_LIFE_WARNING_DAYS) {
    return warning(`${name}: the ${major}.x line reaches its end of life on ${life.end}, in ${daysLeft} day${daysLeft === 1 ? '' : 's'}, and then gets no more security fixes: ${advice(asOf)}`);
  }
  return ok(`${name}: the ${major}.x line gets security fixes until ${life.end}`);
}

/** The row `verite check` gives the Node.js it runs on. */
export function checkRuntime(version: string, asOf: Date): { level: CheckLevel; findings: CheckFinding[] } {
  const findings = [nodeVersionFinding(version, asOf)];
  return { level: worstLevel(findings), findings };
}
