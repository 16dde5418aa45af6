import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import nodeModule from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';

/**
 * Every command starts by loading the whole command line (`cli/program.ts`). Node loads ES
 * modules one file at a time through tsx's hooks, so a library imported there costs every
 * command its every file: ECharts alone was some 600 files and a second of each start. The
 * libraries only some commands use are loaded when used (DECISIONLOG.md, "Libraries loaded when
 * used").
 */
const dir = mkdtempSync(join(tmpdir(), 'verite-start-up-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The source SDKs: loaded by a source's reading or checking code, when it reads or checks. */
const SDKS = ['stripe', 'facebook-nodejs-business-sdk', '@google-analytics/data', 'google-ads-api', 'google-gax'];

/** The starts recorded so far, for their files' names. */
let starts = 0;

/**
 * The files (ES modules and CommonJS alike) that `verite <args>` loads from each npm package,
 * as `package → paths inside it`, after checking the command succeeded.
 */
async function filesLoaded(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<Map<string, Set<string>>> {
  // A file of each start's own: two starts with the same arguments must not read each other's.
  const file = join(dir, `loaded-${++starts}-${args.join('-')}.txt`);
  const child = spawn(process.execPath, ['--import', new URL('../support/record-module-loads.mjs', import.meta.url).href, fileURLToPath(new URL('../../bin/verite.js', import.meta.url)), ...args], {
    env: { ...process.env, ...env, VERITE_TEST_LOADED_MODULES: file },
    ...(cwd ? { cwd } : {}),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  expect(code, stderr).toBe(0);
  const packages = new Map<string, Set<string>>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const found = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(line);
    if (!found) continue;
    const [, name, path] = found as unknown as [string, string, string];
    if (!packages.has(name)) packages.set(name, new Set());
    packages.get(name)!.add(path);
  }
  return packages;
}

describe('the command line at start', () => {
  it('loads neither the chart library, the mailer nor a source SDK; those load when a report is drawn or sent, or a source read', async () => {
    const loaded = [...(await filesLoaded(['--help'])).keys()];
    // What every command needs is there: the recording sees the start.
    expect(loaded).toContain('commander');
    expect(loaded).toContain('kysely');
    for (const library of ['echarts', 'zrender', 'nodemailer', ...SDKS]) {
      expect(loaded, library).not.toContain(library);
    }
  });
});

/** This Node.js strips TypeScript's types itself, without a warning (24.3 and later): `bin/verite.js` then runs the sources without tsx. */
const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
const stripsTypes = Boolean((process.features as { typescript?: unknown }).typescript) && (major > 24 || (major === 24 && minor >= 3));

describe('the libraries every command loads', () => {
  // CI runs this file on the machine's Node.js and on Node.js 24 (.ci/run): each branch is met.
  it('loads no module through tsx where Node.js strips types, else Kysely and zod from their CommonJS builds, from any working folder', async () => {
    // From a folder of its own (a user's project, say, with a tsconfig.json of its own): the
    // loader takes verite's settings (tsconfig.runtime.json), not the working folder's.
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere, { recursive: true });
    writeFileSync(join(elsewhere, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: false } }));
    const loaded = await filesLoaded(['--help'], {}, elsewhere);
    const kysely = [...(loaded.get('kysely') ?? [])];
    const zod = [...(loaded.get('zod') ?? [])].filter((path) => path !== 'package.json');
    expect(kysely.length).toBeGreaterThan(0);
    expect(zod.length).toBeGreaterThan(0);
    if (stripsTypes) {
      // Every module natively: nothing of tsx, its esbuild or its tsconfig reader.
      expect([...loaded.keys()].filter((name) => ['tsx', 'esbuild', 'get-tsconfig'].includes(name))).toEqual([]);
    } else {
      expect(loaded.has('tsx')).toBe(true);
      // Kysely's CommonJS build is its dist/cjs folder; zod's, its .cjs files.
      expect(kysely.filter((path) => !path.startsWith('dist/cjs/') && path !== 'package.json' && path !== 'dist/cjs/package.json')).toEqual([]);
      expect(zod.filter((path) => !path.endsWith('.cjs'))).toEqual([]);
    }
  });

  /** `verite --version` with this environment (no compile cache variable of the test's own) in `cwd`. */
  async function startWith(env: Record<string, string>, cwd: string): Promise<void> {
    const full: Record<string, string | undefined> = { ...process.env, ...env };
    for (const name of ['NODE_COMPILE_CACHE', 'NODE_DISABLE_COMPILE_CACHE', 'XDG_CACHE_HOME']) if (!(name in env)) delete full[name];
    const child = spawn(process.execPath, [fileURLToPath(new URL('../../bin/verite.js', import.meta.url)), '--version'], { env: full, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    expect(code, out).toBe(0);
  }

  it("keeps what it compiled in the user's cache folder, not the temp folder, where Node.js has a compile cache (22.1 and later)", async () => {
    const home = mkdtempSync(join(dir, 'home-'));
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    const work = mkdtempSync(join(dir, 'work-'));
    const xdg = mkdtempSync(join(dir, 'xdg-'));
    const hasCache = typeof (nodeModule as { enableCompileCache?: unknown }).enableCompileCache === 'function';
    const filled = (folder: string) => existsSync(folder) && readdirSync(folder, { recursive: true }).length > 0;
    // In ~/.cache; a relative XDG_CACHE_HOME is ignored (nothing in the working folder).
    await startWith({ HOME: home, TMPDIR: tmp, XDG_CACHE_HOME: 'relative' }, work);
    expect(filled(join(home, '.cache', 'verite', 'node-compile-cache'))).toBe(hasCache);
    expect(existsSync(join(tmp, 'node-compile-cache'))).toBe(false);
    expect(readdirSync(work)).toEqual([]);
    // An absolute XDG_CACHE_HOME is taken.
    await startWith({ HOME: home, TMPDIR: tmp, XDG_CACHE_HOME: xdg }, work);
    expect(filled(join(xdg, 'verite', 'node-compile-cache'))).toBe(hasCache);
  });
});

describe('verite status with every SDK source configured', () => {
  let wh: Warehouse;
  beforeAll(async () => {
    wh = await createTestDatabase('start_up_status');
  });
  afterAll(async () => wh?.close());

  it('names their API versions without loading their SDKs: only the files that hold the pinned versions', async () => {
    const config = join(dir, 'status.json');
    writeFileSync(
      config,
      JSON.stringify({
        reportingTimezone: 'UTC',
        sources: {
          stripe: {},
          ga4: { propertyIds: ['123456789'] },
          google_ads: { customerIds: ['1234567890'] },
          meta_ads: { adAccountIds: ['act_111'] },
        },
      }),
    );
    const loaded = await filesLoaded(['status', '--format', 'json'], { DATABASE_URL: wh.url, VERITE_CONFIG: config });
    expect([...loaded.keys()]).toContain('kysely');
    // google-ads-api's version is its build's version.js and its package.json; Stripe's, its
    // apiVersion.js (extractors/api-versions.ts). Nothing else of an SDK, and no client.
    const versionFiles = ['google-ads-api/build/src/version.js', 'google-ads-api/package.json', 'stripe/cjs/apiVersion.js'];
    const sdkFiles = SDKS.flatMap((sdk) => [...(loaded.get(sdk) ?? [])].map((path) => `${sdk}/${path}`));
    expect(sdkFiles.filter((f) => !versionFiles.includes(f))).toEqual([]);
    // The versions were read in this process: the command reached its API versions.
    expect(sdkFiles).toContain('stripe/cjs/apiVersion.js');
    expect(sdkFiles).toContain('google-ads-api/build/src/version.js');
  });
});
