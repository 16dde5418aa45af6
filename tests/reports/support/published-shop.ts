import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { configSchema } from '../../../config/schema.ts';
import { createLogger } from '../../../lib/logger.ts';
import { refreshMetrics } from '../../../metrics/refresh.ts';
import { runTransforms } from '../../../transforms/runner.ts';
import type { Warehouse } from '../../../warehouse/connection.ts';
import { createTestDatabase } from '../../support/database.ts';
import { startRelay, type TestRelay } from '../../support/smtp.ts';
import { startWebhook, type LocalWebhook } from '../../support/webhook.ts';
import { CONFIG, landShop } from '../../metrics/support/shop.ts';

/**
 * The hand-made shop (tests/metrics/support/shop.ts) built and published at `now` in a database
 * of its own, a reports folder, and the places its reports go: a webhook on 127.0.0.1 that
 * answers the statuses queued in `answers` (200 once they are used up) and counts the posts, and
 * an SMTP relay that refuses mail while `refusing` is set, as one down for a while does.
 */
export interface PublishedShop {
  wh: Warehouse;
  dir: string;
  hook: LocalWebhook<{ text: string }>;
  relay: TestRelay;
  /** The statuses the webhook answers, in order; 200 once they are used up. */
  answers: number[];
  /** How many posts the webhook was sent, whatever it answered. */
  posts: number;
  /** Whether the relay refuses mail (451). */
  refusing: boolean;
  /** Empties `ops.report_deliveries` and what the stand-ins received, and sets them back. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export async function publishedShop(label: string, now: Date): Promise<PublishedShop> {
  const wh = await createTestDatabase(label);
  await landShop(wh.pool);
  const config = configSchema.parse({ ...CONFIG });
  expect((await runTransforms(wh, config, { now })).status).toBe('succeeded');
  expect((await refreshMetrics(wh, config, createLogger({ write: () => undefined }, 'silent'), { now })).error).toBeUndefined();
  const dir = await mkdtemp(path.join(tmpdir(), `verite-${label}-`));
  const shop = { wh, dir, answers: [], posts: 0, refusing: false } as unknown as PublishedShop;
  shop.hook = await startWebhook({ answer: () => (shop.posts++, shop.answers.shift() ?? 200) });
  shop.relay = await startRelay({ refuses: () => shop.refusing });
  shop.reset = async () => {
    await wh.pool.query('delete from ops.report_deliveries');
    shop.hook.received.length = 0;
    shop.relay.mails.length = 0;
    shop.answers = [];
    shop.posts = 0;
    shop.refusing = false;
  };
  shop.close = async () => {
    await shop.hook.close();
    await shop.relay.close();
    await wh.close();
    await rm(dir, { recursive: true, force: true });
  };
  return shop;
}

/** The e-mail place of the tests' weekly report, its relay's URL in `REPORT_SMTP_URL`. */
export const REPORT_EMAIL = { smtpUrlEnv: 'REPORT_SMTP_URL', from: 'verite@shop.test', to: ['owner@shop.test'] };

/** The period a weekly review's chat message names. */
export const periodOf = (text: string) => /^\*Weekly business review (\S+)\*/.exec(text)?.[1];
