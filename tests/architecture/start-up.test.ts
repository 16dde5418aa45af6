import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Every command starts by loading the whole command line (`cli/program.ts`). Node loads ES
 * modules one file at a time through tsx's hooks, so a library imported there costs every
 * command its every file: ECharts alone was some 600 files and a second of each start. The
 * libraries only some commands use are loaded when used (DECISIONLOG.md, "Libraries loaded when
 * used").
 */
const dir = mkdtempSync(join(tmpdir(), 'verite-start-up-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The npm packages whose ES modules `verite <args>` loads. */
async function packagesLoaded(args: string[]): Promise<Set<string>> {
  const file = join(dir, `loaded-${args.join('-')}.txt`);
  const child = spawn(process.execPath, ['--import', new URL('../support/record-module-loads.mjs', import.meta.url).href, fileURLToPath(new URL('../../bin/verite.js', import.meta.url)), ...args], {
    env: { ...process.env, VERITE_TEST_LOADED_MODULES: file },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  expect(code, stderr).toBe(0);
  const packages = readFileSync(file, 'utf8')
    .split('\n')
    .map((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1])
    .filter((name): name is string => name !== undefined);
  return new Set(packages);
}

describe('the command line at start', () => {
  it('loads neither the chart library nor a source SDK; those load when a report is drawn or a source read', async () => {
    const loaded = await packagesLoaded(['--help']);
    // What every command needs is there: the recording sees the start.
    expect(loaded).toContain('commander');
    expect(loaded).toContain('kysely');
    for (const library of ['echarts', 'zrender', 'stripe', 'facebook-nodejs-business-sdk', '@google-analytics/data', 'google-ads-api', 'google-gax']) {
      expect(loaded, library).not.toContain(library);
    }
  });
});
