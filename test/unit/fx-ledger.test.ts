import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { convertAmount } from '../../src/services/fx/index.js';
import { formatAmount, minimumChargeMessage } from '../../src/kernel/money.js';
import { chargeBalanceTransactionId, refundBalanceTransactionId } from '../../src/services/ledger/domain/ids.js';
import type { LedgerEvent } from '../../src/services/ledger/domain/flows.js';
import { DEFAULT_TERMS, releaseTransfer, transfersForEvent } from '../../src/services/ledger/domain/flows.js';
import type { ConvertedCapture } from '../../src/services/ledger/domain/fx-flows.js';
import { convertRefundTransfers } from '../../src/services/ledger/domain/fx-flows.js';
import type { Transfer, TransferRequest } from '../../src/services/ledger/domain/transfer.js';
import { isPosted, toTransfer, validateTransfer } from '../../src/services/ledger/domain/transfer.js';
import { LedgerBook } from '../../src/services/ledger/domain/book.js';
import { balanceOf } from '../../src/services/ledger/domain/accounts.js';
import { renderBalanceTransaction } from '../../src/services/ledger/adapters/render.js';

const T0 = 1_764_600_000;
const QUOTE = { fx_quote: 'fxr_ecb_2025-12-01_eur_usd', fx_rate: '1.1589', settlement_currency: 'usd' };

function event(type: string, object: Record<string, unknown>, internal?: Record<string, string>): LedgerEvent {
  return { id: `evt_${type}_${String(object.id)}`, merchant_id: 'acct_1', type, created: T0, data: { object }, ...(internal ? { internal } : {}) };
}

function captureEvent(gross: number, currency: string, internal?: Record<string, string>): LedgerEvent {
  return event('charge.succeeded', { id: 'ch_1', amount_captured: gross, currency, captured: true, created: T0 }, internal);
}

function refundEvent(id: string, amount: number, currency: string, status = 'succeeded', type = 'refund.created'): LedgerEvent {
  return event(type, { id, amount, currency, created: T0 + 10, status, charge: 'ch_1' });
}

/** The refund's transfers as the consumer posts them for a converted charge. */
function refundTransfers(refund: LedgerEvent, capture: ConvertedCapture, book: LedgerBook): TransferRequest[] {
  const id = String(refund.data.object.id);
  return convertRefundTransfers(
    transfersForEvent(refund, DEFAULT_TERMS, () => book.kindsOf('acct_1', id)),
    capture,
    T0 + 10,
  );
}

function convertedOf(transfers: readonly TransferRequest[]): ConvertedCapture {
  const capture = transfers.find((t) => t.kind === 'capture');
  if (!capture?.conversion) throw new Error('no converted capture');
  return { currency: capture.currency, conversion: capture.conversion };
}

describe('conversion at capture', () => {
  it('posts the presentment leg and the settlement leg, each balanced in its currency, with the fees in the settlement currency', () => {
    const transfers = transfersForEvent(captureEvent(1000, 'eur', QUOTE), DEFAULT_TERMS, () => new Set());
    expect(transfers.map((t) => [t.kind, t.currency])).toEqual([
      ['capture', 'usd'],
      ['fx_capture', 'eur'],
    ]);
    const [settlement, presentment] = transfers as [TransferRequest, TransferRequest];
    // €10.00 × 1.1589 = $11.589 → $11.59; fee 2.9 % of 1159 = 33.61 → 34, + 30; conversion fee 1 % = 11.59 → 12.
    expect(settlement.postings).toEqual([
      { account: 'fx_clearing', amount: 1159 },
      { account: 'merchant_pending', amount: -1159 },
      { account: 'merchant_pending', amount: 64 },
      { account: 'platform_fees', amount: -64 },
      { account: 'merchant_pending', amount: 12 },
      { account: 'fx_fees', amount: -12 },
    ]);
    expect(presentment.postings).toEqual([
      { account: 'processor_receivable', amount: 1000 },
      { account: 'fx_clearing', amount: -1000 },
    ]);
    expect(settlement.id).toBe(chargeBalanceTransactionId({ id: 'ch_1', created: T0 }));
    expect(settlement.conversion).toEqual({ from_currency: 'eur', from_amount: 1000, exchange_rate: '1.1589', quote_id: QUOTE.fx_quote, fx_fee: 12 });
    expect(presentment.available_on).toBeNull();
    for (const t of transfers) expect(validateTransfer(t)).toBe('ok');
    const stored = toTransfer(settlement);
    expect([stored.net, stored.fee]).toEqual([1083, 76]);
    // The net waits for release in the settlement currency.
    expect(releaseTransfer({ ...stored, available_on: stored.available_on! }).currency).toBe('usd');
  });

  it('renders the settlement leg as Stripe reports a converted charge: settlement amounts, exchange_rate, a fee line each', () => {
    const [settlement] = transfersForEvent(captureEvent(1000, 'eur', QUOTE), DEFAULT_TERMS, () => new Set());
    const stored = toTransfer(settlement!);
    const rendered = renderBalanceTransaction({ ...stored, conversion: stored.conversion ?? null }, T0);
    expect(rendered).toMatchObject({ amount: 1159, currency: 'usd', exchange_rate: 1.1589, fee: 76, net: 1083, type: 'charge' });
    expect(rendered.fee_details).toEqual([
      { amount: 64, application: null, currency: 'usd', description: 'Payrail processing fees', type: 'stripe_fee' },
      { amount: 12, application: null, currency: 'usd', description: 'Currency conversion fee', type: 'stripe_fee' },
    ]);
    const plain = transfersForEvent(captureEvent(1000, 'usd'), DEFAULT_TERMS, () => new Set());
    expect(renderBalanceTransaction(toTransfer(plain[0]!), T0).exchange_rate).toBeNull();
  });

  it('converts nothing for a charge in the settlement currency, even with a quote', () => {
    const transfers = transfersForEvent(captureEvent(1000, 'usd', QUOTE), DEFAULT_TERMS, () => new Set());
    expect(transfers.map((t) => t.kind)).toEqual(['capture']);
    expect(transfers[0]?.conversion).toBeUndefined();
  });

  it('refuses a capture event whose quote comes without its rate (the consumer parks it)', () => {
    expect(() => transfersForEvent(captureEvent(1000, 'eur', { fx_quote: 'fxr_x' }), DEFAULT_TERMS, () => new Set())).toThrow(/without its rate/);
  });
});

describe('refunds of a converted charge', () => {
  it('take the merchant’s share in the settlement currency at the capture rate, and pay the customer in the presentment currency', () => {
    const book = new LedgerBook();
    const capture = transfersForEvent(captureEvent(1000, 'eur', QUOTE), DEFAULT_TERMS, () => new Set());
    book.post(capture);
    const transfers = refundTransfers(refundEvent('re_1', 400, 'eur'), convertedOf(capture), book);
    expect(transfers.map((t) => [t.kind, t.currency])).toEqual([
      ['refund', 'usd'],
      ['fx_refund', 'eur'],
      ['refund_paid', 'eur'],
    ]);
    // €4.00 × 1.1589 = $4.6356 → $4.64.
    expect(transfers[0]?.postings).toEqual([
      { account: 'merchant_available', amount: 464 },
      { account: 'fx_clearing', amount: -464 },
    ]);
    expect(transfers[1]?.postings).toEqual([
      { account: 'fx_clearing', amount: 400 },
      { account: 'refunds_in_flight', amount: -400 },
    ]);
    expect(transfers[0]?.id).toBe(refundBalanceTransactionId({ id: 're_1', created: T0 + 10 }));
    expect(transfers[0]?.conversion).toMatchObject({ from_currency: 'eur', from_amount: 400, exchange_rate: '1.1589', fx_fee: 0 });
    expect(book.post(transfers).every((r) => isPosted(r.result))).toBe(true);
  });

  it('take at least one settlement minor unit for a refund worth less (¥1 in USD)', () => {
    const book = new LedgerBook();
    const quote = { fx_quote: 'fxr_ecb_2025-12-01_jpy_usd', fx_rate: '0.0064', settlement_currency: 'usd' };
    const capture = transfersForEvent(captureEvent(5000, 'jpy', quote), DEFAULT_TERMS, () => new Set());
    book.post(capture);
    const [taken] = refundTransfers(refundEvent('re_1', 1, 'jpy'), convertedOf(capture), book);
    expect(taken?.postings).toEqual([
      { account: 'merchant_available', amount: 1 },
      { account: 'fx_clearing', amount: -1 },
    ]);
  });

  it('give the merchant its settlement-currency share back when the refund fails', () => {
    const book = new LedgerBook();
    const capture = transfersForEvent(captureEvent(1000, 'eur', QUOTE), DEFAULT_TERMS, () => new Set());
    book.post(capture);
    book.post(refundTransfers(refundEvent('re_1', 400, 'eur', 'pending'), convertedOf(capture), book));
    const failure = refundTransfers(refundEvent('re_1', 400, 'eur', 'failed', 'refund.updated'), convertedOf(capture), book);
    expect(failure.map((t) => [t.kind, t.currency, t.postings])).toEqual([
      [
        'refund_failure',
        'usd',
        [
          { account: 'merchant_available', amount: -464 },
          { account: 'fx_clearing', amount: 464 },
        ],
      ],
      [
        'fx_refund_failure',
        'eur',
        [
          { account: 'fx_clearing', amount: -400 },
          { account: 'refunds_in_flight', amount: 400 },
        ],
      ],
    ]);
    expect(book.post(failure).every((r) => isPosted(r.result))).toBe(true);
    const available = [...book.accounts.values()].find((a) => a.code === 'merchant_available' && a.currency === 'usd');
    expect(available && balanceOf(available)).toBe(0);
  });
});

const CURRENCIES = ['usd', 'eur', 'gbp', 'jpy', 'krw', 'kwd', 'bhd', 'chf'];
/** A rate as the fx service writes them: up to 12 significant digits, from tiny (KRW→KWD) to large (KWD→KRW). */
const rateArbitrary = fc.tuple(fc.integer({ min: 1, max: 999_999_999_999 }), fc.integer({ min: 0, max: 16 })).map(([digits, scale]) => {
  const text = String(digits).padStart(scale + 1, '0');
  const rate = scale === 0 ? text : `${text.slice(0, -scale)}.${text.slice(-scale)}`;
  return rate.replace(/^0+(?=\d)/, '');
});

interface History {
  from: string;
  to: string;
  rate: string;
  gross: number;
  refunds: { amount: number; outcome: 'succeeded' | 'failed' | 'pending' }[];
}

const historyArbitrary: fc.Arbitrary<History> = fc
  .record({
    from: fc.constantFrom(...CURRENCIES),
    to: fc.constantFrom(...CURRENCIES),
    rate: rateArbitrary,
    gross: fc.integer({ min: 1, max: 99_999_999 }),
    refunds: fc.array(
      fc.record({ share: fc.integer({ min: 1, max: 100 }), outcome: fc.constantFrom('succeeded' as const, 'failed' as const, 'pending' as const) }),
      { maxLength: 4 },
    ),
  })
  .map(({ refunds, ...rest }) => {
    let left = rest.gross;
    const planned = refunds.map((r) => {
      const amount = Math.min(left, Math.max(1, Math.floor((rest.gross * r.share) / 100)));
      left -= amount;
      return { amount, outcome: r.outcome };
    });
    return { ...rest, refunds: planned.filter((r) => r.amount > 0) };
  })
  // Real rates keep a payment within the ledger's posting limit; absurd ones are not a payment.
  .filter((h) => h.from !== h.to && (convertible(h.gross, h) ?? 0) > 0 && h.refunds.every((r) => convertible(r.amount, h) !== undefined));

/** The conversion, or undefined when it is too large for a payment (no real rate does that). */
function convertible(amount: number, h: { from: string; to: string; rate: string }): number | undefined {
  try {
    const converted = convertAmount(amount, h.from, h.to, h.rate);
    return converted <= 1e12 ? converted : undefined;
  } catch {
    return undefined;
  }
}

/** What a refund takes from the merchant: its conversion at the capture's rate, at least one minor unit. */
function refundShare(amount: number, h: History): number {
  return Math.max(1, convertAmount(amount, h.from, h.to, h.rate));
}

function postHistory(h: History): { book: LedgerBook; posted: TransferRequest[] } {
  const book = new LedgerBook();
  const quote = { fx_quote: `fxr_test_${h.from}_${h.to}`, fx_rate: h.rate, settlement_currency: h.to };
  const capture = transfersForEvent(captureEvent(h.gross, h.from, quote), DEFAULT_TERMS, () => new Set());
  const posted = [...capture];
  expect(book.post(capture).every((r) => r.result === 'ok')).toBe(true);
  h.refunds.forEach((refund, i) => {
    const id = `re_${i}`;
    const first = refund.outcome === 'failed' ? 'pending' : refund.outcome;
    const steps = [refundEvent(id, refund.amount, h.from, first)];
    if (refund.outcome === 'failed') steps.push(refundEvent(id, refund.amount, h.from, 'failed', 'refund.updated'));
    for (const step of steps) {
      const transfers = refundTransfers(step, convertedOf(capture), book);
      expect(book.post(transfers).every((r) => r.result === 'ok')).toBe(true);
      posted.push(...transfers);
    }
  });
  return { book, posted };
}

function postingsOf(posted: readonly TransferRequest[], kind: Transfer['kind'], account: string): number[] {
  return posted.filter((t) => t.kind === kind).flatMap((t) => t.postings.filter((p) => p.account === account).map((p) => p.amount));
}

describe('conversion property: no minor unit created or lost', () => {
  it('every transfer balances in its currency, and the FX legs move exactly what convertAmount says', () => {
    fc.assert(
      fc.property(historyArbitrary, (h) => {
        const { book, posted } = postHistory(h);
        for (const t of posted) expect(validateTransfer(t)).toBe('ok');
        // Per currency, the ledger's postings sum to zero: debits equal credits across every account.
        const per_currency = new Map<string, number>();
        for (const a of book.accounts.values()) per_currency.set(a.currency, (per_currency.get(a.currency) ?? 0) + a.debits_posted - a.credits_posted);
        for (const total of per_currency.values()) expect(total).toBe(0);
        // The legs: the gross in, its conversion out, each refund at the capture's rate.
        const converted = convertAmount(h.gross, h.from, h.to, h.rate);
        expect(postingsOf(posted, 'fx_capture', 'fx_clearing')).toEqual([-h.gross]);
        expect(postingsOf(posted, 'capture', 'fx_clearing')).toEqual([converted]);
        const refunds = h.refunds.map((r) => refundShare(r.amount, h));
        expect(postingsOf(posted, 'refund', 'merchant_available')).toEqual(refunds);
        expect(postingsOf(posted, 'fx_refund', 'fx_clearing')).toEqual(h.refunds.map((r) => r.amount));
        // The settlement side: what the merchant holds plus Payrail's fees is the conversion less the refunds it still bears.
        const kept = h.refunds.filter((r) => r.outcome !== 'failed').reduce((sum, r) => sum + refundShare(r.amount, h), 0);
        const settled = [...book.accounts.values()]
          .filter((a) => a.currency === h.to && ['merchant_pending', 'merchant_available', 'platform_fees', 'fx_fees'].includes(a.code))
          .reduce((sum, a) => sum + balanceOf(a), 0);
        expect(settled).toBe(converted - kept);
      }),
      { numRuns: 300 },
    );
  });
});

describe('amount_too_small messages', () => {
  it('name the minimum in the currency’s own units, as Stripe does', () => {
    expect(minimumChargeMessage('usd')).toBe('Amount must be at least $0.50 usd');
    expect(minimumChargeMessage('jpy')).toBe('Amount must be at least ¥50 jpy');
    expect(minimumChargeMessage('kwd')).toBe('Amount must be at least 0.500 kwd');
    expect(minimumChargeMessage('bhd')).toBe('Amount must be at least 0.500 bhd');
    expect(formatAmount(5, 'eur')).toBe('€0.05 eur');
  });
});
