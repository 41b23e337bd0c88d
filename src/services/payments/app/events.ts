import type { SqlFragment } from '../../../platform/db.js';
import type { OperationContext } from '../../../platform/write/operation.js';
import type { EventDraft } from '../../events/index.js';
import { outboxInsert } from '../../events/index.js';

/** The outbox write for a use case's events, committed with its effects. */
export function eventsWrite(ctx: OperationContext, events: EventDraft[]): SqlFragment {
  return outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, events);
}
