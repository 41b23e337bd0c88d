import { assert } from '../../../kernel/assert.js';
import { PayrailError } from '../../../kernel/errors.js';

/**
 * A Checkout Session: a hosted page that takes one payment (mode `payment`) or saves one card (mode
 * `setup`). Pure: the state machine open → complete | expired, totals, and the checks on them.
 */

export type SessionMode = 'payment' | 'setup';
export type SessionStatus = 'open' | 'complete' | 'expired';
export type PaymentStatus = 'paid' | 'unpaid' | 'no_payment_required';

/** A line item from inline `price_data`: Payrail has no products or prices yet, so both live here. */
export interface LineItem {
  id: string;
  price_id: string;
  product_id: string;
  name: string;
  product_description: string | null;
  currency: string;
  unit_amount: number;
  quantity: number;
}

/** What the session's PaymentIntent is created with (`payment_intent_data`). */
export interface IntentData {
  capture_method: 'automatic' | 'automatic_async' | 'manual' | null;
  description: string | null;
  metadata: Record<string, string>;
  receipt_email: string | null;
  setup_future_usage: 'off_session' | 'on_session' | null;
  statement_descriptor: string | null;
  statement_descriptor_suffix: string | null;
}

export interface CustomerDetails {
  email: string | null;
  name: string | null;
}

export interface CheckoutSession {
  id: string;
  merchant_id: string;
  mode: SessionMode;
  status: SessionStatus;
  payment_status: PaymentStatus;
  currency: string | null;
  line_items: LineItem[];
  success_url: string;
  cancel_url: string | null;
  customer: string | null;
  customer_email: string | null;
  customer_details: CustomerDetails | null;
  client_reference_id: string | null;
  metadata: Record<string, string>;
  payment_intent: string | null;
  setup_intent: string | null;
  payment_intent_data: IntentData;
  submit_type: 'auto' | 'book' | 'donate' | 'pay' | null;
  /** The hosted page's credential, carried in its URL's fragment; never rendered in the API object. */
  page_secret: string;
  /** Card submissions the hosted page made; capped so a leaked link cannot be used to test cards. */
  attempts?: number;
  expires_at: number;
  created: number;
  version: number;
}

/** Submissions one session's page may make: enough for a few mistyped or declined cards, too few for card testing. */
export const MAX_PAGE_ATTEMPTS = 10;

/** Stripe's bounds on `expires_at`: from 30 minutes to 24 hours after creation; 24 hours by default. */
export const EXPIRES_MIN_S = 30 * 60;
export const EXPIRES_MAX_S = 24 * 60 * 60;

export function amountSubtotal(session: Pick<CheckoutSession, 'line_items'>): number {
  return session.line_items.reduce((sum, item) => sum + item.unit_amount * item.quantity, 0);
}

export function checkSession(session: CheckoutSession): CheckoutSession {
  assert((session.mode === 'setup') === (session.line_items.length === 0), `session ${session.id}: line items exactly in payment mode`);
  assert(session.mode === 'payment' || session.payment_intent === null, `session ${session.id}: a PaymentIntent only in payment mode`);
  assert(session.mode === 'setup' || session.setup_intent === null, `session ${session.id}: a SetupIntent only in setup mode`);
  assert(
    session.status !== 'complete' || session.payment_status !== 'unpaid' || session.payment_intent_data.capture_method === 'manual',
    `session ${session.id}: complete and unpaid only when capture is manual`,
  );
  assert(
    session.line_items.every((item) => item.currency === session.currency),
    `session ${session.id}: one currency`,
  );
  return session;
}

/** What `expire` and the hosted page may act on: only an open session, as Stripe says it. */
export function requireOpen(session: CheckoutSession, action: string): void {
  if (session.status === 'open') return;
  throw new PayrailError('checkout_session_unexpected_state', {
    message: `Only Checkout Sessions with a status in ["open"] can be ${action}. This Checkout Session has a status of \`${session.status}\`.`,
  });
}

/** Counts one card submission from the hosted page, refusing it past the cap (the session stays open for the merchant to expire). */
export function countAttempt(session: CheckoutSession): CheckoutSession {
  requireOpen(session, 'paid');
  const attempts = session.attempts ?? 0;
  if (attempts >= MAX_PAGE_ATTEMPTS) {
    throw new PayrailError('rate_limit', { message: 'Too many payment attempts on this Checkout Session. Return to the shop and start a new checkout.' });
  }
  return { ...session, attempts: attempts + 1, version: session.version + 1 };
}

export function expire(session: CheckoutSession): CheckoutSession {
  requireOpen(session, 'expired');
  return { ...session, status: 'expired', version: session.version + 1 };
}

export function isPastExpiry(session: CheckoutSession, now_s: number): boolean {
  return session.status === 'open' && session.expires_at <= now_s;
}

/** The customer paid (or, with manual capture, authorized), or saved a card in setup mode. */
export function complete(
  session: CheckoutSession,
  result: { payment_intent?: string; setup_intent?: string; captured: boolean; details: CustomerDetails },
): CheckoutSession {
  requireOpen(session, 'completed');
  const payment_status: PaymentStatus = session.mode === 'setup' ? 'no_payment_required' : result.captured ? 'paid' : 'unpaid';
  return {
    ...session,
    status: 'complete',
    payment_status,
    payment_intent: result.payment_intent ?? session.payment_intent,
    setup_intent: result.setup_intent ?? session.setup_intent,
    customer_details: result.details,
    version: session.version + 1,
  };
}

/** Records the PaymentIntent (or SetupIntent) created for the session on its first submission. */
export function withIntent(session: CheckoutSession, intent: { payment_intent?: string; setup_intent?: string }): CheckoutSession {
  requireOpen(session, 'paid');
  return { ...session, ...intent, version: session.version + 1 };
}

/** `{CHECKOUT_SESSION_ID}` in a success or cancel URL becomes the session's id when the customer is sent there. */
export function redirectUrl(template: string, session_id: string): string {
  return template.split('{CHECKOUT_SESSION_ID}').join(session_id);
}
