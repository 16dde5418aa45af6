import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { catalogStreams } from '../../catalog/catalog.ts';

/** The stream catalogue as docs/architecture.md lists it, one table row per stream. */
function documentedStreams(): string[] {
  const text = readFileSync(new URL('../../docs/architecture.md', import.meta.url), 'utf8');
  const start = text.indexOf('<!-- stream catalogue');
  const end = text.indexOf('<!-- end of stream catalogue -->');
  return text
    .slice(start, end)
    .split('\n')
    .filter((line) => line.startsWith('| `'));
}

describe('docs/architecture.md', () => {
  it('lists every stream of the catalogue as it is, in catalogue order', () => {
    const expected = catalogStreams().map(
      (s) =>
        `| \`${s.name}\` | ${s.identity.kind} | ${s.identity.keyDescription} | ${s.identity.cursorDescription} | ${s.identity.defaultLookbackDays} | \`${s.rawTable}\` | ${s.identity.datesData === false ? 'no' : 'yes'} |`,
    );
    // A failure prints the rows to paste into the page.
    expect(documentedStreams()).toEqual(expected);
  });
});
