import type { OperationContext } from '../../../platform/write/operation.js';
import { operationActor } from '../../audit/index.js';
import type { PaymentsDeps } from './deps.js';

/**
 * Records that a stored card number left the vault for a processor call (a payment's charge, or a
 * SetupIntent's verification attempt, as `reference_id`), with who asked (API key, request id, client
 * address; the platform itself for the sweeper), committed on its own before the number is used: the
 * record stays whether the payment then commits, fails or dies.
 */
export async function auditDetokenization(
  deps: PaymentsDeps,
  ctx: OperationContext,
  payment_method_id: string,
  reference_id: string,
  purpose: 'authorize' | 'verify' = 'authorize',
): Promise<void> {
  await deps.record_detokenization({
    merchant_id: ctx.merchant_id,
    payment_method_id,
    purpose,
    reference_id,
    actor: operationActor(ctx),
    at_ms: ctx.now_ms,
  });
}
