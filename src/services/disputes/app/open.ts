import { isUniqueViolation } from '../../../platform/db.js';
import type { Logger } from '../../../platform/logger.js';
import { execute } from '../../../platform/write/pipeline.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { DisputeOpened, ProcessorNotification } from '../../connectors/index.js';
import type { EventDraft } from '../../events/index.js';
import { outboxInsert } from '../../events/index.js';
import { chargeForDispute } from '../../payments/index.js';
import * as Dispute from '../domain/dispute.js';
import { renderDispute } from '../adapters/render.js';
import { disputeOpenedBy, insertDispute } from '../adapters/store.js';
import type { DisputesDeps } from './deps.js';
import { raiseFraudWarning, settleWarningsOnDispute } from './early-fraud-warnings.js';

/**
 * Turns a processor's notification into a dispute (or an early fraud warning), once: the notification's id is the dispute's
 * `opened_by`, unique in the table, so a repeated or concurrent delivery finds the dispute (or loses
 * the insert race) and opens nothing. The dispute, the charge's `disputed` flag and the events
 * (`charge.dispute.created`, and `charge.dispute.funds_withdrawn` for a chargeback, which the ledger
 * posts) commit in one statement.
 */
export function notificationHandler(deps: DisputesDeps, logger: Logger): (notification: ProcessorNotification) => Promise<void> {
  return async (notification) => {
    const request_id = `processor-notification-${notification.id}`.slice(0, 255);
    const run = (ctx: OperationContext): Promise<Outcome> =>
      notification.type === 'dispute.opened' ? openDispute(deps, ctx, notification) : raiseFraudWarning(ctx, notification);
    try {
      await execute(deps.write, { merchant_id: notification.merchant_id, request_id }, { reserves: [], run }, {});
    } catch (error) {
      // Another delivery of this notification opened it first: the notification is handled.
      if (isUniqueViolation(error)) return;
      // Otherwise (the charge changed under us, the database went away) the processor hands it again.
      logger.warn({ err: error, notification: notification.id }, 'processor notification could not open a dispute; it is handed again');
      throw error;
    }
  };
}

async function openDispute(deps: DisputesDeps, ctx: OperationContext, notification: DisputeOpened): Promise<Outcome> {
  const opened_by = `${notification.processor}:${notification.id}`;
  const existing = await disputeOpenedBy(ctx.reader, ctx.merchant_id, opened_by);
  if (existing) return { ok: renderDispute(existing, ctx.now_s) };
  const found = await chargeForDispute(ctx.reader, ctx.merchant_id, notification.attempt_id);
  if (!found) throw new Error(`dispute notification ${notification.id} names charge ${notification.attempt_id}, which payments does not have`);
  const { charge, mark_disputed } = found;
  const dispute = Dispute.open(
    {
      id: ctx.ids.next('dispute'),
      merchant_id: ctx.merchant_id,
      charge: charge.id,
      payment_intent: charge.payment_intent,
      amount: notification.dispute.amount,
      currency: notification.dispute.currency,
      reason: notification.dispute.reason,
      inquiry: notification.dispute.inquiry,
      card_brand: charge.card_brand,
      opened_by,
    },
    ctx.now_s,
  );
  const rendered = renderDispute(dispute, ctx.now_s);
  const events: EventDraft[] = [{ type: 'charge.dispute.created', object: rendered }];
  if (dispute.funds_withdrawn_at !== null) events.push({ type: 'charge.dispute.funds_withdrawn', object: rendered });
  const warnings = await settleWarningsOnDispute(ctx, charge.id);
  const outcome: Outcome = { ok: rendered };
  await ctx.commit(
    [
      insertDispute(dispute),
      mark_disputed(!notification.dispute.inquiry),
      ...warnings.writes,
      outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, [...events, ...warnings.events]),
    ],
    outcome,
  );
  return outcome;
}

/** The job that takes the processor's notifications (one process at a time, every second). */
export const PROCESSOR_NOTIFICATIONS_JOB = 'processor-notifications';
export const PROCESSOR_NOTIFICATIONS_INTERVAL_MS = 1_000;
/** Notifications handled per run; the next run takes the rest. */
const NOTIFICATIONS_PER_RUN = 100;

/** Hands the processor's pending notifications to the handler; returns how many were acknowledged. */
export async function deliverProcessorNotifications(deps: DisputesDeps, logger: Logger): Promise<number> {
  const deliver = deps.payments.connector.deliverNotifications?.bind(deps.payments.connector);
  return deliver ? deliver(notificationHandler(deps, logger), NOTIFICATIONS_PER_RUN) : 0;
}
