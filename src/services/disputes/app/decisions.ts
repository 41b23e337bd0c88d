import type { SqlFragment } from '../../../platform/db.js';
import type { Logger } from '../../../platform/logger.js';
import { execute } from '../../../platform/write/pipeline.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { EventDraft } from '../../events/index.js';
import { outboxInsert } from '../../events/index.js';
import { chargeForDispute } from '../../payments/index.js';
import * as Dispute from '../domain/dispute.js';
import { renderDispute } from '../adapters/render.js';
import { dueForDecision, getDispute, unansweredPastDue, updateDispute } from '../adapters/store.js';
import type { DisputesDeps } from './deps.js';

/**
 * Test mode's issuer: submitted `winning_evidence` / `losing_evidence` decides the dispute shortly
 * after the request that submitted it, as on Stripe (the update answers `under_review`; the
 * outcome arrives as events). A durable scheduled job, one process at a time: a dispute whose
 * decision a crash interrupted keeps its pending outcome and is decided on the next run, and the
 * version guard plus the ledger's derived transfer ids make a decision apply once. The same job
 * closes chargebacks nobody answered by their due date as lost.
 */
export const DISPUTE_DECISION_JOB = 'dispute-decisions';
export const DISPUTE_DECISION_INTERVAL_MS = 1_000;
/** Disputes decided per run; the next run takes the rest. */
const DECISION_BATCH = 100;

export async function decideDueDisputes(deps: DisputesDeps, logger: Logger): Promise<number> {
  const now_s = Math.floor(deps.write.clock.now_ms() / 1000);
  const due = [
    ...(await dueForDecision(deps.lookup, now_s, DECISION_BATCH)).map((d) => ({ ...d, run: decideDispute })),
    ...(await unansweredPastDue(deps.lookup, now_s, DECISION_BATCH)).map((d) => ({ ...d, run: expireDispute })),
  ];
  let decided = 0;
  for (const { merchant_id, id, run } of due) {
    try {
      await execute(deps.write, { merchant_id, request_id: `dispute-decision-${id}` }, { reserves: [], run: (ctx) => run(ctx, id) }, {});
      decided += 1;
    } catch (error) {
      logger.warn({ err: error, dispute: id }, 'dispute decision failed; retried on the next run');
    }
  }
  return decided;
}

/** An unanswered chargeback past its due date is lost, as on Stripe: closed, with nothing more moved. */
async function expireDispute(ctx: OperationContext, id: string): Promise<Outcome> {
  const before = await getDispute(ctx.reader, ctx.merchant_id, id);
  if (Dispute.respondBy(before) === null || ctx.now_s <= before.due_by) return { ok: renderDispute(before, ctx.now_s) };
  const after = Dispute.expire(before, ctx.now_s);
  const rendered = renderDispute(after, ctx.now_s);
  const events: EventDraft[] = [{ type: 'charge.dispute.closed', object: rendered, previous_attributes: { status: before.status } }];
  const outcome: Outcome = { ok: rendered };
  await ctx.commit([updateDispute(after, before.version, null), outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, events)], outcome);
  return outcome;
}

async function decideDispute(ctx: OperationContext, id: string): Promise<Outcome> {
  const before = await getDispute(ctx.reader, ctx.merchant_id, id);
  if (before.pending_outcome === null) return { ok: renderDispute(before, ctx.now_s) };
  const after = Dispute.decide(before, ctx.now_s);
  const rendered = renderDispute(after, ctx.now_s);
  const previous_attributes = { status: before.status };
  const events: EventDraft[] = [];
  if (Dispute.CLOSED.has(after.status)) events.push({ type: 'charge.dispute.closed', object: rendered, previous_attributes });
  else events.push({ type: 'charge.dispute.updated', object: rendered, previous_attributes });
  if (after.funds_reinstated_at !== null) events.push({ type: 'charge.dispute.funds_reinstated', object: rendered });
  if (before.funds_withdrawn_at === null && after.funds_withdrawn_at !== null) events.push({ type: 'charge.dispute.funds_withdrawn', object: rendered });
  const outcome: Outcome = { ok: rendered };
  await ctx.commit(
    [
      updateDispute(after, before.version, null),
      ...(await chargeWrites(ctx, before, after)),
      outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, events),
    ],
    outcome,
  );
  return outcome;
}

/** A won chargeback gives the charge its money back (refundable again); an escalated inquiry takes it (not refundable). */
async function chargeWrites(ctx: OperationContext, before: Dispute.Dispute, after: Dispute.Dispute): Promise<SqlFragment[]> {
  const won = after.status === 'won';
  const escalated = before.funds_withdrawn_at === null && after.funds_withdrawn_at !== null;
  if (!won && !escalated) return [];
  const found = await chargeForDispute(ctx.reader, ctx.merchant_id, after.charge);
  if (!found) throw new Error(`dispute ${after.id} names charge ${after.charge}, which payments does not have`);
  return [found.mark_disputed(!won)];
}
