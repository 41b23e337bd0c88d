import type { CardDetails } from '../../vault/index.js';
import type { FutureUsage } from './details.js';
import type { SetupError, SetupIntent, SetupResult } from './setup-intent.js';

/**
 * One verification of a SetupIntent's card (Stripe's SetupAttempt, `setatt_…`): the id the processor
 * knows it by, the card it verified, whether 3-D Secure was asked and how it ended. Pure.
 */
export type SetupAttemptStatus = 'requires_action' | 'succeeded' | 'failed';

export interface ThreeDSecureResult {
  result: 'authenticated' | 'failed';
}

export interface SetupAttempt {
  id: string;
  merchant_id: string;
  setup_intent: string;
  customer: string | null;
  payment_method: string;
  usage: FutureUsage;
  status: SetupAttemptStatus;
  setup_error: SetupError | null;
  card: CardDetails & { cvc_check: 'pass' | 'fail' | 'unchecked' };
  three_d_secure: ThreeDSecureResult | null;
  created: number;
}

/** The attempt a verification's outcome leaves: `authenticated` is set when the outcome followed a 3-D Secure step. */
export function setupAttemptFor(
  intent: SetupIntent,
  result: SetupResult,
  card: SetupAttempt['card'],
  authenticated: boolean | undefined,
  created: number,
): SetupAttempt {
  const status: SetupAttemptStatus = result.outcome === 'verified' ? 'succeeded' : result.outcome === 'requires_action' ? 'requires_action' : 'failed';
  return {
    id: result.attempt_id,
    merchant_id: intent.merchant_id,
    setup_intent: intent.id,
    customer: intent.customer,
    payment_method: result.outcome === 'verified' ? result.payment_method : (intent.payment_method ?? ''),
    usage: intent.usage,
    status,
    setup_error: result.outcome === 'declined' ? result.error : null,
    card,
    three_d_secure: authenticated === undefined ? null : { result: authenticated ? 'authenticated' : 'failed' },
    created,
  };
}
