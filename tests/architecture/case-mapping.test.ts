import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Case is mapped by ASCII's rules in the SQL verite writes (`asciiUpper`, `asciiLower`, or
 * `collate "C"`), never by the database's: under a Turkish collation `upper('inr')` is `İNR`
 * (docs/architecture.md, "The database's collation"). A plain `upper(` or `lower(` in the
 * models, metrics or reports is the mistake this finds.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The lines of a source text that map case by the database's rules. */
export function plainCaseMappings(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line))
    .filter((line) => /\b(upper|lower)\s*\(|fn(<[^>]*>)?\(\s*'(upper|lower)'/.test(line) && !line.includes('collate "C"'));
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sources(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('case mapping in the SQL verite writes', () => {
  it('finds the plain upper and lower it is looking for', () => {
    expect(plainCaseMappings(`        eb.fn<string>('upper', [jsonText('_record', 'base')]).as('base'),`)).toHaveLength(1);
    expect(plainCaseMappings('select lower(email) from x')).toHaveLength(1);
    expect(plainCaseMappings('  return sql`(lower((${text}) collate "C") collate "default")`;')).toEqual([]);
    expect(plainCaseMappings(' * and `upper(\'i\')` is `İ`')).toEqual([]);
    expect(plainCaseMappings('asciiLower(x), ops.lower_texts(tags)')).toEqual([]);
  });

  it('maps case by ASCII rules only, in every model, metric and report', () => {
    const found = ['transforms', 'metrics', 'reports'].flatMap((room) =>
      sources(join(root, room)).flatMap((file) => plainCaseMappings(readFileSync(file, 'utf8')).map((line) => `${relative(root, file)}: ${line.trim()}`)),
    );
    expect(found).toEqual([]);
  });
});
