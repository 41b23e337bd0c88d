import type { SqlFragment } from '../../../platform/db.js';
import { isUniqueViolation } from '../../../platform/db.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { EventDraft } from '../../events/index.js';
import { outboxInsert } from '../../events/index.js';
import { renderPrice } from '../adapters/catalog-render.js';
import { findPriceByLookupKey, updatePrice } from '../adapters/catalog-store.js';

/** What the catalog's use cases share: committing with events, and moving a lookup key. */

export interface Effects {
  writes: SqlFragment[];
  events: EventDraft[];
}

/**
 * The final commit with the events. Two requests may claim one lookup key at once: the loser's
 * statement breaks the key's unique constraint and nothing of it is written; it is answered as a
 * conflict to retry (a retry then finds the key taken and says so).
 */
export async function commitCatalog(ctx: OperationContext, effects: Effects, outcome: Outcome): Promise<Outcome> {
  try {
    await ctx.commit([...effects.writes, outboxInsert(ctx.ids, ctx.merchant_id, ctx.now_s, ctx.request, effects.events)], outcome);
  } catch (error) {
    if (isUniqueViolation(error))
      throw new PayrailError('lock_timeout', { message: 'Another request claimed this lookup key at the same time; retry the request.' });
    throw error;
  }
  return outcome;
}

/**
 * A lookup key names one price. Taken by another price, it is refused unless `transfer_lookup_key`
 * asks to move it: then the other price loses it in the same statement (and says so in an event).
 */
export async function claimLookupKey(ctx: OperationContext, lookup_key: string | null, transfer: boolean, price_id: string): Promise<Effects> {
  if (lookup_key === null) return { writes: [], events: [] };
  const holder = await findPriceByLookupKey(ctx.reader, ctx.merchant_id, lookup_key);
  if (!holder || holder.id === price_id) return { writes: [], events: [] };
  if (!transfer) {
    throw new PayrailError('resource_already_exists', {
      param: 'lookup_key',
      message: `A price (\`${holder.id}\`) already uses that lookup key. Pass transfer_lookup_key=true to move it to this price.`,
    });
  }
  const moved = { ...holder, lookup_key: null, version: holder.version + 1 };
  return {
    writes: [updatePrice(moved, holder.version)],
    events: [{ type: 'price.updated', object: renderPrice(moved), previous_attributes: { lookup_key } }],
  };
}
