import { PayrailError } from '../../../kernel/errors.js';
import { mergeMetadata } from '../../../kernel/metadata.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { EventDraft } from '../../events/index.js';
import { outboxInsert } from '../../events/index.js';
import type { TextEvidenceField } from '../domain/dispute.js';
import * as Dispute from '../domain/dispute.js';
import { renderDispute } from '../adapters/render.js';
import type { DisputeFilters } from '../adapters/store.js';
import { getDispute, listDisputes, updateDispute } from '../adapters/store.js';
import type { DisputesDeps } from './deps.js';

/** The Disputes API: retrieve, list, update (evidence, metadata, submit) and close. */

export async function retrieveDispute(deps: DisputesDeps, merchant_id: string, id: string): Promise<Record<string, unknown>> {
  return renderDispute(await getDispute(deps.write.reader, merchant_id, id), nowS(deps));
}

export async function listAllDisputes(
  deps: DisputesDeps,
  merchant_id: string,
  filters: DisputeFilters,
  page: PageRequest,
): Promise<Page<Record<string, unknown>>> {
  const result = await listDisputes(deps.write.reader, merchant_id, filters, page);
  return { data: result.data.map((dispute) => renderDispute(dispute, nowS(deps))), has_more: result.has_more };
}

export interface UpdateDisputeParams {
  evidence?: Partial<Record<TextEvidenceField, string | null>> | undefined;
  metadata?: Record<string, string | null> | null | undefined;
  /** Stripe's default: evidence sent is submitted at once. */
  submit?: boolean | undefined;
}

/**
 * Evidence is staged (`submit=false`) or submitted (the default), which puts the dispute under
 * review; submitted test-mode evidence asks for an outcome the decision job applies shortly after.
 * Metadata alone may change at any time. The write is version-guarded: of two concurrent submissions
 * one commits and the other is told to retry (and then finds the dispute under review), so a
 * submission counts once.
 */
export async function updateDisputeEvidence(deps: DisputesDeps, ctx: OperationContext, id: string, params: UpdateDisputeParams): Promise<Outcome> {
  const before = await getDispute(ctx.reader, ctx.merchant_id, id);
  const touches_evidence = params.evidence !== undefined || params.submit === true;
  let after: Dispute.Dispute = before;
  if (touches_evidence) {
    const refused = Dispute.refusal(before, 'evidence');
    if (refused) throw new PayrailError('dispute_unexpected_state', { message: refused });
    after = Dispute.updateEvidence(before, params.evidence ?? {}, params.submit ?? true, ctx.now_s);
    if (Dispute.evidenceCharacters(after.evidence) > Dispute.EVIDENCE_TOTAL_CHARACTERS_MAX) {
      throw new PayrailError('parameter_invalid', {
        param: 'evidence',
        message: `The combined character count of all evidence fields is limited to ${Dispute.EVIDENCE_TOTAL_CHARACTERS_MAX}.`,
      });
    }
  }
  if (params.metadata !== undefined) after = { ...after, metadata: mergeMetadata(before.metadata, params.metadata), version: before.version + 1 };
  if (after === before) return { ok: renderDispute(before, ctx.now_s) };
  const rendered = renderDispute(after, ctx.now_s);
  const previous = previousAttributes(renderDispute(before, ctx.now_s), rendered);
  const outcome: Outcome = { ok: rendered };
  const events: EventDraft[] = [{ type: 'charge.dispute.updated', object: rendered, previous_attributes: previous }];
  await ctx.commit(
    [
      updateDispute(after, before.version, after.pending_outcome === null ? null : ctx.now_s),
      outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, events),
    ],
    outcome,
  );
  return outcome;
}

/** Accepting a dispute: a chargeback is lost (nothing more moves: its money left when it opened). */
export async function closeDispute(deps: DisputesDeps, ctx: OperationContext, id: string): Promise<Outcome> {
  const before = await getDispute(ctx.reader, ctx.merchant_id, id);
  const refused = Dispute.refusal(before, 'close');
  if (refused) throw new PayrailError('dispute_unexpected_state', { message: refused });
  const after = Dispute.close(before);
  const rendered = renderDispute(after, ctx.now_s);
  const outcome: Outcome = { ok: rendered };
  const events: EventDraft[] = [{ type: 'charge.dispute.closed', object: rendered, previous_attributes: { status: before.status } }];
  await ctx.commit([updateDispute(after, before.version, null), outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, events)], outcome);
  return outcome;
}

/** The top-level fields that changed, with their old values: Stripe's `previous_attributes`. */
function previousAttributes(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, unknown> {
  const changed: Record<string, unknown> = {};
  for (const key of ['evidence', 'evidence_details', 'metadata', 'status', 'is_charge_refundable'] as const) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) changed[key] = before[key];
  }
  return changed;
}

function nowS(deps: DisputesDeps): number {
  return Math.floor(deps.write.clock.now_ms() / 1000);
}
