import { z } from 'zod';
import type { IdKind } from '../../../kernel/ids.js';
import * as P from '../../../platform/http/params.js';
import { expandFor, unsupported } from './param-shapes.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { PaymentsDeps } from '../app/deps.js';
import { createRefund } from '../app/charges.js';

const REFUND_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'] as const;

/** Stripe's refunds to a customer's cash balance take these; Payrail keeps no cash balances. */
const CASH_BALANCE = 'Refunds to a customer cash balance are not supported.';

const refundSchema = z.strictObject({
  charge: P.nonEmptyText(255).optional(),
  payment_intent: P.nonEmptyText(255).optional(),
  amount: P.amount().optional(),
  reason: P.oneOf(REFUND_REASONS).optional(),
  metadata: P.metadata().optional(),
  expand: expandFor('refund').optional(),
  currency: unsupported('currency', CASH_BALANCE).optional(),
  customer: unsupported('customer', CASH_BALANCE).optional(),
  instructions_email: unsupported('instructions_email', CASH_BALANCE).optional(),
  origin: unsupported('origin', CASH_BALANCE).optional(),
  // Destination charges only: createRefund refuses them on a charge without a transfer.
  refund_application_fee: P.boolean().optional(),
  reverse_transfer: P.boolean().optional(),
});

/**
 * A use case with everything a caller needs to run it through the write pipeline: the HTTP route and
 * the CLI take the same schema, reserve the same ids and hash the request under the same method and
 * path, so one Idempotency-Key means one refund whichever of them sends it.
 */
export const REFUND_COMMAND = {
  method: 'POST',
  path: '/v1/refunds',
  schema: refundSchema,
  reserves: ['refund'] as readonly IdKind[],
  run: (deps: PaymentsDeps, ctx: OperationContext, params: z.output<typeof refundSchema>): Promise<Outcome> => createRefund(deps, ctx, params),
} as const;
