import { PayrailError } from '../../../kernel/errors.js';
import { assert } from '../../../kernel/assert.js';
import { mergeMetadata } from '../../../kernel/metadata.js';
import type { PaymentMethodRecord } from '../../vault/index.js';
import type { AutomaticPaymentMethods, FutureUsage } from './details.js';
import type { NextAction } from './intent.js';

/**
 * A SetupIntent, as Stripe has it: it saves a card for later payments. It moves no money; its confirm
 * verifies the card with the processor (a zero-amount authorization), asks for 3-D Secure when the
 * issuer does, and on success attaches the card to the customer. Pure: no I/O, clock or randomness.
 */
export type SetupStatus = 'requires_payment_method' | 'requires_confirmation' | 'requires_action' | 'processing' | 'succeeded' | 'canceled';
export type SetupCancellationReason = 'abandoned' | 'duplicate' | 'requested_by_customer';

export interface SetupError {
  type: 'card_error' | 'invalid_request_error';
  code: string;
  decline_code: string | null;
  message: string;
  /** The card as it was when the setup failed: Stripe's error embeds the whole object. */
  payment_method: PaymentMethodRecord | null;
}

export interface SetupIntent {
  id: string;
  merchant_id: string;
  status: SetupStatus;
  usage: FutureUsage;
  customer: string | null;
  payment_method: string | null;
  description: string | null;
  metadata: Record<string, string>;
  return_url: string | null;
  automatic_payment_methods: AutomaticPaymentMethods | null;
  payment_method_types: string[];
  last_setup_error: SetupError | null;
  /** The latest verification's id (`setatt_…`), the id the processor knows it by. */
  latest_attempt: string | null;
  next_action: NextAction | null;
  cancellation_reason: SetupCancellationReason | null;
  client_secret: string;
  created: number;
  version: number;
}

const CONFIRMABLE: readonly SetupStatus[] = ['requires_payment_method', 'requires_confirmation'];
const CANCELABLE: readonly SetupStatus[] = ['requires_payment_method', 'requires_confirmation', 'requires_action'];
const UPDATABLE: readonly SetupStatus[] = ['requires_payment_method', 'requires_confirmation', 'requires_action'];

export function unexpectedSetupState(intent: SetupIntent, action: string): PayrailError {
  return new PayrailError('setup_intent_unexpected_state', {
    message: `You cannot ${action} this SetupIntent because it has a status of ${intent.status}.`,
  });
}

/** Invariants every stored SetupIntent satisfies; checked on write and on read. */
export function checkSetupIntent(intent: SetupIntent): SetupIntent {
  assert((intent.status === 'requires_action') === (intent.next_action !== null), `setup intent ${intent.id}: next_action only in requires_action`);
  assert(intent.status !== 'succeeded' || intent.payment_method !== null, `setup intent ${intent.id}: succeeded without a payment method`);
  assert(intent.status !== 'requires_action' || intent.latest_attempt !== null, `setup intent ${intent.id}: requires_action without an attempt`);
  return intent;
}

export interface SetupChanges {
  customer?: string | undefined;
  payment_method?: string | undefined;
  description?: string | null | undefined;
  metadata?: Record<string, string | null> | null | undefined;
  payment_method_types?: string[] | undefined;
}

export function updateSetup(intent: SetupIntent, changes: SetupChanges): SetupIntent {
  if (!UPDATABLE.includes(intent.status)) throw unexpectedSetupState(intent, 'update');
  if (intent.status === 'requires_action' && changes.payment_method !== undefined) {
    throw new PayrailError('setup_intent_unexpected_state', {
      param: 'payment_method',
      message: 'You cannot change payment_method while this SetupIntent waits for 3-D Secure; cancel it, or complete the authentication first.',
    });
  }
  const next: SetupIntent = { ...intent, version: intent.version + 1 };
  if (changes.customer !== undefined) next.customer = changes.customer;
  if (changes.description !== undefined) next.description = changes.description;
  if (changes.payment_method_types !== undefined) next.payment_method_types = changes.payment_method_types;
  if (changes.metadata !== undefined) next.metadata = mergeMetadata(intent.metadata, changes.metadata);
  if (changes.payment_method !== undefined) {
    next.payment_method = changes.payment_method;
    if (intent.status === 'requires_payment_method') next.status = 'requires_confirmation';
  }
  return next;
}

/** The intent ready for its verification: confirmable, with a card chosen. */
export function beginSetupConfirm(intent: SetupIntent, payment_method: string | null): SetupIntent {
  if (!CONFIRMABLE.includes(intent.status)) throw unexpectedSetupState(intent, 'confirm');
  const chosen = payment_method ?? intent.payment_method;
  if (!chosen) {
    throw new PayrailError('setup_intent_unexpected_state', {
      param: 'payment_method',
      message: 'You cannot confirm this SetupIntent because it’s missing a payment method.',
    });
  }
  return { ...intent, payment_method: chosen };
}

/** What a verification made of the intent. */
export type SetupResult =
  | { outcome: 'verified'; attempt_id: string; payment_method: string }
  | { outcome: 'declined'; attempt_id: string; error: SetupError }
  | { outcome: 'requires_action'; attempt_id: string; next_action: NextAction };

export function applySetupResult(intent: SetupIntent, result: SetupResult): SetupIntent {
  const base = { ...intent, latest_attempt: result.attempt_id, version: intent.version + 1 };
  switch (result.outcome) {
    case 'verified':
      return { ...base, status: 'succeeded', payment_method: result.payment_method, last_setup_error: null, next_action: null };
    case 'requires_action':
      return { ...base, status: 'requires_action', next_action: result.next_action, last_setup_error: null };
    case 'declined':
      return { ...base, status: 'requires_payment_method', payment_method: null, last_setup_error: result.error, next_action: null };
  }
}

export function cancelSetup(intent: SetupIntent, reason: SetupCancellationReason | null): SetupIntent {
  if (!CANCELABLE.includes(intent.status)) throw unexpectedSetupState(intent, 'cancel');
  return { ...intent, status: 'canceled', cancellation_reason: reason, next_action: null, version: intent.version + 1 };
}

/** The error a customer's failed 3-D Secure step leaves, as Stripe words it. */
export function authenticationFailure(method: PaymentMethodRecord | null): SetupError {
  return {
    type: 'invalid_request_error',
    code: 'setup_intent_authentication_failure',
    decline_code: null,
    message:
      'The latest attempt to set up the payment method has failed because authentication failed. Provide a new payment method to attempt to set up again.',
    payment_method: method,
  };
}
