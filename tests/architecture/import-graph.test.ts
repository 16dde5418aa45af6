import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult } from 'dependency-cruiser';
import extractBabelConfig from 'dependency-cruiser/config-utl/extract-babel-config';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The import graph of docs/architecture.md, "Rooms": every room imports only the rooms below
 * it, no module imports itself through others, and none imports another for its side effect.
 * `npm run lint:deps` says the same from the command line.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ROOMS = ['catalog', 'cli', 'config', 'extractors', 'lib', 'loaders', 'metrics', 'pipeline', 'reports', 'scheduler', 'transforms', 'warehouse'];

async function violationsOf(baseDir: string, rooms: string[]): Promise<string[]> {
  const options = await extractDepcruiseOptions(join(root, '.dependency-cruiser.cjs'));
  const babelConfig = await extractBabelConfig(join(root, '.dependency-cruiser.babel.cjs'));
  const result = await cruise([`{${rooms.join(',')}}/**/*.ts`], { ...options, baseDir, validate: true }, undefined, { babelConfig });
  const output = result.output as ICruiseResult;
  return output.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
}

const fixtures: string[] = [];
afterAll(() => fixtures.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A directory of rooms, each file given by its path and text. */
function house(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'verite-graph-'));
  fixtures.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/** Every .ts file of the repository, node_modules aside. */
function typescriptFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return typescriptFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The bare `import 'x'` statements of a module's text: imports made for their side effect. */
function sideEffectImports(text: string): string[] {
  return [...text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
}

describe('the import graph', () => {
  it('has no arrow from a lower room back to a higher one, no cycle, nothing unresolved', async () => {
    expect(await violationsOf(root, ROOMS)).toEqual([]);
  });

  it('catches a back-arrow, a sideways arrow and a cycle (the rules can fail)', async () => {
    const dir = house({
      // lib is the ground floor: importing the pipeline is a back-arrow.
      'lib/low.ts': "import { high } from '../pipeline/high.ts';\nexport const low = high + 1;\n",
      'pipeline/high.ts': 'export const high = 1;\n',
      // extractors and transforms share a floor.
      'extractors/a.ts': "import type { B } from '../transforms/b.ts';\nexport type A = B;\n",
      'transforms/b.ts': 'export type B = number;\n',
      // a cycle inside one room.
      'metrics/one.ts': "import { two } from './two.ts';\nexport const one = () => two();\n",
      'metrics/two.ts': "import { one } from './one.ts';\nexport const two = (): number => (one ? 2 : 0);\n",
    });
    const found = await violationsOf(dir, ['lib', 'pipeline', 'extractors', 'transforms', 'metrics']);
    expect(found).toContain('no-back-arrow-from-lib: lib/low.ts → pipeline/high.ts');
    expect(found).toContain('no-sideways-arrow-from-extractors: extractors/a.ts → transforms/b.ts');
    expect(found.filter((v) => v.startsWith('no-circular: metrics/')).length).toBeGreaterThan(0);
    // Nothing else: the imports that go downward are not flagged.
    expect(found.every((v) => /^(no-back-arrow-from-lib|no-sideways-arrow-from-extractors|no-circular): /.test(v))).toBe(true);
  });

  it('no module imports another for its side effect', () => {
    const found = typescriptFiles(root).flatMap((file) => sideEffectImports(readFileSync(file, 'utf8')).map((spec) => `${relative(root, file)}: import '${spec}'`));
    expect(found).toEqual([]);
  });

  it('tells a side-effect import from the others', () => {
    const text = ["import '../extractors/index.ts';", 'import "./x.ts";', "import { a } from './a.ts';", "import type { B } from './b.ts';", "export * from './c.ts';", "  const m = await import('./d.ts');"].join('\n');
    expect(sideEffectImports(text)).toEqual(['../extractors/index.ts', './x.ts']);
  });
});
