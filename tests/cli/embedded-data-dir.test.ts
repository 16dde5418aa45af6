import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/logger.ts';
import { demoDatabaseUrl, embeddedDataDir } from '../../warehouse/connection.ts';
import { dataDirReachable, fallbackDataDir, nearestExisting, reachableDataDir } from '../../warehouse/embedded.ts';

/**
 * Audit of issue 2: run as root, the embedded server runs as the postgres user, and a working
 * folder under a folder closed to it (0700) sends the warehouse to the system temp folder. The
 * warning must say that folder may be cleaned and how to choose a place; no empty .verite/ may
 * be left behind.
 */
const root = mkdtempSync(join(tmpdir(), 'verite-datadir-'));
chmodSync(root, 0o755); // mkdtemp makes it 0700; each test closes or opens its own folder below
afterAll(() => rmSync(root, { recursive: true, force: true }));
const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function capture() {
  const lines: string[] = [];
  const log = createLogger({ write: (l: string) => void lines.push(l) }, 'info');
  return { log, warnings: () => lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 40).map((l) => l.msg) };
}

describe('where the embedded warehouse lives', () => {
  it('decides from the nearest folder that exists, which the server’s user must be able to enter', () => {
    const work = join(root, 'decide', 'shop');
    mkdirSync(work, { recursive: true });
    const preferred = join(work, '.verite', 'pg');
    expect(nearestExisting(preferred)).toBe(work);
    const asked: string[] = [];
    expect(dataDirReachable(preferred, (p) => (asked.push(p), true))).toBe(true);
    expect(dataDirReachable(preferred, (p) => (asked.push(p), false))).toBe(false);
    expect(asked).toEqual([work, work]);
    // The fallback is named after the preferred folder, under the system temp folder.
    expect(fallbackDataDir(preferred)).toMatch(new RegExp(`^${tmpdir().replace(/[/\\\\]/g, '.')}.verite-[0-9a-f]{12}.pg$`));
    expect(fallbackDataDir(preferred)).toBe(fallbackDataDir(preferred));
  });

  it('under a 0700 folder: the temp folder, a warning that says it may be cleaned and how to choose, and no .verite/ left', () => {
    const closed = join(root, 'closed');
    const work = join(closed, 'shop');
    mkdirSync(work, { recursive: true });
    chmodSync(closed, 0o700);
    const preferred = join(work, '.verite', 'pg');
    const { log, warnings } = capture();
    const chosen = reachableDataDir(preferred, log);
    if (asRoot) {
      expect(chosen).toBe(fallbackDataDir(preferred));
      rmSync(dirname(chosen), { recursive: true }); // made (empty) to hold the warehouse
      expect(warnings()).toHaveLength(1);
      expect(warnings()[0]).toContain(`cannot reach ${preferred}: a folder above it is closed to other users`);
      expect(warnings()[0]).toContain('under the system temp folder, which the system may clean');
      expect(warnings()[0]).toContain('set VERITE_DATA_DIR to a folder the postgres user can reach');
      expect(existsSync(join(work, '.verite'))).toBe(false);
      // A folder the user chose is not replaced behind their back.
      expect(() => reachableDataDir(preferred, log, { explicit: true })).toThrow(/^VERITE_DATA_DIR: the postgres user .* cannot reach /);
    } else {
      // Not root: the server runs as this user, who can use the folder as it is.
      expect(chosen).toBe(preferred);
      expect(warnings()).toEqual([]);
    }
  });

  it('under an open folder: the folder itself, handed to the server’s user', () => {
    const open = join(root, 'open');
    const work = join(open, 'shop');
    mkdirSync(work, { recursive: true });
    chmodSync(open, 0o755);
    chmodSync(work, 0o755);
    const preferred = join(work, '.verite', 'pg');
    const { log, warnings } = capture();
    expect(reachableDataDir(preferred, log)).toBe(preferred);
    expect(warnings()).toEqual([]);
    if (asRoot) expect(statSync(preferred).uid).not.toBe(0);
  });
});

describe('issue 17: the demo shop has a warehouse of its own', () => {
  it('embedded: .verite/demo/pg beside .verite/pg (and under VERITE_DATA_DIR alike)', () => {
    const shop = join(root, 'demo-apart');
    expect(embeddedDataDir({ cwd: shop })).toBe(join(shop, '.verite', 'pg'));
    expect(embeddedDataDir({ cwd: shop, demo: true })).toBe(join(shop, '.verite', 'demo', 'pg'));
    expect(embeddedDataDir({ cwd: shop, dataDir: join(root, 'chosen') })).toBe(join(root, 'chosen', 'pg'));
    expect(embeddedDataDir({ cwd: shop, dataDir: join(root, 'chosen'), demo: true })).toBe(join(root, 'chosen', 'demo', 'pg'));
    // Their fallbacks under the temp folder (run as root, under a closed folder) differ too.
    expect(fallbackDataDir(embeddedDataDir({ cwd: shop, demo: true }))).not.toBe(fallbackDataDir(embeddedDataDir({ cwd: shop })));
  });

  it('with DATABASE_URL: the database <name>_demo on the same server, with the same login', () => {
    expect(demoDatabaseUrl('postgres://verite:p%40ss@db.example.com:5432/shop?sslmode=require')).toBe('postgres://verite:p%40ss@db.example.com:5432/shop_demo?sslmode=require');
    // No database in the URL: PostgreSQL's default, the user's name.
    expect(demoDatabaseUrl('postgres://verite@db.example.com')).toBe('postgres://verite@db.example.com/verite_demo');
  });
});
