import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/platform/config.js';
import { loadConfig } from '../../src/platform/config.js';
import type { Database } from '../../src/platform/database.js';
import { openDatabase } from '../../src/platform/database.js';
import { withTransaction } from '../../src/platform/db.js';
import { createLogger } from '../../src/platform/logger.js';
import { execute } from '../../src/platform/write/pipeline.js';
import { systemClock, unixSeconds } from '../../src/kernel/clock.js';
import { UlidGenerator } from '../../src/kernel/ids.js';
import { ALL_MIGRATIONS } from '../../src/migrations.js';
import type { PaymentServices } from '../../src/payment-services.js';
import { openPaymentServices } from '../../src/payment-services.js';
import { createMerchant } from '../../src/services/merchants/app/merchants.js';
import { KeyHasher } from '../../src/services/merchants/app/key-hashing.js';
import { postTransfers } from '../../src/services/ledger/adapters/store.js';
import { transferId } from '../../src/services/ledger/domain/ids.js';
import { startPayoutJobs } from '../../src/services/settlement/index.js';
import { createBankAccount } from '../../src/services/settlement/app/bank-accounts.js';
import { createPayout } from '../../src/services/settlement/app/payouts.js';
import type { TestDatabase } from '../support/database.js';
import { createTestDatabase } from '../support/database.js';

/**
 * A payout worker is SIGKILLed between the payout's ledger transfer (and its move to in_transit) and
 * the bank call, then again between the bank's answer and the status update; the next run finishes
 * each payout exactly once: one bank transfer, one ending transfer in the ledger, the balance right.
 */
const FUNDS = 100_000;
const WAIT_LIMIT_MS = 60_000;

let database: TestDatabase;
let data_dir: string;
let config: Config;
let db: Database;
let services: PaymentServices;
let merchant_id: string;

beforeAll(async () => {
  database = await createTestDatabase();
  data_dir = mkdtempSync(join(tmpdir(), 'payrail-payout-crash-'));
  config = { ...loadConfig({}), database_url: database.url, data_dir, db_pool_max: 4, log_level: 'warn' };
  db = await openDatabase(config, ALL_MIGRATIONS);
  services = await openPaymentServices(config, db, {
    clock: systemClock,
    ids: new UlidGenerator(),
    logger: createLogger('warn'),
    public_url: () => 'http://127.0.0.1',
  });
  const keys = await createMerchant({ pool: db.pool, hasher: new KeyHasher(Buffer.alloc(32, 7)), ids: new UlidGenerator() }, unixSeconds(systemClock), {
    name: 'Crash shop',
  });
  merchant_id = keys.merchant_id;
  const now = unixSeconds(systemClock);
  await withTransaction(db.pool, (tx) =>
    postTransfers(tx, [
      {
        id: transferId('adjustment', 'crash-test-funds', now),
        merchant_id,
        currency: 'usd',
        kind: 'adjustment',
        source_id: 'crash-test-funds',
        postings: [
          { account: 'processor_receivable', amount: FUNDS },
          { account: 'merchant_available', amount: -FUNDS },
        ],
        cause: { event_id: 'crash-test', type: 'test.funds' },
        created: now,
        available_on: now,
      },
    ]),
  );
});

afterAll(async () => {
  await services?.close();
  await db?.close();
  await database?.drop();
  rmSync(data_dir, { recursive: true, force: true });
});

async function run<P>(
  use_case: (ctx: Parameters<Parameters<typeof execute>[2]['run']>[0], params: P) => ReturnType<Parameters<typeof execute>[2]['run']>,
  params: P,
) {
  const result = await execute(services.write, { merchant_id, request_id: null }, { reserves: ['payout', 'bank_account'], run: use_case }, params);
  expect(result.response.status).toBe(200);
  return JSON.parse(result.response.body) as { id: string };
}

/** Runs the crashing worker (test/support/payout-crash-child.ts) and waits for its SIGKILL. */
function crashingWorker(mode: 'before_bank' | 'after_answer'): Promise<NodeJS.Signals | number | null> {
  const child = spawn(process.execPath, ['node_modules/vite-node/vite-node.mjs', 'test/support/payout-crash-child.ts'], {
    env: { ...process.env, PAYOUT_CRASH_CONFIG: JSON.stringify(config), PAYOUT_CRASH_MODE: mode },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the crashing worker never crashed')), WAIT_LIMIT_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(signal ?? code);
    });
  });
}

async function rows(sql: string, values: unknown[] = []): Promise<Record<string, unknown>[]> {
  return (await db.pool.query(sql, values)).rows as Record<string, unknown>[];
}

describe('a payout worker killed mid-payout', () => {
  it('neither pays twice nor loses a payout, at either kill point', { timeout: 180_000 }, async () => {
    const deps = {
      sealer: services.payments.vault.sealer('bank_accounts'),
      fingerprint: services.payments.vault.bankAccountFingerprint.bind(services.payments.vault),
    };
    const bank = (number: string) => ({
      country: 'US',
      currency: 'usd',
      routing_number: '110000000',
      account_number: number,
      account_holder_name: null,
      account_holder_type: null,
      metadata: {},
    });
    const pays = await run((ctx, p: ReturnType<typeof bank>) => createBankAccount(deps, ctx, p), bank('000123456789'));
    const fails = await run((ctx, p: ReturnType<typeof bank>) => createBankAccount(deps, ctx, p), bank('000111111116'));
    const paid = await run((ctx) => createPayout(ctx, { amount: 30_000, currency: 'usd', destination: pays.id }), null);
    const failed = await run((ctx) => createPayout(ctx, { amount: 20_000, currency: 'usd', destination: fails.id }), null);

    // Kill 1: the payout is in transit, the bank never heard of it.
    expect(await crashingWorker('before_bank')).toBe('SIGKILL');
    expect(await rows('SELECT status FROM settlement.payouts WHERE id = $1', [paid.id])).toEqual([{ status: 'in_transit' }]);
    expect(await rows('SELECT payout_id FROM settlement.sandbox_bank_transfers')).toEqual([]);

    // Kill 2: the bank answered (and moved the money), Payrail never recorded it.
    expect(await crashingWorker('after_answer')).toBe('SIGKILL');
    // (The worker takes several payouts at once, so the other one may have reached the bank too.)
    expect(await rows('SELECT payout_id, outcome FROM settlement.sandbox_bank_transfers WHERE payout_id = $1', [paid.id])).toEqual([
      { payout_id: paid.id, outcome: 'paid' },
    ]);
    expect(await rows('SELECT status FROM settlement.payouts WHERE id = $1', [paid.id])).toEqual([{ status: 'in_transit' }]);
    // The other may not have been taken yet when the process died (the worker's order under load).
    expect(['pending', 'in_transit']).toContain((await rows('SELECT status FROM settlement.payouts WHERE id = $1', [failed.id]))[0]?.status);

    // The next run, twice: each payout ends once, with the bank's first answer.
    const jobs = startPayoutJobs({ write: services.write, system: db.pool, clock: systemClock, logger: createLogger('warn'), sealer: deps.sealer });
    expect(await jobs.processInFlight()).toBe(2);
    expect(await jobs.processInFlight()).toBe(0);
    const statuses = await rows('SELECT id, status FROM settlement.payouts ORDER BY id');
    expect(statuses).toEqual(
      [
        { id: paid.id, status: 'paid' },
        { id: failed.id, status: 'failed' },
      ].sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
    const bank_rows = await rows('SELECT payout_id, outcome FROM settlement.sandbox_bank_transfers ORDER BY payout_id');
    expect(bank_rows).toHaveLength(2);
    const kinds = await rows(`SELECT source_id, kind FROM ledger.transfers WHERE source_id LIKE 'po_%' ORDER BY source_id, kind`);
    expect(kinds).toEqual(
      [
        { source_id: paid.id, kind: 'payout' },
        { source_id: paid.id, kind: 'payout_paid' },
        { source_id: failed.id, kind: 'payout' },
        { source_id: failed.id, kind: 'payout_failure' },
      ].sort((a, b) => (a.source_id === b.source_id ? (a.kind < b.kind ? -1 : 1) : a.source_id < b.source_id ? -1 : 1)),
    );
    const events = await rows(`SELECT type, count(*)::int AS n FROM events.outbox WHERE object_id = $1 GROUP BY type ORDER BY type`, [paid.id]);
    expect(events).toEqual([
      { type: 'payout.created', n: 1 },
      { type: 'payout.paid', n: 1 },
      { type: 'payout.updated', n: 2 },
    ]);
    const available = await rows(
      `SELECT credits_posted - debits_posted AS balance FROM ledger.accounts WHERE merchant_id = $1 AND code = 'merchant_available'`,
      [merchant_id],
    );
    expect(available).toEqual([{ balance: FUNDS - 30_000 }]);
  });
});
