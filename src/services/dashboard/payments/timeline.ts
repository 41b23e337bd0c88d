import type { DeliveryAttempt, ObjectEvent } from '../../events/index.js';
import type { PostedTransfer } from '../../ledger/index.js';
import { formatAmount } from '../../../kernel/money.js';

/**
 * A payment's timeline: everything that happened to it, oldest first, from the objects the
 * payments, ledger and events services keep. Pure: the detail read (detail.ts) gathers the inputs.
 */

export interface TimelineEntry {
  /** Unix seconds. */
  at: number;
  kind: 'intent' | 'attempt' | 'risk' | 'three_d_secure' | 'capture' | 'refund' | 'ledger' | 'event' | 'webhook';
  title: string;
  detail: string;
}

type Json = Record<string, unknown>;

/** A field of a rendered Stripe object as text: strings and numbers as they are, anything else as `fallback`. */
function text(value: unknown, fallback = ''): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : fallback;
}

export interface TimelineInputs {
  intent: Json;
  charges: Json[];
  refunds: Json[];
  ledger: PostedTransfer[];
  events: ObjectEvent[];
  deliveries: DeliveryAttempt[];
}

export function buildTimeline(inputs: TimelineInputs): TimelineEntry[] {
  const entries = [
    ...intentEntries(inputs.intent),
    ...inputs.charges.flatMap(chargeEntries),
    ...inputs.refunds.map(refundEntry),
    ...inputs.ledger.map(ledgerEntry),
    ...inputs.events.map(eventEntry),
    ...inputs.deliveries.map(deliveryEntry),
  ];
  // Stable: entries of the same second keep the order above (intent, attempt, …, webhook).
  return entries.sort((a, b) => a.at - b.at);
}

function intentEntries(intent: Json): TimelineEntry[] {
  const created = Number(intent.created);
  const entries: TimelineEntry[] = [{ at: created, kind: 'intent', title: 'Payment created', detail: moneyOf(intent, 'amount') }];
  const canceled_at = intent.canceled_at;
  if (typeof canceled_at === 'number') {
    entries.push({ at: canceled_at, kind: 'intent', title: 'Payment canceled', detail: text(intent.cancellation_reason, 'no reason given') });
  }
  const error = intent.last_payment_error as Json | null;
  if (error) entries.push({ at: created, kind: 'intent', title: 'Last payment error', detail: [error.code, error.decline_code].filter(Boolean).join(': ') });
  return entries;
}

function chargeEntries(charge: Json): TimelineEntry[] {
  const at = Number(charge.created);
  const card = ((charge.payment_method_details as Json | undefined)?.card ?? {}) as Json;
  const outcome = (charge.outcome ?? {}) as Json;
  const routing = charge.payrail_routing as { tries: Json[] } | undefined;
  // Payrail's routing trace: each processor tried, and what it answered.
  const processors = routing ? routing.tries.map((entry) => `${String(entry.connector)} (${String(entry.outcome)})`).join(' → ') : 'the processor';
  const entries: TimelineEntry[] = [
    {
      at,
      kind: 'attempt',
      title: `Attempt ${String(charge.id)} ${String(charge.status)}`,
      detail: `${text(card.brand, 'card')} •••• ${text(card.last4, '????')} via ${processors}${charge.failure_code ? `; ${text(charge.failure_code)}` : ''}`,
    },
    {
      at,
      kind: 'risk',
      title: `Risk ${text(outcome.risk_level, 'unknown')}`,
      detail: `score ${text(outcome.risk_score, 'n/a')}; rule ${typeof outcome.rule === 'string' ? outcome.rule : 'none'}; ${text(outcome.type)}`,
    },
  ];
  if (charge.captured === true) entries.push({ at, kind: 'capture', title: 'Captured', detail: moneyOf(charge, 'amount_captured') });
  return entries;
}

/** 3-D Secure shows in the intent's events: it asked for authentication, then went on (or failed). */
function eventEntry(event: ObjectEvent): TimelineEntry {
  if (event.type === 'payment_intent.requires_action') return { at: event.created, kind: 'three_d_secure', title: '3-D Secure requested', detail: event.id };
  return { at: event.created, kind: 'event', title: event.type, detail: event.id };
}

function refundEntry(refund: Json): TimelineEntry {
  return {
    at: Number(refund.created),
    kind: 'refund',
    title: `Refund ${String(refund.id)} ${String(refund.status)}`,
    detail: moneyOf(refund, 'amount'),
  };
}

/** An amount field of a rendered Stripe object in its currency's own exponent: `$4.00 usd`, `¥500 jpy`. */
function moneyOf(object: Json, field: string): string {
  return formatAmount(Number(object[field]), String(object.currency));
}

function ledgerEntry(transfer: PostedTransfer): TimelineEntry {
  const postings = transfer.postings.map((p) => `${p.account} ${p.amount > 0 ? '+' : ''}${formatAmount(p.amount, p.currency)}`).join(', ');
  return { at: transfer.at, kind: 'ledger', title: `Ledger ${transfer.kind}`, detail: postings };
}

function deliveryEntry(delivery: DeliveryAttempt): TimelineEntry {
  return {
    at: delivery.at,
    kind: 'webhook',
    title: `Webhook ${delivery.event_id} attempt ${delivery.attempt}`,
    detail: `${delivery.endpoint_url} → ${delivery.status_code ?? 'no response'}`,
  };
}
