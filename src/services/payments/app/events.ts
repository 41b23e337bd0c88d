import type { SqlFragment } from '../../../platform/db.js';
import type { OperationContext } from '../../../platform/write/operation.js';
import type { EventDraft } from '../../events/index.js';
import { outboxInsert } from '../../events/index.js';
import type { Charge } from '../domain/charge.js';
import { conversionFacts } from './conversion.js';

/** The outbox write for a use case's events, committed with its effects. */
export function eventsWrite(ctx: OperationContext, events: EventDraft[]): SqlFragment {
  return outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, events);
}

/**
 * A charge event with the charge's facts for the ledger (its funds availability, the quote a
 * cross-currency charge converts with) in the event's internal envelope: payments keeps them without
 * knowing why, and no client ever sees them.
 */
export function withChargeFacts(draft: EventDraft, charge: Charge): EventDraft {
  const internal = { ...(charge.funds ? { funds: charge.funds } : {}), ...conversionFacts(charge.fx) };
  return Object.keys(internal).length > 0 ? { ...draft, internal } : draft;
}
