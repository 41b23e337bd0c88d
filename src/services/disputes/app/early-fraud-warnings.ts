import type { Page, PageRequest } from '../../../platform/pagination.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { FraudWarningIssued } from '../../connectors/index.js';
import type { EventDraft } from '../../events/index.js';
import { outboxInsert } from '../../events/index.js';
import type { SqlFragment } from '../../../platform/db.js';
import { chargeForDispute } from '../../payments/index.js';
import type { EarlyFraudWarning } from '../domain/early-fraud-warning.js';
import { fraudTypeOf } from '../domain/early-fraud-warning.js';
import {
  actionableWarningsOf,
  findFraudWarning,
  getFraudWarning,
  insertFraudWarning,
  listFraudWarnings,
  settleFraudWarning,
} from '../adapters/fraud-warning-store.js';
import type { DisputesDeps } from './deps.js';

/** Early fraud warnings: raised once per processor notification, read through `/v1/radar/early_fraud_warnings`. */

export function renderFraudWarning(warning: EarlyFraudWarning): { id: string } & Record<string, unknown> {
  return {
    id: warning.id,
    object: 'radar.early_fraud_warning',
    actionable: warning.actionable,
    charge: warning.charge,
    created: warning.created,
    fraud_type: warning.fraud_type,
    livemode: false,
    payment_intent: warning.payment_intent,
  };
}

/** The warning and its `radar.early_fraud_warning.created` event, once per notification id (unique `opened_by`). */
export async function raiseFraudWarning(ctx: OperationContext, notification: FraudWarningIssued): Promise<Outcome> {
  const opened_by = `${notification.processor}:${notification.id}`;
  const existing = await findFraudWarning(ctx.reader, ctx.merchant_id, { opened_by });
  if (existing) return { ok: renderFraudWarning(existing) };
  const found = await chargeForDispute(ctx.reader, ctx.merchant_id, notification.attempt_id);
  if (!found) throw new Error(`fraud warning ${notification.id} names charge ${notification.attempt_id}, which payments does not have`);
  const warning: EarlyFraudWarning = {
    id: ctx.ids.next('early_fraud_warning'),
    merchant_id: ctx.merchant_id,
    charge: found.charge.id,
    payment_intent: found.charge.payment_intent,
    fraud_type: fraudTypeOf(notification.fraud_warning.fraud_type),
    // Nothing to act on once the charge is fully refunded or already disputed.
    actionable: !found.charge.disputed && found.charge.amount_refunded < found.charge.amount_captured,
    created: ctx.now_s,
    opened_by,
  };
  const rendered = renderFraudWarning(warning);
  const outcome: Outcome = { ok: rendered };
  await ctx.commit(
    [
      insertFraudWarning(warning),
      outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, [{ type: 'radar.early_fraud_warning.created', object: rendered }]),
    ],
    outcome,
  );
  return outcome;
}

/**
 * A dispute on a charge settles its warnings: Stripe's warning is actionable only while the charge
 * has neither a dispute nor a full refund. The writes and `radar.early_fraud_warning.updated` events
 * join the statement that opens the dispute.
 */
export async function settleWarningsOnDispute(ctx: OperationContext, charge_id: string): Promise<{ writes: SqlFragment[]; events: EventDraft[] }> {
  const warnings = await actionableWarningsOf(ctx.reader, ctx.merchant_id, charge_id);
  return {
    writes: warnings.map(settleFraudWarning),
    events: warnings.map((warning) => ({
      type: 'radar.early_fraud_warning.updated',
      object: renderFraudWarning({ ...warning, actionable: false }),
      previous_attributes: { actionable: true },
    })),
  };
}

export async function retrieveFraudWarning(deps: DisputesDeps, merchant_id: string, id: string): Promise<Record<string, unknown>> {
  return renderFraudWarning(await getFraudWarning(deps.write.reader, merchant_id, id));
}

export async function listAllFraudWarnings(
  deps: DisputesDeps,
  merchant_id: string,
  filters: { charge?: string | undefined; payment_intent?: string | undefined },
  page: PageRequest,
): Promise<Page<Record<string, unknown>>> {
  const result = await listFraudWarnings(deps.write.reader, merchant_id, filters, page);
  return { data: result.data.map(renderFraudWarning), has_more: result.has_more };
}
