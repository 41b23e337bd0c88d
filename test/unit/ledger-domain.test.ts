import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isIdOf } from '../../src/kernel/ids.js';
import { ACCOUNT_CODES, CHART, balanceOf } from '../../src/services/ledger/domain/accounts.js';
import { DEFAULT_FEE_SCHEDULE, feeFor } from '../../src/services/ledger/domain/fees.js';
import { chargeBalanceTransactionId, transferId } from '../../src/services/ledger/domain/ids.js';
import type { LedgerEvent, MerchantTerms } from '../../src/services/ledger/domain/flows.js';
import { DAY_S, DEFAULT_TERMS, MalformedEvent, releaseTransfer, transfersForEvent } from '../../src/services/ledger/domain/flows.js';
import type { TransferRequest } from '../../src/services/ledger/domain/transfer.js';
import { isPosted, validateTransfer } from '../../src/services/ledger/domain/transfer.js';
import { LedgerBook } from '../../src/services/ledger/domain/book.js';
import type { Step } from '../../src/services/ledger/domain/simulation.js';
import { PaymentsSimulator, expectedMerchantBalances, stepFrom } from '../../src/services/ledger/domain/simulation.js';

const T0 = 1_700_000_000;
const stepArbitrary: fc.Arbitrary<Step> = fc.tuple(fc.nat(), fc.nat(), fc.nat(), fc.nat()).map(([k, a, b, c]) => stepFrom(k, a, b, c));

function transfer(overrides: Partial<TransferRequest> = {}): TransferRequest {
  return {
    id: transferId('adjustment', 'adj_1', T0),
    merchant_id: 'acct_1',
    currency: 'usd',
    kind: 'adjustment',
    source_id: 'adj_1',
    postings: [
      { account: 'merchant_available', amount: 100 },
      { account: 'platform_fees', amount: -100 },
    ],
    cause: { event_id: 'evt_1', type: 'test' },
    created: T0,
    available_on: T0,
    ...overrides,
  };
}

describe('fees', () => {
  it('are 2.9% rounded half up plus 30 minor units by default, never more than the amount', () => {
    expect(feeFor(2000, DEFAULT_FEE_SCHEDULE)).toBe(88); // 58 + 30
    expect(feeFor(1050, DEFAULT_FEE_SCHEDULE)).toBe(60); // 30.45 → 30, + 30
    expect(feeFor(1550, DEFAULT_FEE_SCHEDULE)).toBe(75); // 44.95 → 45, + 30
    expect(feeFor(20, DEFAULT_FEE_SCHEDULE)).toBe(20);
    expect(feeFor(0, DEFAULT_FEE_SCHEDULE)).toBe(0);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 99_999_999 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 1000 }),
        (gross, percent_bps, fixed) => {
          const fee = feeFor(gross, { percent_bps, fixed });
          expect(Number.isSafeInteger(fee) && fee >= 0 && fee <= gross).toBe(true);
          // Within half a minor unit of the exact percentage, before the fixed part and the cap.
          if (fee < gross) expect(Math.abs(fee - fixed - (gross * percent_bps) / 10_000)).toBeLessThanOrEqual(0.5);
        },
      ),
    );
  });
});

describe('transfer ids', () => {
  it('are derived from kind, source and time: deterministic, well-formed, time-ordered', () => {
    const id = chargeBalanceTransactionId({ id: 'ch_1', created: T0 });
    expect(id).toBe(transferId('capture', 'ch_1', T0));
    expect(isIdOf('balance_transaction', id)).toBe(true);
    expect(transferId('refund', 'ch_1', T0)).not.toBe(id);
    expect(transferId('capture', 'ch_1', T0 + 1) > id).toBe(true);
  });
});

describe('transfer validation', () => {
  it('names what is wrong with a sentence-like code', () => {
    expect(validateTransfer(transfer())).toBe('ok');
    expect(validateTransfer(transfer({ id: 'tx_1' }))).toBe('id_must_be_a_balance_transaction_id');
    expect(validateTransfer(transfer({ currency: 'xyz' }))).toBe('currency_must_be_supported');
    expect(
      validateTransfer(
        transfer({
          postings: [
            { account: 'merchant_available', amount: 0 },
            { account: 'platform_fees', amount: 0 },
          ],
        }),
      ),
    ).toBe('posting_amount_must_be_a_nonzero_integer');
    expect(validateTransfer(transfer({ postings: [{ account: 'merchant_available', amount: 100 }] }))).toBe('postings_must_be_at_least_two');
    expect(
      validateTransfer(
        transfer({
          postings: [
            { account: 'merchant_available', amount: 100 },
            { account: 'platform_fees', amount: -99 },
          ],
        }),
      ),
    ).toBe('postings_must_sum_to_zero');
    expect(
      validateTransfer(
        transfer({
          postings: [
            { account: 'nowhere' as never, amount: 100 },
            { account: 'platform_fees', amount: -100 },
          ],
        }),
      ),
    ).toBe('posting_account_must_be_in_chart');
    expect(
      validateTransfer(
        transfer({
          postings: [
            { account: 'merchant_available', amount: 0.5 },
            { account: 'platform_fees', amount: -0.5 },
          ],
        }),
      ),
    ).toBe('posting_amount_must_be_a_nonzero_integer');
    expect(
      validateTransfer(transfer({ postings: Array.from({ length: 9 }, (_, i) => ({ account: 'platform_fees' as const, amount: i === 8 ? -8 : 1 })) })),
    ).toBe('postings_must_be_at_most_eight');
    expect(validateTransfer(transfer({ cause: { event_id: '', type: 'x' } }))).toBe('cause_must_be_set');
    expect(validateTransfer(transfer({ limits: [{ account: 'payouts_in_transit', floor: 0 }] }))).toBe('limit_must_name_a_posted_account');
  });

  it('every account in the chart states its normal balance', () => {
    for (const code of ACCOUNT_CODES) expect(['debit', 'credit']).toContain(CHART[code].normal);
    expect(balanceOf({ code: 'processor_receivable', debits_posted: 10, credits_posted: 3 })).toBe(7);
    expect(balanceOf({ code: 'merchant_available', debits_posted: 10, credits_posted: 3 })).toBe(-7);
  });
});

describe('the ledger book', () => {
  it('posts a transfer id once: same content gives exists, different content exists_with_different_fields', () => {
    const book = new LedgerBook();
    expect(book.post([transfer()])).toEqual([{ id: transfer().id, result: 'ok' }]);
    expect(book.post([transfer({ cause: { event_id: 'evt_2', type: 'other' } })])[0]?.result).toBe('exists');
    expect(
      book.post([
        transfer({
          postings: [
            { account: 'merchant_available', amount: 5 },
            { account: 'platform_fees', amount: -5 },
          ],
        }),
      ])[0]?.result,
    ).toBe('exists_with_different_fields');
    expect(book.transfers.size).toBe(1);
    expect([...book.accounts.values()].map((a) => [a.code, balanceOf(a)])).toEqual([
      ['merchant_available', -100],
      ['platform_fees', 100],
    ]);
  });

  it('checks balance limits in order within a batch and refuses with exceeds_balance_limit', () => {
    const book = new LedgerBook();
    const fund = transfer({
      id: transferId('adjustment', 'fund', T0),
      source_id: 'fund',
      postings: [
        { account: 'processor_receivable', amount: 500 },
        { account: 'merchant_available', amount: -500 },
      ],
    });
    const payout = (n: number) =>
      transfer({
        id: transferId('adjustment', `po_${n}`, T0),
        source_id: `po_${n}`,
        postings: [
          { account: 'merchant_available', amount: 200 },
          { account: 'payouts_in_transit', amount: -200 },
        ],
        limits: [{ account: 'merchant_available', floor: 0 }],
      });
    const results = book.post([fund, payout(1), payout(2), payout(3)]).map((r) => r.result);
    expect(results).toEqual(['ok', 'ok', 'ok', 'exceeds_balance_limit']);
    const available = [...book.accounts.values()].find((a) => a.code === 'merchant_available');
    expect(available && balanceOf(available)).toBe(100);
  });
});

describe('money flows', () => {
  const event = (type: string, object: Record<string, unknown>, created = T0): LedgerEvent => ({
    id: `evt_${type}`,
    merchant_id: 'acct_1',
    type,
    created,
    data: { object },
  });
  const charge = { id: 'ch_1', amount: 2000, amount_captured: 2000, captured: true, currency: 'usd', created: T0 };

  it('capture: gross to receivable and pending, fee from pending to platform fees, available after the delay', () => {
    const [capture] = transfersForEvent(event('charge.succeeded', charge), DEFAULT_TERMS, () => new Set());
    expect(capture?.postings).toEqual([
      { account: 'processor_receivable', amount: 2000 },
      { account: 'merchant_pending', amount: -2000 },
      { account: 'merchant_pending', amount: 88 },
      { account: 'platform_fees', amount: -88 },
    ]);
    expect(capture?.available_on).toBe(T0 + 2 * DAY_S);
    expect(capture?.id).toBe(chargeBalanceTransactionId(charge));
    expect(transfersForEvent(event('charge.succeeded', { ...charge, captured: false, amount_captured: 0 }), DEFAULT_TERMS, () => new Set())).toEqual([]);
    const release = releaseTransfer({ ...capture!, net: 2000 - 88, available_on: capture!.available_on! });
    expect(release.postings).toEqual([
      { account: 'merchant_pending', amount: 1912 },
      { account: 'merchant_available', amount: -1912 },
    ]);
  });

  it('refunds take from available, and a failed one gives it back from wherever the money is', () => {
    const refund = { id: 're_1', amount: 500, currency: 'usd', created: T0, status: 'succeeded' };
    const created = transfersForEvent(event('refund.created', refund), DEFAULT_TERMS, () => new Set());
    expect(created.map((t) => t.kind)).toEqual(['refund', 'refund_paid']);
    expect(transfersForEvent(event('refund.created', { ...refund, status: 'failed' }), DEFAULT_TERMS, () => new Set())).toEqual([]);
    const failed_after_paid = transfersForEvent(
      event('refund.updated', { ...refund, status: 'failed' }, T0 + 9),
      DEFAULT_TERMS,
      () => new Set(['refund', 'refund_paid'] as const),
    );
    expect(failed_after_paid[0]?.postings).toEqual([
      { account: 'processor_receivable', amount: 500 },
      { account: 'merchant_available', amount: -500 },
    ]);
    const failed_in_flight = transfersForEvent(event('refund.updated', { ...refund, status: 'failed' }), DEFAULT_TERMS, () => new Set(['refund'] as const));
    expect(failed_in_flight[0]?.postings[0]).toEqual({ account: 'refunds_in_flight', amount: 500 });
  });

  it('refuses an event whose payload is not what payments emits', () => {
    expect(() => transfersForEvent(event('charge.captured', { id: 'ch_1' }), DEFAULT_TERMS, () => new Set())).toThrow(MalformedEvent);
  });
});

describe('ledger properties over random payment histories', () => {
  it('every transfer balances, every balance is the sum of its postings, and the merchant balance follows Stripe', () => {
    fc.assert(
      fc.property(
        fc.array(stepArbitrary, { minLength: 1, maxLength: 60 }),
        fc.record({ percent_bps: fc.integer({ min: 0, max: 1000 }), fixed: fc.integer({ min: 0, max: 100 }) }),
        fc.integer({ min: 0, max: 5 }),
        (steps: Step[], fee, delay_days) => {
          const terms: MerchantTerms = { fee, settlement_delay_s: delay_days * DAY_S };
          const sim = new PaymentsSimulator(T0);
          const book = new LedgerBook();
          const deliver = (e: LedgerEvent) => {
            const results = book.post(transfersForEvent(e, terms, (source) => book.kindsOf(e.merchant_id, source)));
            for (const r of results) expect(isPosted(r.result)).toBe(true);
          };
          for (const step of steps) {
            for (const e of sim.apply(step)) deliver(e);
            // The release job: every capture past its delay moves pending to available, once.
            for (const t of [...book.transfers.values()]) {
              if (t.kind === 'capture' && t.net > 0 && t.available_on !== null && t.available_on <= sim.now_s) {
                const [result] = book.post([releaseTransfer({ ...t, available_on: t.available_on })]);
                expect(isPosted(result!.result)).toBe(true);
              }
            }
          }
          // Every transfer sums to zero.
          for (const t of book.transfers.values()) expect(t.postings.reduce((s, p) => s + p.amount, 0)).toBe(0);
          // Every account's totals are the sums of its postings.
          const sums = new Map<string, { d: number; c: number }>();
          for (const t of book.transfers.values())
            for (const p of t.postings) {
              const entry = sums.get(p.account) ?? { d: 0, c: 0 };
              if (p.amount > 0) entry.d += p.amount;
              else entry.c -= p.amount;
              sums.set(p.account, entry);
            }
          for (const account of book.accounts.values()) {
            expect([account.debits_posted, account.credits_posted]).toEqual([sums.get(account.code)?.d ?? 0, sums.get(account.code)?.c ?? 0]);
          }
          // The merchant's balance is what Stripe's rules give, from the payments side alone.
          const balance = (code: string) => {
            const a = [...book.accounts.values()].find((x) => x.code === code);
            return a ? balanceOf(a) : 0;
          };
          const expected = expectedMerchantBalances(sim, terms);
          expect({ available: balance('merchant_available'), pending: balance('merchant_pending'), fees: balance('platform_fees') }).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});
