import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool, SqlFragment } from '../../src/platform/db.js';
import { combineWrites, run, withTransaction } from '../../src/platform/db.js';
import { DB_ROLES } from '../../src/platform/rls.js';
import type { ConnectMovement } from '../../src/services/ledger/index.js';
import { connectLegs, connectTransferWrites, transferId, transferWrites } from '../../src/services/ledger/index.js';
import { verifyLedger } from '../../src/services/ledger/app/verify.js';
import { ledgerRecords } from '../../src/services/payments/index.js';
import { createMigratedPool } from '../support/database.js';

/**
 * Connect's two-leg postings on a real PostgreSQL, written as the request path writes them: as the
 * request role (payrail_app) in the platform's merchant scope, so row-level security is in force and
 * the connected leg can only be posted through ledger.connect_legs and its trigger.
 */

const T0 = 1_700_000_000;
const PLATFORM = 'acct_platform0001';
const SELLER = 'acct_seller0001';
const STRANGER = 'acct_stranger0001';
let pool: Pool;
let drop: () => Promise<void>;

/** Runs writes as one statement, as the write pipeline's commit does, in `merchant_id`'s scope. */
async function commitAs(merchant_id: string, writes: SqlFragment[]): Promise<void> {
  await withTransaction(pool, async (client) => {
    await client.query(`SET LOCAL ROLE ${DB_ROLES.app}`);
    await client.query(`SELECT set_config('payrail.merchant_id', $1, true)`, [merchant_id]);
    await run(client, combineWrites(writes));
  });
}

async function balance(merchant_id: string, code: string): Promise<number> {
  const result = await pool.query(
    `SELECT coalesce(sum(CASE normal WHEN 'credit' THEN credits_posted - debits_posted ELSE debits_posted - credits_posted END), 0)::bigint AS b
     FROM ledger.accounts WHERE merchant_id = $1 AND code = $2`,
    [merchant_id, code],
  );
  return Number((result.rows[0] as { b: string }).b);
}

let next = 0;
function movement(destination: string, amount: number, payer: 'platform' | 'connected' = 'platform'): ConnectMovement {
  next += 1;
  const created = T0 + next;
  const paid = payer === 'platform';
  return {
    platform: { merchant_id: PLATFORM, kind: paid ? 'connect_transfer' : 'connect_transfer_reversal', source_id: `tr_test${next}`, available_on: created },
    connected: { merchant_id: destination, kind: paid ? 'connect_payment' : 'connect_payment_refund', source_id: `py_test${next}`, available_on: created },
    amount,
    currency: 'usd',
    payer,
    floor_at_zero: true,
    cause: { event_id: `req_test${next}`, type: 'transfer.created' },
    created,
  };
}

beforeAll(async () => {
  ({ pool, drop } = await createMigratedPool(4));
  await pool.query(
    `INSERT INTO merchants.merchants (id, name, created, platform_id) VALUES ($1, 'Platform', $4, NULL), ($2, 'Seller', $4, $1), ($3, 'Stranger', $4, NULL)`,
    [PLATFORM, SELLER, STRANGER, T0],
  );
  // The platform's available balance: 1000, as an adjustment from the processor would leave it.
  await commitAs(
    PLATFORM,
    transferWrites({
      id: transferId('adjustment', 'adj_fund', T0),
      merchant_id: PLATFORM,
      currency: 'usd',
      kind: 'adjustment',
      source_id: 'adj_fund',
      postings: [
        { account: 'processor_receivable', amount: 1000 },
        { account: 'merchant_available', amount: -1000 },
      ],
      cause: { event_id: 'evt_fund', type: 'test' },
      created: T0,
      available_on: T0,
    }),
  );
});
afterAll(async () => {
  await drop?.();
});

describe('connect legs', () => {
  it('are two balanced transfers, one per merchant, whose clearing cancels out, with ids derived from kind and source', () => {
    const m = movement(SELLER, 250);
    const legs = connectLegs(m);
    for (const leg of [legs.platform, legs.connected]) expect(leg.postings.reduce((sum, p) => sum + p.amount, 0)).toBe(0);
    const clearing = [legs.platform, legs.connected].flatMap((l) => l.postings).filter((p) => p.account === 'connect_transfers');
    expect(clearing.map((p) => p.amount).sort()).toEqual([-250, 250]);
    expect(legs.platform.limits).toEqual([{ account: 'merchant_available', floor: 0 }]);
    expect(legs.connected.limits).toEqual([]);
    expect(connectLegs({ ...m }).platform.id).toBe(legs.platform.id);
    expect(legs.platform.id).not.toBe(legs.connected.id);
  });

  it('move money from the platform to its connected account in one statement, through row-level security', async () => {
    await commitAs(PLATFORM, connectTransferWrites(movement(SELLER, 300)));
    expect(await balance(PLATFORM, 'merchant_available')).toBe(700);
    expect(await balance(SELLER, 'merchant_available')).toBe(300);
    expect((await balance(PLATFORM, 'connect_transfers')) + (await balance(SELLER, 'connect_transfers'))).toBe(0);
    await commitAs(PLATFORM, connectTransferWrites(movement(SELLER, 100, 'connected')));
    expect(await balance(SELLER, 'merchant_available')).toBe(200);
    expect(await balance(PLATFORM, 'merchant_available')).toBe(800);
  });

  it('refuse an account that is not the platform’s, and balances that would go below zero, writing nothing', async () => {
    const before = await pool.query('SELECT count(*)::int AS n FROM ledger.transfers');
    await expect(commitAs(PLATFORM, connectTransferWrites(movement(STRANGER, 10)))).rejects.toThrow(/connect_leg_refused/);
    await expect(commitAs(PLATFORM, connectTransferWrites(movement(SELLER, 801)))).rejects.toThrow(/payrail_guard_failed/);
    await expect(commitAs(PLATFORM, connectTransferWrites(movement(SELLER, 201, 'connected')))).rejects.toThrow(/payrail_guard_failed/);
    // Without the trigger, the platform's scope cannot write the seller's rows at all.
    const { connected } = connectLegs(movement(SELLER, 5));
    await expect(commitAs(PLATFORM, transferWrites({ ...connected, limits: [] }))).rejects.toThrow(/row-level security/);
    expect(await pool.query('SELECT count(*)::int AS n FROM ledger.transfers')).toMatchObject({ rows: before.rows });
    expect(await balance(SELLER, 'merchant_available')).toBe(200);
    expect(await balance(PLATFORM, 'merchant_available')).toBe(800);
  });

  it('are checked by ledger verify, which notices a platform leg without its connected side', async () => {
    expect((await verifyLedger(pool, T0 + 1000, ledgerRecords)).problems).toEqual([]);
    const { platform } = connectLegs(movement(SELLER, 40));
    await commitAs(PLATFORM, transferWrites(platform));
    const report = await verifyLedger(pool, T0 + 1000, ledgerRecords);
    expect(report.problems).toEqual([`connect_transfers of platform ${PLATFORM} and its connected accounts sum to -40 usd, not zero`]);
  });
});
