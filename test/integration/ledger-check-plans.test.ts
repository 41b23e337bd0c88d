import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/platform/db.js';
import { createPool, withTransaction } from '../../src/platform/db.js';
import { transferId } from '../../src/services/ledger/domain/ids.js';
import type { TransferRequest } from '../../src/services/ledger/domain/transfer.js';
import { postTransfers } from '../../src/services/ledger/adapters/store.js';
import { createMigratedPool } from '../support/database.js';

/**
 * The ledger's balance checks run inside every posting statement and at every commit. A plan kept
 * for a connection's life, made while `ledger.postings` was nearly empty, scanned the whole table for
 * every transfer as it grew; since ledger/008 their kept plans find rows by index whatever the statistics said.
 */
let poster: Pool;
let filler: Pool;
let drop: () => Promise<void>;

beforeAll(async () => {
  // One connection posts throughout, as a consumer's does: a plan it kept would serve every post.
  const database = await createMigratedPool(1);
  ({ pool: poster, drop } = database);
  filler = createPool(database.url, 1);
});

afterAll(async () => {
  await filler?.end();
  await drop();
});

const T0 = 1_700_000_000;
let counter = 0;

function adjustment(): TransferRequest {
  counter += 1;
  return {
    id: transferId('adjustment', `adj_${counter}`, T0),
    merchant_id: 'acct_plans',
    currency: 'usd',
    kind: 'adjustment',
    source_id: `adj_${counter}`,
    postings: [
      { account: 'processor_receivable', amount: 100 },
      { account: 'merchant_available', amount: -100 },
    ],
    cause: { event_id: `evt_${counter}`, type: 'test.adjustment' },
    created: T0,
    available_on: T0,
  };
}

const postOn = (pool: Pool, requests: TransferRequest[]) => withTransaction(pool, (tx) => postTransfers(tx, requests));

/** Sequential scans of ledger.postings so far, with what the poster's connection did reported first. */
async function postingScans(): Promise<number> {
  // A backend reports its statistics when it goes idle, at most once a second unless told to now.
  await poster.query('SELECT pg_stat_force_next_flush()');
  await filler.query('SELECT pg_stat_clear_snapshot()');
  const found = await filler.query<{ n: string }>(`SELECT seq_scan AS n FROM pg_stat_user_tables WHERE schemaname = 'ledger' AND relname = 'postings'`);
  return Number(found.rows[0]?.n);
}

describe('the balance checks on a ledger grown since it was analyzed empty', () => {
  // Their refusals are tested in ledger-store.test.ts ('refuses unbalanced …').
  it('find a transfer’s postings by index, not by scanning them all', async () => {
    await filler.query('ANALYZE ledger.postings, ledger.transfers');
    // While the table is nearly empty: enough posts for a kept plan to settle.
    for (let i = 0; i < 8; i += 1) await postOn(poster, [adjustment()]);
    for (let batch = 0; batch < 10; batch += 1) await postOn(filler, Array.from({ length: 2_000 }, adjustment));
    const scans_before = await postingScans();
    expect(await postOn(poster, [adjustment()])).toEqual([expect.objectContaining({ result: 'ok' })]);
    expect(await postingScans()).toBe(scans_before);
  });
});
