/**
 * Adyen's standard notifications (webhooks), verified and read: every item's HMAC signature is checked
 * with the account's key before anything of the body is believed, then each item becomes the port's
 * ProcessorEvent. Item kinds Payrail does not act on are acknowledged and dropped, as Adyen asks
 * (an unacknowledged notification is retried for days).
 */
import type { AuthorizeResult, NotificationAck, ProcessorEvent, VerifiedNotifications } from './port.js';
import { hasValidSignature } from './adyen-hmac.js';
import { refusalCodeOf, stripeDeclineFor } from './adyen-refusals.js';
import { CAPTURE_METADATA_KEY, cvcCheckOf } from './adyen-transform.js';
import type { AdyenNotificationItem } from './adyen-wire.js';
import { notificationRequestSchema } from './adyen-wire.js';

/** Adyen counts a notification delivered only when the answer's body is `[accepted]`. */
export const ADYEN_ACK: NotificationAck = { status: 200, content_type: 'text/plain', body: '[accepted]' };

export interface NotificationAccount {
  merchant_account: string;
  hmac_key_hex: string;
  /** The Payrail merchant of this connector account: Adyen's chargebacks name only the payment. */
  merchant_id: string;
}

/** Chargeback reason codes (Visa's and Mastercard's, as Adyen passes them on) in Stripe's dispute reasons. */
const DISPUTE_REASONS: ReadonlyArray<[RegExp, string]> = [
  [/^10\./, 'fraudulent'],
  [/^(4837|4840|4849|4863|4870|4871)$/, 'fraudulent'],
  [/^12\.6/, 'duplicate'],
  [/^4834$/, 'duplicate'],
  [/^(13\.1|4855)$/, 'product_not_received'],
  [/^(13\.2|4841)$/, 'subscription_canceled'],
  [/^(13\.3|4853)$/, 'product_unacceptable'],
  [/^(13\.6|4860)$/, 'credit_not_processed'],
];

export function disputeReasonOf(chargeback_reason_code: string | undefined): string {
  const code = chargeback_reason_code?.trim() ?? '';
  return DISPUTE_REASONS.find(([pattern]) => pattern.test(code))?.[1] ?? 'general';
}

function authorizationResult(item: AdyenNotificationItem): AuthorizeResult {
  const cvc_check = cvcCheckOf(item.additionalData);
  if (item.success === 'true') {
    const captured = item.additionalData?.[`metadata.${CAPTURE_METADATA_KEY}`] === 'true';
    return { outcome: 'authorized', captured, cvc_check: cvc_check === 'pass' ? 'pass' : 'unchecked' };
  }
  const code = item.additionalData?.['refusalReasonCode'] ?? refusalCodeOf(item.reason ?? '') ?? undefined;
  const decline = stripeDeclineFor(code, item.additionalData?.['refusalReasonRaw']);
  return { outcome: 'declined', ...decline, cvc_check: decline.code === 'incorrect_cvc' ? 'fail' : cvc_check, raw_code: code ?? item.reason ?? 'Refused' };
}

const MODIFICATIONS: Readonly<Record<string, { kind: 'capture' | 'refund' | 'cancel'; always_failed: boolean }>> = {
  CAPTURE: { kind: 'capture', always_failed: false },
  CAPTURE_FAILED: { kind: 'capture', always_failed: true },
  REFUND: { kind: 'refund', always_failed: false },
  REFUND_FAILED: { kind: 'refund', always_failed: true },
  REFUNDED_REVERSED: { kind: 'refund', always_failed: true },
  CANCELLATION: { kind: 'cancel', always_failed: false },
  TECHNICAL_CANCEL: { kind: 'cancel', always_failed: false },
};

const DISPUTE_EVENTS = new Set(['CHARGEBACK', 'NOTIFICATION_OF_CHARGEBACK', 'REQUEST_FOR_INFORMATION']);

/** One verified item as a ProcessorEvent; null for the event codes Payrail does not act on. */
export function eventOf(item: AdyenNotificationItem, merchant_id: string): ProcessorEvent | null {
  const success = item.success === 'true';
  if (item.eventCode === 'AUTHORISATION') {
    return { kind: 'authorization', reference: item.merchantReference, processor_reference: item.pspReference, result: authorizationResult(item) };
  }
  const modification = MODIFICATIONS[item.eventCode];
  if (modification) {
    return {
      kind: modification.kind,
      reference: item.merchantReference,
      success: success && !modification.always_failed,
      processor_reference: item.pspReference,
    };
  }
  const base = { processor: 'adyen', attempt_id: item.merchantReference, merchant_id, created_ms: Date.parse(item.eventDate) };
  if (DISPUTE_EVENTS.has(item.eventCode) && success) {
    // One dispute per payment: the notice, the chargeback and an inquiry about it share the id.
    return {
      ...base,
      id: `adyen_dispute_${item.originalReference ?? item.pspReference}`,
      type: 'dispute.opened',
      dispute: {
        amount: item.amount.value,
        currency: item.amount.currency.toLowerCase(),
        reason: disputeReasonOf(item.additionalData?.['chargebackReasonCode']),
        inquiry: item.eventCode === 'REQUEST_FOR_INFORMATION',
      },
    };
  }
  if (item.eventCode === 'NOTIFICATION_OF_FRAUD' && success) {
    return { ...base, id: `adyen_fraud_${item.pspReference}`, type: 'fraud_warning.issued', fraud_warning: { fraud_type: 'misc' } };
  }
  return null;
}

function parsedJson(raw_body: Buffer): unknown {
  try {
    return JSON.parse(raw_body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Verifies a notification request: JSON of Adyen's shape, every item for this merchant account and
 * signed with this account's key (one bad item rejects the whole request, so a forged item cannot
 * ride with genuine ones). `reason` names the item, never the key or the expected signature.
 */
export function verifyAdyenNotification(raw_body: Buffer, account: NotificationAccount): VerifiedNotifications {
  const parsed = notificationRequestSchema.safeParse(parsedJson(raw_body));
  if (!parsed.success) return { ok: false, reason: 'not an Adyen notification request' };
  const items = parsed.data.notificationItems.map((entry) => entry.NotificationRequestItem);
  for (const [index, item] of items.entries()) {
    if (item.merchantAccountCode !== account.merchant_account) return { ok: false, reason: `item ${index} is for another merchant account` };
    if (!hasValidSignature(item, account.hmac_key_hex)) return { ok: false, reason: `item ${index} has no valid HMAC signature` };
    if (Number.isNaN(Date.parse(item.eventDate))) return { ok: false, reason: `item ${index} has an unreadable eventDate` };
  }
  const events = items.map((item) => eventOf(item, account.merchant_id)).filter((event): event is ProcessorEvent => event !== null);
  return { ok: true, ack: ADYEN_ACK, events };
}
