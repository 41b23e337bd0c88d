import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import { systemClock } from '../../src/kernel/clock.js';
import { loadConfig } from '../../src/platform/config.js';
import { createLogger } from '../../src/platform/logger.js';
import { startService } from '../../src/compose.js';
import type { RoleProcess } from '../../src/roles/start.js';
import type { LedgerWorker } from '../../src/services/ledger/app/worker.js';
import { LEDGER_POLLING, startLedgerWorker } from '../../src/services/ledger/app/worker.js';
import type { TestDatabase } from '../support/database.js';
import { createTestDatabase } from '../support/database.js';
import { TEST_SECRET_KEY, stripeClient } from '../support/platform.js';

/**
 * The ledger worker is woken by the commits of its own process, so a payment is posted at once even
 * when the worker's idle wait is a minute long. The API role and a ledger worker whose idle waits are
 * all a minute share this process, as `npm start` runs them: only a wake explains a prompt posting.
 */

const IDLE_WAIT_MS = 60_000;
/** A sixth of the idle wait: generous for a loaded CI machine, impossible without a wake. */
const POSTED_WITHIN_MS = 10_000;
/**
 * A woken round can still find nothing: it reads only events older than every transaction open on the
 * server, and other test files' transactions share it. Another commit then wakes the worker again.
 */
const NUDGE_EVERY_MS = 500;

let database: TestDatabase;
let data_dir: string;
let api: RoleProcess;
let ledger: LedgerWorker;
let stripe: Stripe;

beforeAll(async () => {
  database = await createTestDatabase();
  data_dir = mkdtempSync(join(tmpdir(), 'payrail-test-data-'));
  const config = {
    ...loadConfig({}),
    port: 0,
    host: '127.0.0.1',
    database_url: database.url,
    data_dir,
    bootstrap_secret_key: TEST_SECRET_KEY,
    db_pool_max: 10,
    metrics_port: 0,
  };
  const logger = createLogger('silent');
  api = await startService(config, 'api', { logger });
  ledger = startLedgerWorker(
    { pool: api.database.pool, clock: systemClock, logger },
    {
      idle: { idle_ms: IDLE_WAIT_MS, idle_max_ms: IDLE_WAIT_MS, wake_gap_ms: LEDGER_POLLING.idle_ms },
    },
  );
  stripe = stripeClient(api.url, TEST_SECRET_KEY);
});
afterAll(async () => {
  await ledger?.stop();
  await api?.stop();
  await database?.drop();
  if (data_dir) rmSync(data_dir, { recursive: true, force: true });
});

/** Waits for the ledger to hold `count` balance transactions; returns how long that took. */
async function postingsReach(count: number): Promise<number> {
  const started = Date.now();
  let nudged = started;
  while (Date.now() - started < POSTED_WITHIN_MS) {
    if ((await stripe.balanceTransactions.list({ limit: 10 })).data.length >= count) return Date.now() - started;
    if (Date.now() - nudged >= NUDGE_EVERY_MS) {
      await stripe.customers.create({ description: 'a commit that wakes the ledger worker again' });
      nudged = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`the ledger did not post within ${POSTED_WITHIN_MS} ms`);
}

describe('the ledger worker, woken by commits', () => {
  it('posts a payment long before its idle wait would end', async () => {
    await stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    await postingsReach(1);
    // The round after that posting found nothing more: the worker now waits out a minute unless woken.
    await new Promise((resolve) => setTimeout(resolve, 200));

    const paying_since = Date.now();
    await stripe.paymentIntents.create({ amount: 3000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    const posted_after_ms = Date.now() - paying_since + (await postingsReach(2));
    expect(posted_after_ms).toBeLessThan(POSTED_WITHIN_MS);
  });
});
