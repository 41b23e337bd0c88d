import { sql } from '../../../platform/db.js';
import type { SqlFragment } from '../../../platform/db.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { listPage } from '../../../platform/pagination.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { EventDraft } from '../../events/index.js';
import type { BillingDetails } from '../../vault/index.js';
import type { CancellationReason, PaymentIntent } from '../domain/intent.js';
import * as Intent from '../domain/intent.js';
import type { Review } from '../domain/review.js';
import { checkApprovable, close, openedByRule } from '../domain/review.js';
import { captureCharge } from '../domain/charge.js';
import { renderCharge, renderIntent } from '../adapters/render.js';
import { renderReview } from '../adapters/review-render.js';
import { getReview, insertReview, updateReview } from '../adapters/review-store.js';
import { getCharge, getIntent, updateCharge, updateIntent } from '../adapters/store.js';
import type { PaymentsDeps } from './deps.js';
import { eventsWrite, withChargeFacts } from './events.js';
import { withConversion } from './conversion.js';

/**
 * Radar reviews. A payment a rule places in review is authorized and held uncaptured; approving its
 * review captures an automatic-capture payment (through the processor, as a capture does) or lets a
 * manual-capture one be captured; canceling the payment closes its review as refunded.
 */

/** The review a payment placed in review opens, written and announced with the attempt's answer. */
export function openReview(
  ctx: OperationContext,
  intent: PaymentIntent,
  charge_id: string,
  billing: BillingDetails,
): { review: Review; write: SqlFragment; event: EventDraft } {
  const review = openedByRule({
    id: ctx.ids.next('review'),
    merchant_id: ctx.merchant_id,
    charge: charge_id,
    payment_intent: intent.id,
    ip_address: ctx.actor.client_ip,
    billing_zip: billing.address?.postal_code ?? null,
    ...(intent.charges_api ? { charges_api: true as const } : {}),
    created: ctx.now_s,
  });
  return { review, write: insertReview(review), event: { type: 'review.opened', object: renderReview(review) } };
}

export async function retrieveReview(deps: PaymentsDeps, merchant_id: string, id: string): Promise<Record<string, unknown>> {
  return renderReview(await getReview(deps.reader, merchant_id, id));
}

/** Stripe's `GET /v1/reviews`: the open reviews, newest first. */
export async function listReviews(deps: PaymentsDeps, merchant_id: string, page: PageRequest): Promise<Page<Record<string, unknown>>> {
  const result = await listPage<Review>(deps.reader, { table: 'payments.reviews', column: 'state' }, merchant_id, [sql`open`], page);
  return { data: result.data.map(renderReview), has_more: result.has_more };
}

/**
 * Approves an open review. A held automatic-capture payment is captured first: the intent is claimed
 * (a durable version bump, so a racing approval or cancel is turned away before it reaches the
 * processor), the processor captures, and the capture, the intent, the review and their events commit
 * together. A retry after a lost answer captures again under the same charge id, which the processor
 * answers from its record: it never captures twice.
 */
export async function approveReview(deps: PaymentsDeps, ctx: OperationContext, id: string): Promise<Outcome> {
  const review = await getReview(ctx.reader, ctx.merchant_id, id);
  checkApprovable(review);
  const intent = await getIntent(ctx.reader, ctx.merchant_id, review.payment_intent);
  // Read after a racing approval or cancel committed: the review it closed is read again to say so.
  if (!intent.held_for_review) checkApprovable(await getReview(ctx.reader, ctx.merchant_id, id));
  const approved = close(review, 'approved');
  const rendered = renderReview(approved);
  const outcome: Outcome = { ok: rendered };
  const closed_event: EventDraft = { type: 'review.closed', object: rendered };
  if (intent.status === 'requires_capture') {
    const releasable = Intent.approveReview(intent, null);
    await ctx.commit([updateReview(approved, review.version), updateIntent(releasable, intent.version), eventsWrite(ctx, [closed_event])], outcome);
    return outcome;
  }
  const charge = await getCharge(ctx.reader, ctx.merchant_id, review.charge);
  // Captured now, so converted now: a fresh rate, or no approval (nothing stored, the processor not called).
  const conversion = await deps.fx.conversionFor(ctx.reader, ctx.merchant_id, charge.amount, charge.currency, ctx.now_s);
  const claimed = Intent.claim(intent);
  await ctx.record([updateIntent(claimed, intent.version)]);
  const captured = await deps.connector.capture(charge.id, charge.amount);
  if (captured.outcome === 'failed') throw new PayrailError('processing_error', { message: captured.message });
  const succeeded = Intent.approveReview(claimed, captured.amount_captured);
  const captured_charge = withConversion({ ...captureCharge(charge, captured.amount_captured), review: review.id }, conversion);
  await ctx.commit(
    [
      updateReview(approved, review.version),
      updateIntent(succeeded, claimed.version),
      updateCharge(captured_charge, charge.version),
      eventsWrite(ctx, [
        closed_event,
        withChargeFacts(
          { type: 'charge.captured', object: renderCharge(captured_charge), previous_attributes: { captured: false, amount_captured: 0 } },
          captured_charge,
        ),
        // A legacy Charges API charge's intent is internal: only its charge's events are Stripe's.
        ...(intent.charges_api ? [] : [{ type: 'payment_intent.succeeded', object: renderIntent(succeeded) }]),
      ]),
    ],
    outcome,
  );
  return outcome;
}

/**
 * Canceling a payment held for review closes its review: `refunded_as_fraud` when canceled as
 * fraudulent, `refunded` otherwise (Stripe's reasons for a review whose payment was given back).
 */
export async function closeReviewOnCancel(
  ctx: OperationContext,
  intent: PaymentIntent,
  reason: CancellationReason | null,
): Promise<{ writes: SqlFragment[]; events: EventDraft[] }> {
  if (!intent.held_for_review || !intent.review) return { writes: [], events: [] };
  const review = await getReview(ctx.reader, ctx.merchant_id, intent.review);
  if (!review.open) return { writes: [], events: [] };
  const closed = close(review, reason === 'fraudulent' ? 'refunded_as_fraud' : 'refunded');
  return { writes: [updateReview(closed, review.version)], events: [{ type: 'review.closed', object: renderReview(closed) }] };
}
