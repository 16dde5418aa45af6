import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's PgBouncer (apt-get install pgbouncer), or `PGBOUNCER_PATH`. */
export const PGBOUNCER = process.env.PGBOUNCER_PATH ?? '/usr/sbin/pgbouncer';

export interface Pgbouncer {
  /** `upstream` with PgBouncer's address in place of the server's. */
  url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function listening(port: number, child: ChildProcess, said: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited with ${child.exitCode}: ${said()}`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`pgbouncer did not listen on 127.0.0.1:${port}: ${said()}`);
}

/**
 * A real PgBouncer on 127.0.0.1 in front of the server of `upstream` (a `postgres://` URL), in
 * `mode`: every database of the server by its own name, logged in as the URL's user. Run as
 * `nobody` when the tests run as root (PgBouncer refuses to run as root).
 */
export async function startPgbouncer(upstream: string, mode: 'transaction' | 'session'): Promise<Pgbouncer> {
  if (!existsSync(PGBOUNCER)) throw new Error(`no PgBouncer at ${PGBOUNCER}: install Debian's pgbouncer (apt-get install pgbouncer) or set PGBOUNCER_PATH`);
  const server = new URL(upstream);
  const dir = mkdtempSync(join(tmpdir(), 'verite-pgbouncer-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const password = decodeURIComponent(server.password);
  const ini = join(dir, 'pgbouncer.ini');
  const root = process.getuid?.() === 0;
  writeFileSync(
    ini,
    [
      '[databases]',
      `* = host=${server.hostname} port=${server.port || 5432} user=${decodeURIComponent(server.username)}${password ? ` password=${password}` : ''}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = any',
      `pool_mode = ${mode}`,
      'max_client_conn = 100',
      'default_pool_size = 10',
      ...(root ? ['user = nobody'] : []),
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  let output = '';
  const child = spawn(PGBOUNCER, [ini], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  await listening(port, child, () => output);
  const url = new URL(upstream);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGINT');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
