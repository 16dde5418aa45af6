import type pg from 'pg';
import { streamIdentity } from '../../catalog/catalog.ts';
import { landPages } from '../../loaders/raw-loader.ts';

/**
 * Lands hand-made records of `source.stream` through the real loader, as one extraction
 * (a report stream's page names every date it holds).
 */
export async function landRecords(pool: pg.Pool, source: string, stream: string, records: Record<string, unknown>[], runId = 'test-run'): Promise<void> {
  const identity = streamIdentity(source, stream);
  if (!identity) throw new Error(`no stream ${source}.${stream}`);
  const dates = identity.kind === 'date-report' ? [...new Set(records.map((r) => identity.dateOf!(r)!))] : undefined;
  await landPages(pool, { source, stream: identity, runId }, [{ records, dates }]);
}
