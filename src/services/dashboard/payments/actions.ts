import { z } from 'zod';
import type { FastifyReply, FastifyRequest } from 'fastify';
import * as P from '../../../platform/http/params.js';
import type { Pool } from '../../../platform/db.js';
import type { WriteDeps } from '../../../platform/write/pipeline.js';
import { execute } from '../../../platform/write/pipeline.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { IdKind } from '../../../kernel/ids.js';
import { withMerchant } from '../../../platform/merchant-scope.js';
import type { PaymentsDeps } from '../../payments/index.js';
import { REFUND_COMMAND, cancelIntent, captureIntent, retrieveIntent } from '../../payments/index.js';
import type { DashboardUser } from '../auth/index.js';
import { recordDashboardAction } from '../auth/index.js';
import { withoutClientSecret } from './detail.js';

/**
 * The dashboard's refund, capture and cancel: the /v1 use cases, run through the same write
 * pipeline (idempotency, one atomic commit with its events), as the signed-in user's merchant.
 * Each answers the PaymentIntent as it is afterwards, and is written to the audit log.
 */

export const refundSchema = z.strictObject({ amount: P.amount().optional() });
export const captureSchema = z.strictObject({ amount_to_capture: P.amount().optional() });
export const cancelSchema = z.strictObject({});

interface PaymentAction<S extends z.ZodType> {
  name: 'refund' | 'capture' | 'cancel';
  schema: S;
  reserves: readonly IdKind[];
  run(payments: PaymentsDeps, ctx: OperationContext, intent_id: string, params: z.output<S>): Promise<Outcome>;
}

export const REFUND: PaymentAction<typeof refundSchema> = {
  name: 'refund',
  schema: refundSchema,
  reserves: REFUND_COMMAND.reserves,
  run: (payments, ctx, intent_id, params) => REFUND_COMMAND.run(payments, ctx, { payment_intent: intent_id, amount: params.amount }),
};

export const CAPTURE: PaymentAction<typeof captureSchema> = {
  name: 'capture',
  schema: captureSchema,
  reserves: [],
  run: (payments, ctx, intent_id, params) => captureIntent(payments, ctx, intent_id, { amount_to_capture: params.amount_to_capture }),
};

export const CANCEL: PaymentAction<typeof cancelSchema> = {
  name: 'cancel',
  schema: cancelSchema,
  reserves: [],
  run: (payments, ctx, intent_id) => cancelIntent(payments, ctx, intent_id, {}),
};

export interface ActionDeps {
  payments: PaymentsDeps;
  write: WriteDeps;
  /** The system pool the audit log is written through. */
  system: Pool;
}

/** Runs `action` on the intent `intent_id` for `user`; an expected failure answers Stripe's error as /v1 would. */
export async function runPaymentAction<S extends z.ZodType>(
  deps: ActionDeps,
  action: PaymentAction<S>,
  user: DashboardUser,
  intent_id: string,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const params = P.parseParams(action.schema, request.body);
  const key = request.headers['idempotency-key'];
  const result = await execute(
    deps.write,
    {
      merchant_id: user.merchant_id,
      request_id: request.id,
      actor: { api_key_id: null, client_ip: request.ip },
      idempotency: typeof key === 'string' ? { key, method: 'POST', path: request.url.split('?', 1)[0] ?? '', params: request.body ?? {} } : undefined,
    },
    { reserves: action.reserves, run: (ctx, p: z.output<S>) => action.run(deps.payments, ctx, intent_id, p) },
    params,
  );
  if (result.response.status !== 200) return reply.code(result.response.status).type('application/json; charset=utf-8').send(result.response.body);
  // A retry with the same Idempotency-Key replays the first answer: the action happened (and was logged) once.
  if (!result.replayed)
    await recordDashboardAction(deps.system, user, `payment.${action.name}`, intent_id, params as object, { request_id: request.id, client_ip: request.ip });
  const payment_intent = withoutClientSecret(await withMerchant(user.merchant_id, () => retrieveIntent(deps.payments, user.merchant_id, intent_id)));
  return reply.send({ payment_intent });
}
