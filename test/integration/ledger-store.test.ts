import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/platform/db.js';
import { withTransaction } from '../../src/platform/db.js';
import type { AccountCode } from '../../src/services/ledger/domain/accounts.js';
import { ACCOUNT_CODES, CHART } from '../../src/services/ledger/domain/accounts.js';
import { accountKeyString, balanceOf } from '../../src/services/ledger/domain/accounts.js';
import { transferId } from '../../src/services/ledger/domain/ids.js';
import type { TransferRequest } from '../../src/services/ledger/domain/transfer.js';
import { TRANSFER_KINDS } from '../../src/services/ledger/domain/transfer.js';
import { LedgerBook } from '../../src/services/ledger/domain/book.js';
import { accountsOf, postTransfers, retrieveTransfer } from '../../src/services/ledger/adapters/store.js';
import { createMigratedPool } from '../support/database.js';

let pool: Pool;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ pool, drop } = await createMigratedPool(20));
});
afterAll(async () => {
  await drop();
});

const T0 = 1_700_000_000;
let counter = 0;

function adjustment(merchant_id: string, postings: TransferRequest['postings'], extra: Partial<TransferRequest> = {}): TransferRequest {
  counter += 1;
  return {
    id: transferId('adjustment', `adj_${counter}`, T0),
    merchant_id,
    currency: 'usd',
    kind: 'adjustment',
    source_id: `adj_${counter}`,
    postings,
    cause: { event_id: `evt_${counter}`, type: 'test.adjustment' },
    created: T0,
    available_on: T0,
    ...extra,
  };
}

const post = (requests: TransferRequest[]) => withTransaction(pool, (tx) => postTransfers(tx, requests));

async function balances(merchant_id: string): Promise<Record<string, number>> {
  return Object.fromEntries((await accountsOf(pool, merchant_id)).map((a) => [a.code, balanceOf(a)]));
}

describe('the chart in the database', () => {
  it('knows exactly the account codes (with their normal side) and transfer kinds the code knows', async () => {
    const codes = await pool.query<{ code: string; normal: string }>('SELECT code, normal FROM ledger.account_codes ORDER BY code');
    expect(codes.rows).toEqual([...ACCOUNT_CODES].sort().map((code) => ({ code, normal: CHART[code].normal })));
    const kinds = await pool.query<{ kind: string }>('SELECT kind FROM ledger.transfer_kinds ORDER BY kind');
    expect(kinds.rows.map((r) => r.kind)).toEqual([...TRANSFER_KINDS].sort());
  });

  it('refuses an account code or transfer kind it does not know', async () => {
    await expect(
      pool.query(`INSERT INTO ledger.accounts (merchant_id, currency, code, normal) VALUES ('acct_x', 'usd', 'petty_cash', 'debit')`),
    ).rejects.toThrow(/accounts_code_known/);
  });
});

describe('posting transfers to PostgreSQL', () => {
  it('posts once per id: same content answers exists, different content exists_with_different_fields', async () => {
    const fund = adjustment('acct_a', [
      { account: 'processor_receivable', amount: 1000 },
      { account: 'merchant_available', amount: -1000 },
    ]);
    expect(await post([fund])).toEqual([{ id: fund.id, result: 'ok' }]);
    expect(await post([{ ...fund, cause: { event_id: 'evt_other', type: 'again' } }])).toEqual([{ id: fund.id, result: 'exists' }]);
    const changed = {
      ...fund,
      postings: [
        { account: 'processor_receivable' as const, amount: 999 },
        { account: 'merchant_available' as const, amount: -999 },
      ],
    };
    expect(await post([changed])).toEqual([{ id: fund.id, result: 'exists_with_different_fields' }]);
    expect(await balances('acct_a')).toEqual({ merchant_available: 1000, processor_receivable: 1000 });
    const stored = await retrieveTransfer(pool, 'acct_a', fund.id);
    expect(stored).toMatchObject({ id: fund.id, net: 1000, fee: 0, cause: { event_id: fund.cause.event_id }, postings: fund.postings });
  });

  it('refuses invalid transfers with a result code and writes nothing for them', async () => {
    const bad = adjustment('acct_b', [
      { account: 'merchant_available', amount: 10 },
      { account: 'platform_fees', amount: -9 },
    ]);
    const good = adjustment('acct_b', [
      { account: 'merchant_available', amount: 10 },
      { account: 'platform_fees', amount: -10 },
    ]);
    expect((await post([bad, good])).map((r) => r.result)).toEqual(['postings_must_sum_to_zero', 'ok']);
    expect(await retrieveTransfer(pool, 'acct_b', bad.id)).toBeUndefined();
  });

  it('checks balance limits atomically, even under concurrent payouts', async () => {
    const fund = adjustment('acct_c', [
      { account: 'processor_receivable', amount: 1000 },
      { account: 'merchant_available', amount: -1000 },
    ]);
    await post([fund]);
    const payout = () =>
      adjustment(
        'acct_c',
        [
          { account: 'merchant_available', amount: 300 },
          { account: 'payouts_in_transit', amount: -300 },
        ],
        { limits: [{ account: 'merchant_available', floor: 0 }] },
      );
    const results = await Promise.all(Array.from({ length: 8 }, () => post([payout()])));
    const codes = results.map((r) => r[0]?.result);
    expect(codes.filter((c) => c === 'ok')).toHaveLength(3);
    expect(codes.filter((c) => c === 'exceeds_balance_limit')).toHaveLength(5);
    expect((await balances('acct_c')).merchant_available).toBe(100);
  });
});

describe('the database itself', () => {
  it('refuses to change or delete a posting or a transfer', async () => {
    await post([
      adjustment('acct_d', [
        { account: 'merchant_available', amount: 5 },
        { account: 'platform_fees', amount: -5 },
      ]),
    ]);
    await expect(pool.query(`UPDATE ledger.postings SET amount = amount * 2 WHERE merchant_id = 'acct_d'`)).rejects.toThrow(/ledger_append_only/);
    await expect(pool.query(`DELETE FROM ledger.postings WHERE merchant_id = 'acct_d'`)).rejects.toThrow(/ledger_append_only/);
    await expect(pool.query(`TRUNCATE ledger.postings`)).rejects.toThrow(/ledger_append_only/);
    await expect(pool.query(`DELETE FROM ledger.transfers WHERE merchant_id = 'acct_d'`)).rejects.toThrow(/ledger_append_only/);
  });

  it('refuses an unbalanced transfer, a lone posting, a posting in another currency or added later, whatever code writes it', async () => {
    const id = (n: string) => transferId('adjustment', n, T0);
    const transfer = (
      n: string,
      currency = 'usd',
    ) => `INSERT INTO ledger.transfers (merchant_id, id, currency, kind, source_id, cause_event_id, cause_type, created, net, fee)
      VALUES ('acct_e', '${id(n)}', '${currency}', 'adjustment', '${n}', 'evt', 'raw', ${T0}, 0, 0)`;
    const postings = (
      n: string,
      rows: [number, number, string?][],
    ) => `INSERT INTO ledger.postings (merchant_id, transfer_id, index, currency, account, amount) VALUES
      ${rows.map(([index, amount, currency]) => `('acct_e', '${id(n)}', ${index}, '${currency ?? 'usd'}', 'merchant_available', ${amount})`).join(', ')}`;
    const attempt = (statements: string[]) =>
      withTransaction(pool, async (tx) => {
        for (const s of statements) await tx.query(s);
      });

    await expect(
      attempt([
        transfer('x1'),
        postings('x1', [
          [0, 100],
          [1, -99],
        ]),
      ]),
    ).rejects.toThrow(/ledger_unbalanced/);
    await expect(attempt([transfer('x2'), postings('x2', [[0, 100]])])).rejects.toThrow(/ledger_unbalanced/);
    await expect(attempt([transfer('x3')])).rejects.toThrow(/ledger_unbalanced/); // at commit: no postings
    await expect(
      attempt([
        postings('x4', [
          [0, 100],
          [1, -100],
        ]),
      ]),
    ).rejects.toThrow(/ledger_unbalanced.*does not exist/);
    await expect(
      attempt([
        transfer('x5'),
        postings('x5', [
          [0, 100],
          [1, -100, 'eur'],
        ]),
      ]),
    ).rejects.toThrow(/ledger_unbalanced/);
    // Postings one statement at a time never balance at a statement's end.
    await expect(attempt([transfer('x7'), postings('x7', [[0, 100]]), postings('x7', [[1, -100]])])).rejects.toThrow(/ledger_unbalanced/);
    await attempt([
      transfer('x6'),
      postings('x6', [
        [0, 100],
        [1, -100],
      ]),
    ]);
    // No later statement can add to a transfer, not even a balanced pair.
    await expect(attempt([postings('x6', [[2, 1]])])).rejects.toThrow(/ledger_unbalanced/);
    await expect(
      attempt([
        postings('x6', [
          [2, 5],
          [3, -5],
        ]),
      ]),
    ).rejects.toThrow(/ledger_unbalanced.*added to the ones it had/);
    const count = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ledger.transfers WHERE merchant_id = 'acct_e'`);
    expect(count.rows[0]?.n).toBe(1);
  });
});

const ACCOUNTS: AccountCode[] = ['processor_receivable', 'merchant_pending', 'merchant_available', 'platform_fees', 'refunds_in_flight', 'payouts_in_transit'];

describe('the store against the in-memory book', () => {
  it('gives the same results and balances for random batches (duplicates, conflicts, limits)', async () => {
    let run_id = 0;
    const request = fc.record({
      n: fc.integer({ min: 0, max: 7 }),
      merchant: fc.constantFrom('m1', 'm2'),
      from: fc.constantFrom(...ACCOUNTS),
      to: fc.constantFrom(...ACCOUNTS),
      amount: fc.integer({ min: 1, max: 1000 }),
      floor: fc.option(fc.integer({ min: -500, max: 500 }), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(request, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 6 }), async (batches) => {
        run_id += 1;
        const book = new LedgerBook();
        const merchant = (m: string) => `acct_p${run_id}_${m}`;
        for (const batch of batches) {
          const requests = batch.map((r): TransferRequest => ({
            id: transferId('adjustment', `s${r.n}`, T0),
            merchant_id: merchant(r.merchant),
            currency: 'usd',
            kind: 'adjustment',
            source_id: `s${r.n}`,
            postings: [
              { account: r.from, amount: r.amount },
              { account: r.to, amount: -r.amount },
            ],
            cause: { event_id: 'evt_p', type: 'test' },
            created: T0,
            available_on: null,
            ...(r.floor !== undefined ? { limits: [{ account: r.to, floor: r.floor }] } : {}),
          }));
          expect(await post(requests)).toEqual(book.post(requests));
        }
        for (const m of ['m1', 'm2']) {
          const stored = await accountsOf(pool, merchant(m));
          const expected = [...book.accounts.values()].filter((a) => a.merchant_id === merchant(m));
          expect(new Map(stored.filter((a) => a.debits_posted + a.credits_posted > 0).map((a) => [accountKeyString(a), a]))).toEqual(
            new Map(expected.map((a) => [accountKeyString(a), a])),
          );
        }
      }),
      { numRuns: 25 },
    );
  });
});
