import type { FeeSchedule } from './fees.js';
import { DEFAULT_FEE_SCHEDULE, feeFor } from './fees.js';
import { transferId } from './ids.js';
import { DISPUTE_EVENT_TYPES, disputeTransfers } from './dispute-flows.js';
import { captureQuote, convertedCaptureTransfers } from './fx-flows.js';
import type { Posting, TransferKind, TransferRequest } from './transfer.js';

/**
 * Money flows: which transfers each payments event causes. Pure: the caller supplies the merchant's
 * terms and which transfers a refund already has. docs/ledger.md shows each flow as a table.
 *
 *   capture         processor_receivable +G, merchant_pending −G, merchant_pending +F, platform_fees −F
 *   release         merchant_pending +N, merchant_available −N            (N = G − F, after the delay)
 *   capture, funds  processor_receivable +G, merchant_available −G, merchant_available +F, platform_fees −F
 *     immediate     (the processor makes them available at once: no delay, no release)
 *   refund          merchant_available +R, refunds_in_flight −R
 *   refund_paid     refunds_in_flight +R, processor_receivable −R         (the processor paid it out)
 *   refund_failure  refunds_in_flight +R (or processor_receivable +R once paid), merchant_available −R
 *
 * A charge in another currency than the merchant's settlement currency: fx-flows.ts.
 */

export interface MerchantTerms {
  fee: FeeSchedule;
  /** Seconds from capture until the net is available; Stripe's default for new accounts is 2 days. */
  settlement_delay_s: number;
}

export const DAY_S = 86_400;
export const DEFAULT_TERMS: MerchantTerms = { fee: DEFAULT_FEE_SCHEDULE, settlement_delay_s: 2 * DAY_S };
export const SETTLEMENT_DELAY_MAX_S = 60 * DAY_S;

/** The events that move money, as payments emits them (refund updates as Stripe names them). */
export const LEDGER_EVENT_TYPES = [
  'charge.succeeded',
  'charge.captured',
  'refund.created',
  'refund.updated',
  'charge.refund.updated',
  ...DISPUTE_EVENT_TYPES,
] as const;

export interface LedgerEvent {
  id: string;
  merchant_id: string;
  type: string;
  created: number;
  data: { object: Record<string, unknown> };
  /** The producer's internal facts (never in the Stripe object): `funds: 'immediate'` on a charge's capture. */
  internal?: Readonly<Record<string, string>>;
}

/** The transfer kinds already posted for a source (a refund), including earlier ones in this batch. */
export type History = (source_id: string) => ReadonlySet<TransferKind>;

/** An event whose payload is not what payments emits is a bug there: the consumer parks it. */
export class MalformedEvent extends Error {
  override name = 'MalformedEvent';
}

export function transfersForEvent(event: LedgerEvent, terms: MerchantTerms, history: History): TransferRequest[] {
  const object = event.data.object;
  switch (event.type) {
    case 'charge.succeeded':
      return field(object, 'captured', 'boolean', event) ? captureTransfers(event, terms) : [];
    case 'charge.captured':
      return captureTransfers(event, terms);
    case 'refund.created':
      return refundCreated(event);
    case 'refund.updated':
    case 'charge.refund.updated':
      return refundUpdated(event, history(field(object, 'id', 'string', event)));
    default:
      return disputeTransfers(event);
  }
}

function captureTransfers(event: LedgerEvent, terms: MerchantTerms): TransferRequest[] {
  const charge = event.data.object;
  const id = field(charge, 'id', 'string', event);
  const gross = field(charge, 'amount_captured', 'number', event);
  if (gross <= 0) return [];
  const fee = feeFor(gross, terms.fee);
  // The processor said these funds are available at once (a connector fact, carried by the event).
  const immediate = event.internal?.funds === 'immediate';
  const held: 'merchant_available' | 'merchant_pending' = immediate ? 'merchant_available' : 'merchant_pending';
  const available_on = immediate ? event.created : event.created + terms.settlement_delay_s;
  const currency = field(charge, 'currency', 'string', event);
  const created = field(charge, 'created', 'number', event);
  // A charge in another currency than the merchant's settlement one is converted at the quoted rate.
  const quote = captureQuote(event.internal);
  if (quote && quote.settlement_currency !== currency) {
    const cause = { event_id: event.id, type: event.type };
    const facts = { merchant_id: event.merchant_id, charge_id: id, charge_created: created, presentment_currency: currency, gross, held, cause };
    return convertedCaptureTransfers({ ...facts, created: event.created, available_on }, terms.fee, quote);
  }
  const postings: Posting[] = [
    { account: 'processor_receivable', amount: gross },
    { account: held, amount: -gross },
  ];
  if (fee > 0) postings.push({ account: held, amount: fee }, { account: 'platform_fees', amount: -fee });
  return [
    {
      id: transferId('capture', id, created),
      merchant_id: event.merchant_id,
      currency,
      kind: 'capture',
      source_id: id,
      postings,
      cause: { event_id: event.id, type: event.type },
      created: event.created,
      available_on,
    },
  ];
}

/** A capture whose net waits in `merchant_pending` for the release job; one available at once does not. */
export function awaitsRelease(transfer: { kind: TransferKind; net: number; available_on: number | null; postings: readonly Posting[] }): boolean {
  return transfer.kind === 'capture' && transfer.net > 0 && transfer.available_on !== null && transfer.postings.some((p) => p.account === 'merchant_pending');
}

/** Moves a capture's net from pending to available once its settlement delay has passed. */
export function releaseTransfer(capture: {
  merchant_id: string;
  currency: string;
  source_id: string;
  net: number;
  available_on: number;
  cause: { event_id: string };
}): TransferRequest {
  return {
    id: transferId('release', capture.source_id, capture.available_on),
    merchant_id: capture.merchant_id,
    currency: capture.currency,
    kind: 'release',
    source_id: capture.source_id,
    postings: [
      { account: 'merchant_pending', amount: capture.net },
      { account: 'merchant_available', amount: -capture.net },
    ],
    cause: { event_id: capture.cause.event_id, type: 'ledger.settlement_delay_elapsed' },
    created: capture.available_on,
    available_on: null,
  };
}

interface RefundFacts {
  id: string;
  amount: number;
  currency: string;
  created: number;
  status: string;
}

function refundFacts(event: LedgerEvent): RefundFacts {
  const refund = event.data.object;
  return {
    id: field(refund, 'id', 'string', event),
    amount: field(refund, 'amount', 'number', event),
    currency: field(refund, 'currency', 'string', event),
    created: field(refund, 'created', 'number', event),
    status: field(refund, 'status', 'string', event),
  };
}

/** A refund takes money from the merchant when created, unless it failed at once (nothing moved). */
function refundCreated(event: LedgerEvent): TransferRequest[] {
  const refund = refundFacts(event);
  if (refund.status === 'failed' || refund.status === 'canceled') return [];
  const taken = refundTaken(event, refund);
  return refund.status === 'succeeded' ? [taken, refundPaid(event, refund)] : [taken];
}

/** A later status: paid out by the processor, or failed (the merchant gets the money back). */
function refundUpdated(event: LedgerEvent, posted: ReadonlySet<TransferKind>): TransferRequest[] {
  const refund = refundFacts(event);
  if (posted.has('refund_failure')) return [];
  if (refund.status === 'succeeded') {
    if (posted.has('refund_paid')) return [];
    return posted.has('refund') ? [refundPaid(event, refund)] : [refundTaken(event, refund), refundPaid(event, refund)];
  }
  if ((refund.status === 'failed' || refund.status === 'canceled') && posted.has('refund')) {
    return [refundFailure(event, refund, posted.has('refund_paid'))];
  }
  return [];
}

function refundTaken(event: LedgerEvent, refund: RefundFacts): TransferRequest {
  return refundTransfer(event, refund, 'refund', refund.created, [
    { account: 'merchant_available', amount: refund.amount },
    { account: 'refunds_in_flight', amount: -refund.amount },
  ]);
}

function refundPaid(event: LedgerEvent, refund: RefundFacts): TransferRequest {
  return refundTransfer(event, refund, 'refund_paid', null, [
    { account: 'refunds_in_flight', amount: refund.amount },
    { account: 'processor_receivable', amount: -refund.amount },
  ]);
}

function refundFailure(event: LedgerEvent, refund: RefundFacts, paid: boolean): TransferRequest {
  // Once paid out, the processor holds the money it failed to deliver; before, it never left.
  const from = paid ? 'processor_receivable' : 'refunds_in_flight';
  return refundTransfer(event, refund, 'refund_failure', event.created, [
    { account: from, amount: refund.amount },
    { account: 'merchant_available', amount: -refund.amount },
  ]);
}

/** Ids take the refund's own time, so every event about one refund derives the same ids. */
function refundTransfer(event: LedgerEvent, refund: RefundFacts, kind: TransferKind, available_on: number | null, postings: Posting[]): TransferRequest {
  return {
    id: transferId(kind, refund.id, refund.created),
    merchant_id: event.merchant_id,
    currency: refund.currency,
    kind,
    source_id: refund.id,
    postings,
    cause: { event_id: event.id, type: event.type },
    created: event.created,
    available_on,
  };
}

type FieldType = { string: string; number: number; boolean: boolean };

function field<K extends keyof FieldType>(object: Record<string, unknown>, name: string, type: K, event: LedgerEvent): FieldType[K] {
  const value = object[name];
  const ok = type === 'number' ? Number.isSafeInteger(value) && (value as number) >= 0 : typeof value === type;
  if (!ok) throw new MalformedEvent(`event ${event.id} (${event.type}): ${name} must be a ${type === 'number' ? 'non-negative integer' : type}`);
  return value as FieldType[K];
}
