import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.ts';
import { configSchema, type VeriteConfig } from '../../config/schema.ts';
import type { Source } from '../../extractors/types.ts';
import { createLogger } from '../../lib/logger.ts';
import { startReloadableScheduler } from '../../scheduler/reload.ts';
import type { RunJobResult } from '../../scheduler/run-job.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { createFakeTables, fakeSource } from '../support/fake-source.ts';
import { heldTimers } from '../support/held-timers.ts';
import { spawnCli, waitFor } from '../support/spawn-script.ts';

/**
 * `verite schedule` reads its configuration again on SIGHUP (systemd's `ExecReload`), without
 * stopping: the next firings follow the new schedules, a run in progress finishes as it began,
 * and a configuration that would be refused changes nothing. The first firing of each test is a
 * missed one made up at start, on an injected clock; the retry timers are the test's.
 */

let wh: Warehouse;
let dir: string;
beforeAll(async () => {
  wh = await createTestDatabase('schedule_reload');
  await createFakeTables(wh.db);
  dir = mkdtempSync(join(tmpdir(), 'verite-reload-'));
  chmodSync(dir, 0o755);
});
afterAll(async () => {
  await wh?.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await wh.pool.query(`delete from ops.runs`);
  // The nightly schedule (03:00 UTC) fired on 4 December; the scheduler starts on the 6th at 10:00 UTC.
  await wh.pool.query(`insert into ops.runs (id, kind, trigger, status, started_at, finished_at) values ('past', 'run', 'schedule 0 3 * * *', 'succeeded', '2026-12-04T03:00:02Z', '2026-12-04T03:00:09Z')`);
});

function scheduled(source: Source<unknown>, reread: () => Promise<VeriteConfig>) {
  const config = configSchema.parse({ schedules: [{ cron: '0 3 * * *' }], retries: { streamAttempts: 1, backoffSeconds: 0 } });
  const { timers, held } = heldTimers();
  const jobs: RunJobResult[] = [];
  const lines: { msg: string; [k: string]: unknown }[] = [];
  let waiting: (() => void) | undefined;
  const scheduler = startReloadableScheduler({
    warehouse: wh, config, log: createLogger({ write: (line: string) => void lines.push(JSON.parse(line)) }, 'info'), steps: [], timers,
    resolve: () => [{ source, config: {} }],
    now: () => new Date('2026-12-06T10:00:00Z'),
    onJob: (r) => {
      jobs.push(r);
      waiting?.();
    },
    reread,
  });
  const ended = (n: number) => new Promise<void>((resolve) => {
    waiting = () => jobs.length >= n && resolve();
    waiting();
  });
  return { scheduler, jobs, held, lines, ended };
}

const runs = async () => (await wh.pool.query<{ status: string; trigger: string; error: string | null }>(`select status, trigger, error from ops.runs where id <> 'past' order by started_at`)).rows;

describe('verite schedule reading its configuration again', () => {
  it('arms the new schedules at once, and lets the run in progress finish as it began', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let reading = false;
    const source = fakeSource({ streams: ['ticks'], pages: 1, beforePage: async () => ((reading = true), released) });
    const next = configSchema.parse({ schedules: [{ cron: '30 4 * * *' }, { cron: '0 12 * * 1', sources: ['fake'] }], retries: { streamAttempts: 1, backoffSeconds: 0 } });
    const { scheduler, jobs, ended } = scheduled(source, async () => next);
    expect(scheduler.entries.map((e) => e.cron)).toEqual(['0 3 * * *']);
    // The made-up firing of 6 December 03:00 is reading its first page when the reload comes.
    await waitFor('the made-up run to read', () => reading);
    const outcome = await scheduler.reload();
    expect(outcome.reloaded).toBe(true);
    // From the injected 6 December 10:00 UTC: 04:30 the next day, and Monday 7 December at noon.
    expect(scheduler.entries).toEqual([
      { cron: '30 4 * * *', sources: 'all', next: new Date('2026-12-07T04:30:00Z') },
      { cron: '0 12 * * 1', sources: ['fake'], next: new Date('2026-12-07T12:00:00Z') },
    ]);
    expect(scheduler.config).toBe(next);
    release();
    await ended(1);
    await scheduler.stop();
    // Not cut short by the reload, and not fired again by it (the new scheduler looks for no missed firing).
    expect(jobs.map((j) => j.status)).toEqual(['succeeded']);
    expect(await runs()).toEqual([{ status: 'succeeded', trigger: 'schedule 0 3 * * * (caught up: missed 2026-12-06T03:00:00.000Z)', error: null }]);
    expect(scheduler.firings).toBe(1);
  });

  it('drops the retry planned under the old configuration, saying so; the new schedules fire at their time', async () => {
    let reads = 0;
    const base = fakeSource({ streams: ['ticks'], pages: 1 });
    const failing: Source<unknown> = {
      ...base,
      streams: [{ ...base.streams[0]!, async *read() { reads++; throw new Error('HTTP 503 Service Unavailable'); } }],
    };
    const next = configSchema.parse({ schedules: [{ cron: '30 4 * * *' }] });
    const { scheduler, jobs, held, lines, ended } = scheduled(failing, async () => next);
    await ended(1);
    expect(jobs[0]!.status).toBe('failed');
    expect(held.map((t) => [t.ms, t.cleared])).toEqual([[30 * 60_000, false]]);
    expect((await scheduler.reload()).reloaded).toBe(true);
    expect(held[0]!.cleared).toBe(true);
    expect(lines.find((l) => l.msg.startsWith('the retry of a failed run is dropped'))).toMatchObject({
      msg: 'the retry of a failed run is dropped with the configuration it was planned under: the schedule fires again at its next time',
      schedule: '0 3 * * *',
      runId: jobs[0]!.runId,
    });
    // Fired anyway, the dropped timer runs nothing.
    held[0]!.fire();
    await scheduler.stop();
    expect(reads).toBe(1);
    expect((await runs()).map((r) => r.status)).toEqual(['failed']);
  });

  it('keeps the retry of a failed run through a reload that keeps its schedule, fired at its time for the failed source', async () => {
    let reads = 0;
    const base = fakeSource({ streams: ['ticks'], pages: 1 });
    const stream = base.streams[0]!;
    // Down at the made-up firing (a 503), back for the retry.
    const flaky: Source<unknown> = {
      ...base,
      streams: [{ ...stream, async *read(ctx) { reads++; if (reads === 1) throw new Error('HTTP 503 Service Unavailable'); yield* stream.read(ctx); } }],
    };
    // A schedule added before it (its index moves from 0 to 1), and one retry allowed now.
    const next = configSchema.parse({ schedules: [{ cron: '30 4 * * 0' }, { cron: '0 3 * * *' }], retries: { streamAttempts: 1, backoffSeconds: 0, runRetries: 1 } });
    const { scheduler, jobs, held, lines, ended } = scheduled(flaky, async () => next);
    await ended(1);
    expect(jobs[0]!.status).toBe('failed');
    expect(held.map((t) => [t.ms, t.cleared])).toEqual([[30 * 60_000, false]]);
    expect((await scheduler.reload()).reloaded).toBe(true);
    // The old timer let go, the same retry armed by the new scheduler for what was left of its
    // 30 minutes (the injected clock stands still at 10:00, so all of them).
    expect(held.map((t) => [t.ms, t.cleared])).toEqual([[30 * 60_000, true], [30 * 60_000, false]]);
    expect(lines.some((l) => l.msg.startsWith('the retry of a failed run is dropped'))).toBe(false);
    expect(lines.find((l) => l.msg.startsWith('the retry of a failed run is kept'))).toMatchObject({
      msg: 'the retry of a failed run is kept through the reload: its schedule is unchanged',
      schedule: '0 3 * * *',
      runId: jobs[0]!.runId,
      retry: 1,
      sources: ['fake'],
      due: '2026-12-06T10:30:00.000Z',
    });
    held[1]!.fire();
    await ended(2);
    await scheduler.stop();
    expect(reads).toBe(2);
    expect(await runs()).toEqual([
      { status: 'failed', trigger: 'schedule 0 3 * * * (caught up: missed 2026-12-06T03:00:00.000Z)', error: expect.stringContaining('HTTP 503') },
      { status: 'succeeded', trigger: `schedule 0 3 * * * (retry 1 of 1 after failed run ${jobs[0]!.runId})`, error: null },
    ]);
  });

  it('drops the retry of a failed run when the reload takes its source out of the schedule or allows no retry', async () => {
    const base = fakeSource({ streams: ['ticks'], pages: 1 });
    const down: Source<unknown> = { ...base, streams: [{ ...base.streams[0]!, async *read() { throw new Error('HTTP 503 Service Unavailable'); } }] };
    for (const next of [
      configSchema.parse({ schedules: [{ cron: '0 3 * * *' }], retries: { streamAttempts: 1, backoffSeconds: 0, runRetries: 0 } }),
      configSchema.parse({ schedules: [{ cron: '0 3 * * *', sources: ['fx'] }], retries: { streamAttempts: 1, backoffSeconds: 0 } }),
    ]) {
      await wh.pool.query(`delete from ops.runs where id <> 'past'`);
      const { scheduler, jobs, held, lines, ended } = scheduled(down, async () => next);
      await ended(1);
      expect(held.map((t) => t.cleared)).toEqual([false]);
      expect((await scheduler.reload()).reloaded).toBe(true);
      expect(held.map((t) => t.cleared)).toEqual([true]);
      expect(lines.find((l) => l.msg.startsWith('the retry of a failed run is'))).toMatchObject({
        msg: 'the retry of a failed run is dropped with the configuration it was planned under: the schedule fires again at its next time',
        runId: jobs[0]!.runId,
      });
      await scheduler.stop();
    }
  });

  it('changes nothing when the new configuration would be refused, and names its problems', async () => {
    const file = join(dir, 'refused.json');
    writeFileSync(file, '{ "schedules": [{ "cron": "0 3 * *" }] }');
    const { scheduler, ended } = scheduled(fakeSource({ streams: ['ticks'], pages: 1 }), async () => (await loadConfig({ file })).config);
    await ended(1);
    const outcome = await scheduler.reload();
    expect(outcome).toEqual({ reloaded: false, problems: ['schedules.0.cron: not a cron expression (e.g. "0 3 * * *", or "*/30 * * * * *" with seconds)'] });
    expect(scheduler.entries.map((e) => e.cron)).toEqual(['0 3 * * *']);
    await scheduler.stop();
  });
});

/** Whether the child held by `holdModuleLoad` has begun to load the command line; an error if it ended first. */
function beganLoading(proc: ReturnType<typeof spawnCli>, marker: string): boolean {
  const ended = proc.child.exitCode ?? proc.child.signalCode;
  if (ended !== null) throw new Error(`the command ended (${ended}) before loading its modules: ${proc.stderr()}`);
  return existsSync(marker);
}

describe('verite schedule and SIGHUP', () => {
  it('takes a SIGHUP that comes while it starts (the warehouse not yet open) once its schedules are armed, instead of ending', async () => {
    const config = join(dir, 'starting.config.json');
    writeFileSync(config, JSON.stringify({ sources: { fx: {} }, scheduleCatchUp: false, schedules: [{ cron: '0 3 1 1 *' }] }));
    // The warehouse behind a relay that holds the first connection until the test lets it through:
    // the command is then certainly starting, past its own start, before anything is armed.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let connected!: () => void;
    const connecting = new Promise<void>((resolve) => (connected = resolve));
    const target = new URL(wh.url);
    const relay = createNetServer((client) => {
      connected();
      void released.then(() => {
        const upstream = connect(Number(target.port), target.hostname);
        client.pipe(upstream).pipe(client);
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
      });
    });
    const port = await new Promise<number>((resolve) => relay.listen(0, '127.0.0.1', () => resolve((relay.address() as AddressInfo).port)));
    const via = new URL(wh.url);
    via.hostname = '127.0.0.1';
    via.port = String(port);
    const proc = spawnCli(['schedule'], { DATABASE_URL: via.toString(), VERITE_CONFIG: config });
    try {
      await connecting;
      writeFileSync(config, JSON.stringify({ sources: { fx: {} }, scheduleCatchUp: false, schedules: [{ cron: '15 4 * * *' }] }));
      proc.child.kill('SIGHUP');
      // Given time to end, as it did: SIGHUP's default action, no handler being set yet.
      await new Promise((resolve) => setTimeout(resolve, 300));
      release();
      await waitFor('the reload', () => {
        const ended = proc.child.signalCode ?? proc.child.exitCode;
        if (ended !== null) throw new Error(`verite schedule ended (${ended})`);
        return /^15 4 \* \* \*\s+all\s/m.test(proc.stdout());
      });
      expect(proc.logLines().some((l) => l.msg === 'a SIGHUP came while the scheduler was starting')).toBe(true);
      expect(proc.stdout()).toMatch(/^0 3 1 1 \*\s+all\s/m);
      expect(proc.child.exitCode).toBe(null);
    } finally {
      proc.child.kill('SIGTERM');
      release();
    }
    const { code, signal } = await proc.exited;
    relay.close();
    expect(signal).toBe(null);
    expect(code, proc.stderr()).toBe(0);
  });

  it('takes a SIGHUP that comes while its modules load (bin/verite.js) once its schedules are armed, instead of ending', async () => {
    const config = join(dir, 'loading.config.json');
    writeFileSync(config, JSON.stringify({ sources: { fx: {} }, scheduleCatchUp: false, schedules: [{ cron: '0 3 1 1 *' }] }));
    const marker = join(dir, 'schedule-loading');
    const release = join(dir, 'schedule-release');
    const proc = spawnCli(['schedule'], { DATABASE_URL: wh.url, VERITE_CONFIG: config }, { holdModuleLoad: { marker, release } });
    try {
      // bin/verite.js has begun to import the command line: none of its modules is loaded yet.
      await waitFor('the modules to begin loading', () => beganLoading(proc, marker));
      writeFileSync(config, JSON.stringify({ sources: { fx: {} }, scheduleCatchUp: false, schedules: [{ cron: '15 4 * * *' }] }));
      // Without a handler the kernel ends the process at once: SIGHUP's default action.
      proc.child.kill('SIGHUP');
      writeFileSync(release, 'go\n');
      await waitFor('the reload', () => {
        const ended = proc.child.signalCode ?? proc.child.exitCode;
        if (ended !== null) throw new Error(`verite schedule ended (${ended})`);
        // Read at start (the new file, written before the modules loaded), then again for the SIGHUP.
        const out = proc.stdout();
        return out.includes('Configuration reloaded') && /^15 4 \* \* \*\s+all\s/m.test(out.slice(out.indexOf('Configuration reloaded')));
      });
      expect(proc.stdout()).toMatch(/^Configuration reloaded \(times in UTC\):$/m);
      expect(proc.logLines().some((l) => l.msg === 'a SIGHUP came while the scheduler was starting')).toBe(true);
    } finally {
      writeFileSync(release, 'go\n');
      proc.child.kill('SIGTERM');
    }
    const { code, signal } = await proc.exited;
    expect(signal).toBe(null);
    expect(code, proc.stderr()).toBe(0);
  });

  it('serves the new reports folder after a reload, with --serve: the pages follow the configuration as the firings do', async () => {
    const folders = { before: join(dir, 'reports-before'), after: join(dir, 'reports-after') };
    mkdirSync(folders.before);
    mkdirSync(folders.after);
    writeFileSync(join(folders.before, 'weekly-2026-W48.html'), '<p>the review in the first folder</p>');
    writeFileSync(join(folders.after, 'weekly-2026-W49.html'), '<p>the review in the second folder</p>');
    const config = join(dir, 'serve.config.json');
    const base = { sources: { fx: {} }, scheduleCatchUp: false, schedules: [{ cron: '0 3 1 1 *' }] };
    writeFileSync(config, JSON.stringify({ ...base, reportsDir: folders.before }));
    const proc = spawnCli(['schedule', '--serve', '--port', '0'], { DATABASE_URL: wh.url, VERITE_CONFIG: config });
    try {
      await waitFor('the pages', () => /Reports, live views and the metric catalogue: (http:\S+)\/ /.test(proc.stdout()));
      const url = /Reports, live views and the metric catalogue: (http:\S+)\/ /.exec(proc.stdout())![1]!;
      const page = async (path: string) => {
        const res = await fetch(`${url}${path}`);
        return { status: res.status, text: await res.text() };
      };
      expect((await page('/')).text).toContain('weekly-2026-W48.html');
      expect(await page('/reports/weekly-2026-W48.html')).toEqual({ status: 200, text: '<p>the review in the first folder</p>' });
      writeFileSync(config, JSON.stringify({ ...base, reportsDir: folders.after }));
      proc.child.kill('SIGHUP');
      await waitFor('the reload', () => /^Configuration reloaded/m.test(proc.stdout()) && /^0 3 1 1 \*\s+all\s/m.test(proc.stdout().slice(proc.stdout().indexOf('Configuration reloaded'))));
      const index = (await page('/')).text;
      expect(index).toContain('weekly-2026-W49.html');
      expect(index).not.toContain('weekly-2026-W48.html');
      expect(await page('/reports/weekly-2026-W49.html')).toEqual({ status: 200, text: '<p>the review in the second folder</p>' });
      expect((await page('/reports/weekly-2026-W48.html')).status).toBe(404);
    } finally {
      proc.child.kill('SIGTERM');
    }
    const { code } = await proc.exited;
    expect(code, proc.stderr()).toBe(0);
  });

  it('gives another command a SIGHUP that came while its modules loaded: it ends, as SIGHUP does by default', async () => {
    const marker = join(dir, 'query-loading');
    const release = join(dir, 'query-release');
    // A word "schedule" on the command line (here the config file's name): bin/verite.js cannot
    // tell the command yet, and notes the SIGHUP.
    writeFileSync(join(dir, 'schedule'), JSON.stringify({ sources: { fx: {} } }));
    const proc = spawnCli(['-c', 'schedule', 'query', 'select 1 as one'], { DATABASE_URL: wh.url }, { holdModuleLoad: { marker, release }, cwd: dir });
    try {
      await waitFor('the modules to begin loading', () => beganLoading(proc, marker));
      proc.child.kill('SIGHUP');
      writeFileSync(release, 'go\n');
    } catch (error) {
      proc.child.kill('SIGKILL');
      throw error;
    } finally {
      writeFileSync(release, 'go\n');
    }
    const { code, signal } = await proc.exited;
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGHUP' });
    expect(proc.stdout()).toBe('');
  });

  it('prints the schedules read again, keeps the running ones when the new file is refused, and still stops on SIGTERM', async () => {
    const config = join(dir, 'verite.config.json');
    const base = { sources: { fx: {} }, scheduleCatchUp: false };
    writeFileSync(config, JSON.stringify({ ...base, schedules: [{ cron: '0 3 1 1 *' }] }));
    const proc = spawnCli(['schedule'], { DATABASE_URL: wh.url, VERITE_CONFIG: config });
    try {
      // The schedules printed, not only logged as armed: the log line (stderr) can reach this
      // process before the table (stdout), and the SIGHUP handler is set once the table is written.
      await waitFor('the schedules to be printed', () => /^0 3 1 1 \*\s+all\s/m.test(proc.stdout()));
      expect(proc.stdout()).toMatch(/^0 3 1 1 \*\s+all\s/m);
      writeFileSync(config, JSON.stringify({ ...base, schedules: [{ cron: '15 4 * * *' }, { cron: '0 12 * * 1', sources: ['fx'] }] }));
      proc.child.kill('SIGHUP');
      // The heading and the table are two writes: waited for until the table's last row.
      await waitFor('the reload', () => /^0 12 \* \* 1\s+fx\s/m.test(proc.stdout()));
      const after = proc.stdout().slice(proc.stdout().indexOf('Configuration reloaded'));
      expect(after).toMatch(/^Configuration reloaded \(times in UTC\):$/m);
      expect(after).toMatch(/^15 4 \* \* \*\s+all\s/m);
      expect(after).toMatch(/^0 12 \* \* 1\s+fx\s/m);
      writeFileSync(config, '{ "sources": { "fx": {} }, "schedules": [{ "cron": "0 3 * *" }] }');
      proc.child.kill('SIGHUP');
      await waitFor('the refusal', () => proc.logLines().some((l) => typeof l.msg === 'string' && l.msg.startsWith('the configuration was not reloaded')));
      const refusal = proc.logLines().find((l) => typeof l.msg === 'string' && l.msg.startsWith('the configuration was not reloaded'))!;
      expect(refusal.problems).toEqual(['schedules.0.cron: not a cron expression (e.g. "0 3 * * *", or "*/30 * * * * *" with seconds)']);
      // A schedule naming a source not configured is refused before anything is armed, too.
      writeFileSync(config, JSON.stringify({ ...base, schedules: [{ cron: '0 5 * * *', sources: ['fxx'] }] }));
      proc.child.kill('SIGHUP');
      const refusals = () => proc.logLines().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('the configuration was not reloaded'));
      await waitFor('the second refusal', () => refusals().length === 2);
      expect(refusals()[1]!.problems).toEqual([expect.stringMatching(/^not configured or disabled: fxx\b.*\(configured: fx\)$/)]);
      expect(proc.child.exitCode).toBe(null);
    } finally {
      proc.child.kill('SIGTERM');
    }
    const { code } = await proc.exited;
    expect(code, proc.stderr()).toBe(0);
    expect(proc.stdout()).toContain('Scheduler stopped after 0 firing(s).');
    expect(proc.stdout().match(/Configuration reloaded/g)).toHaveLength(1);
  });
});
