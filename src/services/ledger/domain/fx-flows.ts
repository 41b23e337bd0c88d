import { convertAmount } from '../../fx/index.js';
import type { FeeSchedule } from './fees.js';
import { feeFor } from './fees.js';
import { transferId } from './ids.js';
import type { Cause, Conversion, Posting, TransferRequest } from './transfer.js';

/**
 * Conversion at capture (docs/currencies.md). A charge in a currency other than the merchant's
 * settlement currency moves money in two transfers, each balanced in its own currency, meeting in
 * `fx_clearing`:
 *
 *   fx_capture (presentment P)  processor_receivable +G, fx_clearing −G
 *   capture    (settlement S)   fx_clearing +C, held −C, held +F, platform_fees −F, held +X, fx_fees −X
 *
 * with C = convertAmount(G, P, S, rate) (the rate payments quoted and put on the capture event, so a
 * replay converts identically), F = the merchant's processing fee on C, X = the conversion fee on C.
 * The `capture` leg is the charge's balance transaction and carries the conversion. Refunds convert at
 * the capture's rate, through the same accounts (`convertRefundTransfers`).
 */

/** Stripe's conversion fee: 1 % of the converted amount, rounded half up (as processing fees are). */
export const FX_FEE_SCHEDULE: FeeSchedule = { percent_bps: 100, fixed: 0 };

/** What payments puts in a cross-currency capture event's internal facts. */
export interface CaptureQuote {
  quote_id: string;
  exchange_rate: string;
  settlement_currency: string;
}

/** The quote a capture event carries, or null for a charge in the settlement currency. */
export function captureQuote(internal: Readonly<Record<string, string>> | undefined): CaptureQuote | null {
  if (internal?.fx_quote === undefined) return null;
  const { fx_quote, fx_rate, settlement_currency } = internal;
  if (typeof fx_rate !== 'string' || typeof settlement_currency !== 'string') {
    throw new Error(`capture quote ${fx_quote} comes without its rate or settlement currency`);
  }
  return { quote_id: fx_quote, exchange_rate: fx_rate, settlement_currency };
}

export interface CaptureFacts {
  merchant_id: string;
  charge_id: string;
  /** The charge's creation time: the transfer ids derive from it, as the unconverted capture's do. */
  charge_created: number;
  presentment_currency: string;
  gross: number;
  held: 'merchant_pending' | 'merchant_available';
  cause: Cause;
  created: number;
  available_on: number;
}

/** The two legs of a converted capture: the settlement leg (the balance transaction) first. */
export function convertedCaptureTransfers(facts: CaptureFacts, fee_schedule: FeeSchedule, quote: CaptureQuote): TransferRequest[] {
  const converted = convertAmount(facts.gross, facts.presentment_currency, quote.settlement_currency, quote.exchange_rate);
  if (converted <= 0) throw new Error(`charge ${facts.charge_id}: ${facts.gross} ${facts.presentment_currency} converts to nothing`);
  const fee = feeFor(converted, fee_schedule);
  const fx_fee = Math.min(feeFor(converted, FX_FEE_SCHEDULE), converted - fee);
  const postings: Posting[] = [
    { account: 'fx_clearing', amount: converted },
    { account: facts.held, amount: -converted },
  ];
  if (fee > 0) postings.push({ account: facts.held, amount: fee }, { account: 'platform_fees', amount: -fee });
  if (fx_fee > 0) postings.push({ account: facts.held, amount: fx_fee }, { account: 'fx_fees', amount: -fx_fee });
  const common = { merchant_id: facts.merchant_id, source_id: facts.charge_id, cause: facts.cause, created: facts.created };
  return [
    {
      ...common,
      id: transferId('capture', facts.charge_id, facts.charge_created),
      currency: quote.settlement_currency,
      kind: 'capture',
      postings,
      available_on: facts.available_on,
      conversion: conversionOf(facts.presentment_currency, facts.gross, quote, fx_fee),
    },
    {
      ...common,
      id: transferId('fx_capture', facts.charge_id, facts.charge_created),
      currency: facts.presentment_currency,
      kind: 'fx_capture',
      postings: [
        { account: 'processor_receivable', amount: facts.gross },
        { account: 'fx_clearing', amount: -facts.gross },
      ],
      available_on: null,
    },
  ];
}

function conversionOf(from_currency: string, from_amount: number, quote: Omit<CaptureQuote, 'settlement_currency'>, fx_fee: number): Conversion {
  return { from_currency, from_amount, exchange_rate: quote.exchange_rate, quote_id: quote.quote_id, fx_fee };
}

/** A converted capture as a refund of its charge needs it: its settlement currency and conversion. */
export interface ConvertedCapture {
  currency: string;
  conversion: Conversion;
}

/**
 * A refund's transfers, computed in the charge's (presentment) currency by flows.ts, rewritten for a
 * converted charge: the merchant's side moves in the settlement currency at the capture's rate (the
 * original rate: the merchant gives back what the refunded part earned it, no FX gain or loss for it),
 * the customer's side stays in the presentment currency. The processor's payout (`refund_paid`) never
 * touches the merchant and stays as it is.
 */
export function convertRefundTransfers(requests: readonly TransferRequest[], capture: ConvertedCapture, refund_created: number): TransferRequest[] {
  return requests.flatMap((request) => {
    if (request.kind === 'refund') return splitRefundLeg(request, capture, transferId('fx_refund', request.source_id, refund_created));
    if (request.kind === 'refund_failure') return splitRefundLeg(request, capture, transferId('fx_refund_failure', request.source_id, refund_created));
    return [request];
  });
}

/** The settlement-currency share of a refund of `amount`: converted at the capture's rate. */
function refundedShare(amount: number, currency: string, capture: ConvertedCapture): number {
  return convertAmount(amount, currency, capture.currency, capture.conversion.exchange_rate);
}

/**
 * `request` moves R between merchant_available and another account `other`; it becomes the settlement
 * leg (merchant_available ↔ fx_clearing, R converted) and the presentment leg (fx_clearing ↔ other, R).
 */
function splitRefundLeg(request: TransferRequest, capture: ConvertedCapture, fx_id: string): TransferRequest[] {
  const merchant = request.postings.find((p) => p.account === 'merchant_available');
  const other = request.postings.find((p) => p.account !== 'merchant_available');
  if (!merchant || !other || request.postings.length !== 2) throw new Error(`transfer ${request.id}: not a two-posting refund movement`);
  const amount = Math.abs(merchant.amount);
  const sign = Math.sign(merchant.amount);
  // A refund worth less than half a settlement minor unit (¥1 in USD) still takes one: a balance
  // transaction needs an amount, and the merchant never gains from a refund.
  const converted = Math.max(1, refundedShare(amount, request.currency, capture));
  const settlement: TransferRequest = {
    ...request,
    currency: capture.currency,
    postings: [
      { account: 'merchant_available', amount: sign * converted },
      { account: 'fx_clearing', amount: -sign * converted },
    ],
    conversion: conversionOf(request.currency, amount, capture.conversion, 0),
  };
  const presentment: TransferRequest = {
    ...request,
    id: fx_id,
    kind: request.kind === 'refund' ? 'fx_refund' : 'fx_refund_failure',
    postings: [
      { account: 'fx_clearing', amount: sign * amount },
      { account: other.account, amount: other.amount },
    ],
    available_on: null,
  };
  return [settlement, presentment];
}
