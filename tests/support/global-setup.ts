import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { connect } from '../../warehouse/connection.ts';
import { startEmbedded, type EmbeddedServer } from '../../warehouse/embedded.ts';
import { migrateToLatest } from '../../warehouse/migrate.ts';
import { clusterRoot } from './cluster-root.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    /** A database migrated to the latest schema, which `createTestDatabase` copies (see `database.ts`). */
    templateDatabase: string;
  }
}

/** The server the projects share, in the one process that runs every set-up. */
const shared: { server?: Promise<{ url: string; template: string; stop: () => Promise<void> }>; users: number } = ((globalThis as { veriteTestServer?: typeof shared }).veriteTestServer ??= { users: 0 });

/**
 * One PostgreSQL for the whole test run: `TEST_DATABASE_URL` when set, else a Testcontainers
 * PostgreSQL when a Docker engine answers, else an embedded server in a memory-backed folder
 * ({@link clusterRoot}; reachable by the unprivileged user the server runs as). Each test file
 * then creates its own database on it (see `database.ts`).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The suite's projects (vitest.config.ts) each run this set-up: they share the one server,
  // stopped when the last of them ends.
  shared.users += 1;
  shared.server ??= startServer().then(withTemplate);
  const server = await shared.server;
  project.provide('adminDatabaseUrl', server.url);
  project.provide('templateDatabase', server.template);
  return async () => {
    shared.users -= 1;
    if (shared.users === 0) {
      shared.server = undefined;
      await server.stop();
    }
  };
}

/**
 * Adds to the server a database migrated once, which each test file's database is copied from:
 * running the migrations took about 0.9 s of the 1 s a new database cost, and the suite creates
 * a few hundred. Dropped before the server stops (a `TEST_DATABASE_URL` server outlives the run).
 */
async function withTemplate(server: { url: string; stop: () => Promise<void> }): Promise<{ url: string; template: string; stop: () => Promise<void> }> {
  const template = `verite_template_${randomBytes(4).toString('hex')}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  try {
    await admin(`create database "${template}"`);
    const url = new URL(server.url);
    url.pathname = `/${template}`;
    const { db } = connect(url.toString());
    try {
      await migrateToLatest(db);
    } finally {
      await db.destroy();
    }
  } catch (error) {
    await admin(`drop database if exists "${template}" with (force)`).catch(() => undefined);
    await server.stop();
    throw error;
  }
  return {
    url: server.url,
    template,
    stop: async () => {
      await admin(`drop database if exists "${template}" with (force)`).catch(() => undefined);
      await server.stop();
    },
  };
}

async function startServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  if (process.env.TEST_DATABASE_URL) {
    return { url: process.env.TEST_DATABASE_URL, stop: async () => undefined };
  }
  const container = await tryTestcontainers();
  if (container) return container;
  const root = mkdtempSync(join(clusterRoot(), 'verite-test-'));
  chmodSync(root, 0o755); // the server may run as the unprivileged postgres user
  let server: EmbeddedServer | undefined;
  try {
    server = await startEmbedded({
      dataDir: join(root, 'pg'),
      // Durability is not what the suite tests; speed is welcome.
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '300' },
    });
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
  return {
    url: server.url,
    stop: async () => {
      await server?.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

async function tryTestcontainers(): Promise<{ url: string; stop: () => Promise<void> } | null> {
  if (process.env.VERITE_TEST_NO_DOCKER === '1') return null;
  if (!process.env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) return null;
  try {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:16-alpine').start();
    return { url: container.getConnectionUri(), stop: async () => void (await container.stop()) };
  } catch {
    return null; // no engine answering: fall back to the embedded server
  }
}
