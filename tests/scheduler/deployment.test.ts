import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { configSchema } from '../../config/schema.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { spawnCli, waitFor } from '../support/spawn-script.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => readFileSync(join(root, file), 'utf8');

interface ComposeService {
  image?: string;
  shm_size?: string;
  build?: unknown;
  command?: string[];
  depends_on?: Record<string, { condition?: string }>;
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test?: string[] };
}

describe('Docker deployment (no engine here: the files are checked, and the command they run is run)', () => {
  it('docker-compose.yml parses and wires PostgreSQL 16 and the verite scheduler together', () => {
    const compose = parseYaml(read('docker-compose.yml')) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };
    expect(Object.keys(compose.services).sort()).toEqual(['postgres', 'verite']);
    const { postgres, verite } = compose.services as { postgres: ComposeService; verite: ComposeService };
    expect(postgres.image).toBe('postgres:16');
    // Parallel workers' shared memory: a container's default 64 MB /dev/shm failed a first build at 1M orders.
    expect(postgres.shm_size).toBe('1g');
    expect(postgres.volumes).toEqual(['pgdata:/var/lib/postgresql/data']);
    expect(Object.keys(compose.volumes)).toEqual(['pgdata', 'reports']);
    expect(postgres.healthcheck?.test).toEqual(['CMD-SHELL', 'pg_isready -U verite -d verite']);
    // verite starts once PostgreSQL answers, and reaches it by its service name.
    expect(verite.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(verite.environment?.DATABASE_URL).toBe('postgres://verite:${POSTGRES_PASSWORD}@postgres:5432/verite');
    expect(verite.command).toEqual(['schedule']);
    // The config file it is told to read is the one mounted.
    expect(verite.volumes).toContain(`./verite.config.json:${verite.environment?.VERITE_CONFIG}:ro`);
    // The scheduled reports go into the default reportsDir, .verite/reports under the image's
    // WORKDIR /app: a volume of their own, since the rest of /app is root's and the service runs
    // as node. Issue: the deployment had no writable reportsDir.
    expect(configSchema.parse({}).reportsDir).toBe('.verite/reports');
    expect(verite.volumes).toContain('reports:/app/.verite/reports');
    // Every secret the config's ...Env keys name by default is passed from the environment, never written here.
    for (const name of ['SHOPIFY_ACCESS_TOKEN', 'STRIPE_SECRET_KEY', 'GOOGLE_ADS_DEVELOPER_TOKEN', 'GOOGLE_ADS_CLIENT_ID', 'GOOGLE_ADS_CLIENT_SECRET', 'GOOGLE_ADS_REFRESH_TOKEN', 'META_ACCESS_TOKEN', 'EASYPOST_API_KEY']) {
      expect(verite.environment?.[name]).toBe(`\${${name}:-}`);
    }
  });

  it('the Dockerfile builds on node:24-slim (Node 20 ended on 2026-04-30) with npm ci and runs `node bin/verite.js schedule`', () => {
    const lines = read('Dockerfile').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    expect(lines[0]).toBe('FROM node:24-slim');
    expect(lines.some((l) => /^RUN npm ci\b/.test(l))).toBe(true);
    expect(lines).toContain('ENTRYPOINT ["node", "bin/verite.js"]');
    expect(lines).toContain('CMD ["schedule"]');
    // The folder the reports volume mounts on is made, and given to node, before the image runs as node.
    expect(lines).toContain('WORKDIR /app');
    const chown = lines.findIndex((l) => l === 'RUN mkdir -p .verite/reports && chown -R node:node .verite');
    expect(chown).toBeGreaterThan(lines.indexOf('WORKDIR /app'));
    expect(chown).toBeLessThan(lines.indexOf('USER node'));
    expect(existsSync(join(root, 'bin/verite.js'))).toBe(true);
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['node_modules', '.verite', '.env']) expect(ignored).toContain(entry);
  });

  it("CI runs the files that differ between Node.js lines again on the image's line, and each of those files exists", () => {
    const ci = read('.ci/run');
    const version = /^\s*image_node=(\d+)\.\d+\.\d+$/m.exec(ci)?.[1];
    expect(version).toBe('24'); // the Dockerfile's node:24-slim
    const files = [...ci.matchAll(/\b(tests\/[\w/.-]+\.test\.ts)\b/g)].map((m) => m[1]!);
    expect(files).toEqual(expect.arrayContaining(['tests/cli/proxy.test.ts', 'tests/scheduler/reload.test.ts', 'tests/config/config.test.ts', 'tests/warehouse/tls.test.ts', 'tests/architecture/start-up.test.ts']));
    for (const file of files) expect(existsSync(join(root, file)), file).toBe(true);
  });

  it('`verite schedule --help` is a registered command', async () => {
    const res = await runCli(['schedule', '--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Usage: verite schedule');
  });
});

describe('verite schedule (the image command), in a child process', () => {
  let wh: Warehouse;
  let dir: string;
  beforeAll(async () => {
    wh = await createTestDatabase('schedule_cli');
    dir = mkdtempSync(join(tmpdir(), 'verite-schedule-cli-'));
  });
  afterAll(async () => {
    await wh?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fires on its cron expression, records each firing, and exits 0 on SIGTERM', async () => {
    const config = join(dir, 'verite.config.json');
    // One source that reads nothing (fx with neither a file nor the ECB): each run has nothing
    // new to land, and still leaves its row. (With no source at all, schedule is a usage error.)
    writeFileSync(config, JSON.stringify({ schedules: [{ cron: '* * * * * *' }], sources: { fx: {} } }));
    const proc = spawnCli(['schedule'], { DATABASE_URL: wh.url, VERITE_CONFIG: config });
    const finished = () => proc.logLines().filter((l) => l.msg === 'scheduled run finished' || l.msg === 'run skipped');
    try {
      await waitFor('a scheduled run to finish', () => finished().length >= 1);
    } finally {
      proc.child.kill('SIGTERM');
    }
    const exit = await proc.exited;
    expect(exit.code, proc.stderr()).toBe(0);
    const fired = proc.logLines().filter((l) => l.msg === 'schedule fired');
    expect(proc.stdout()).toContain(`Scheduler stopped after ${fired.length} firing(s).`);
    expect(proc.stdout()).toMatch(/cron\s+sources\s+next\n/);
    const rows = await wh.db.selectFrom('ops.runs').select(['id', 'trigger', 'status']).execute();
    expect(rows.map((r) => r.id).sort()).toEqual(fired.map((l) => l.runId as string).sort());
    expect(rows.every((r) => r.trigger === 'schedule * * * * * *' && r.status !== 'running')).toBe(true);
  });
});
