import { PayrailError } from '../../../kernel/errors.js';
import type { PaymentsDeps } from '../../payments/index.js';
import { listCharges, listRefunds, retrieveIntent } from '../../payments/index.js';
import { transfersOfSources } from '../../ledger/index.js';
import { attemptsOfEvents, eventsOfObjects } from '../../events/index.js';
import type { PaymentRow } from './list.js';
import { paymentRow } from './list.js';
import type { TimelineEntry } from './timeline.js';
import { buildTimeline } from './timeline.js';

/**
 * One payment as its detail page shows it: the list row, the Stripe PaymentIntent, its attempts and
 * refunds as /v1 renders them, the ledger postings they caused, their events and every webhook
 * attempt. Read through each service's public entry, in the caller's merchant scope.
 */

/** A payment's attempts and refunds read at most (Stripe caps a list page at 100 too). */
const OBJECTS_MAX = 100;

type Json = Record<string, unknown>;

export interface PaymentDetail {
  payment: PaymentRow;
  payment_intent: Json;
  timeline: TimelineEntry[];
  attempts: Json[];
  refunds: Json[];
  ledger: { id: string; at: number; kind: string; postings: { account: string; amount: number; currency: string }[] }[];
  events: { id: string; type: string; created: number }[];
  deliveries: { event_id: string; endpoint_url: string; attempt: number; status_code: number | null; at: number }[];
}

/**
 * The intent as the dashboard answers it: without its client_secret, which lets whoever holds it
 * confirm the payment from a browser with the publishable key, nor its next_action, the customer's
 * 3-D Secure link that carries the same secret. No dashboard page needs either.
 */
export function withoutClientSecret(intent: Json): Json {
  const { client_secret: _secret, next_action: _customer_link, ...rest } = intent;
  return rest;
}

export async function paymentDetail(payments: PaymentsDeps, merchant_id: string, id: string): Promise<PaymentDetail> {
  const payment = await paymentRow(payments.reader, merchant_id, id);
  if (!payment) throw new PayrailError('resource_missing', { param: 'id', message: `No such payment: '${id.slice(0, 64)}'` });
  const payment_intent = withoutClientSecret(await retrieveIntent(payments, merchant_id, id));
  const page = { limit: OBJECTS_MAX };
  const attempts = (await listCharges(payments, merchant_id, page, { payment_intent: id })).data.reverse();
  const refunds = (await listRefunds(payments, merchant_id, page, { payment_intent: id })).data.reverse();
  const money_sources = [...attempts, ...refunds].map((object) => String(object.id));
  const ledger = await transfersOfSources(payments.reader, merchant_id, money_sources);
  const events = await eventsOfObjects(payments.reader, merchant_id, [id, ...money_sources]);
  const deliveries = await attemptsOfEvents(
    payments.reader,
    merchant_id,
    events.map((event) => event.id),
  );
  const timeline = buildTimeline({ intent: payment_intent, charges: attempts, refunds, ledger, events, deliveries });
  return {
    payment,
    payment_intent,
    timeline,
    attempts,
    refunds,
    ledger,
    events: events.map(({ id: event_id, type, created }) => ({ id: event_id, type, created })),
    deliveries,
  };
}
