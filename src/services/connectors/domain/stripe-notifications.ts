/**
 * Stripe's webhooks, read by the stripe connector: the `Stripe-Signature` check as Stripe documents it
 * (https://stripe.com/docs/webhooks#verify-manually: `t=<unix seconds>,v1=<hex HMAC-SHA256 of
 * "<t>.<raw body>" under the endpoint's secret>`, several `v1` while a secret is rolled, 5 minutes of
 * tolerance) and the events the connector understands turned into the port's ProcessorEvents. Events
 * about objects the connector did not make (no `payrail_attempt` metadata) are acknowledged and dropped.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ProcessorEvent, VerifiedNotifications } from './port.js';
import type { StripeCharge, StripePaymentIntent, StripeRefund } from './stripe-wire.js';
import { ATTEMPT_METADATA_KEY, REFUND_METADATA_KEY, declineOf, intentResult } from './stripe-wire.js';

/** Stripe's default tolerance between the signature's timestamp and now. */
export const SIGNATURE_TOLERANCE_S = 300;
/** Bounds on what is parsed at all: a header or body past these is refused unread. */
export const MAX_SIGNATURE_HEADER_LENGTH = 1_024;
export const MAX_NOTIFICATION_BYTES = 512 * 1024;
const MAX_SIGNATURES = 8;

/** What Stripe acknowledges as received: any 2xx; its own examples answer `{"received": true}`. */
const ACK = { status: 200, content_type: 'application/json', body: '{"received":true}' };

export function signPayload(secret: string, timestamp_s: number, raw_body: Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp_s}.`).update(raw_body).digest('hex');
}

/** Checks a `Stripe-Signature` header; the reason names what failed, never the secret or a signature. */
export function checkSignature(header: string | undefined, raw_body: Buffer, secret: string, now_s: number): { ok: true } | { ok: false; reason: string } {
  if (!header) return { ok: false, reason: 'no Stripe-Signature header' };
  if (header.length > MAX_SIGNATURE_HEADER_LENGTH) return { ok: false, reason: 'Stripe-Signature header too long' };
  if (raw_body.length > MAX_NOTIFICATION_BYTES) return { ok: false, reason: 'notification body too large' };
  const parts = header.split(',').map((part) => part.split('=', 2) as [string, string | undefined]);
  const timestamps = parts.filter(([key]) => key.trim() === 't').map(([, value]) => Number(value));
  const signatures = parts.filter(([key]) => key.trim() === 'v1').map(([, value]) => value ?? '');
  const timestamp = timestamps[0];
  if (timestamps.length !== 1 || timestamp === undefined || !Number.isSafeInteger(timestamp)) return { ok: false, reason: 'no timestamp in Stripe-Signature' };
  if (signatures.length === 0 || signatures.length > MAX_SIGNATURES) return { ok: false, reason: 'no v1 signature in Stripe-Signature' };
  if (Math.abs(now_s - timestamp) > SIGNATURE_TOLERANCE_S) return { ok: false, reason: 'Stripe-Signature timestamp outside the tolerance' };
  const expected = Buffer.from(signPayload(secret, timestamp, raw_body), 'hex');
  const matches = signatures.some((signature) => {
    const given = Buffer.from(signature, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return matches ? { ok: true } : { ok: false, reason: 'no signature matches the payload' };
}

interface StripeEvent {
  id: string;
  object: 'event';
  type: string;
  data: { object: unknown };
}

function parseEvent(raw_body: Buffer): StripeEvent | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw_body.toString('utf8'));
  } catch {
    return null;
  }
  const event = parsed as Partial<StripeEvent> | null;
  if (typeof event !== 'object' || event === null || event.object !== 'event' || typeof event.type !== 'string') return null;
  if (typeof event.data !== 'object' || event.data === null || typeof event.data.object !== 'object' || event.data.object === null) return null;
  return event as StripeEvent;
}

function attemptOf(object: { metadata?: Record<string, string> | null }): string | null {
  const reference = object.metadata?.[ATTEMPT_METADATA_KEY];
  return typeof reference === 'string' && reference.length > 0 ? reference : null;
}

function intentEvents(intent: StripePaymentIntent, type: string): ProcessorEvent[] {
  const reference = attemptOf(intent);
  if (!reference) return [];
  if (type === 'payment_intent.canceled') return [{ kind: 'cancel', reference, success: true, processor_reference: intent.id }];
  if (type === 'payment_intent.payment_failed') {
    return [{ kind: 'authorization', reference, processor_reference: intent.id, result: declineOf(intent.last_payment_error ?? {}) }];
  }
  const result = intentResult(intent);
  return result ? [{ kind: 'authorization', reference, processor_reference: intent.id, result }] : [];
}

function refundEvent(refund: StripeRefund): ProcessorEvent[] {
  const reference = refund.metadata?.[REFUND_METADATA_KEY];
  if (!reference) return [];
  if (refund.status !== 'succeeded' && refund.status !== 'failed' && refund.status !== 'canceled') return [];
  return [{ kind: 'refund', reference, success: refund.status === 'succeeded', processor_reference: refund.id }];
}

/**
 * The ProcessorEvents one Stripe event carries. `payment_intent.succeeded`,
 * `…amount_capturable_updated` and `…payment_failed` settle an authorization; `…canceled` a void;
 * `charge.refunded` (its refunds, when the charge lists them) and `charge.refund.updated` a refund.
 */
export function eventsOf(event: StripeEvent): ProcessorEvent[] {
  const object = event.data.object as { object?: string };
  switch (event.type) {
    case 'payment_intent.succeeded':
    case 'payment_intent.amount_capturable_updated':
    case 'payment_intent.payment_failed':
    case 'payment_intent.canceled':
      return object.object === 'payment_intent' ? intentEvents(object as StripePaymentIntent, event.type) : [];
    case 'charge.refunded':
      return object.object === 'charge' ? ((object as StripeCharge).refunds?.data ?? []).flatMap(refundEvent) : [];
    case 'charge.refund.updated':
      return object.object === 'refund' ? refundEvent(object as StripeRefund) : [];
    default:
      return [];
  }
}

/** Verifies a webhook and decodes it; a body that verifies but is no event is refused too. */
export function verifyStripeNotification(header: string | undefined, raw_body: Buffer, secret: string, now_s: number): VerifiedNotifications {
  const signature = checkSignature(header, raw_body, secret, now_s);
  if (!signature.ok) return signature;
  const event = parseEvent(raw_body);
  if (!event) return { ok: false, reason: 'the body is not a Stripe event' };
  return { ok: true, ack: ACK, events: eventsOf(event) };
}
