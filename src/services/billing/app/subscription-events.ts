import type { OperationContext } from '../../../platform/write/operation.js';
import type { EventDraft } from '../../events/index.js';
import type { Subscription } from '../domain/subscription.js';
import { renderSubscription } from '../adapters/subscription-render.js';
import { previousAttributes } from '../../../kernel/previous-attributes.js';
import { pricesOf } from './subscription-prices.js';

/**
 * Stripe's subscription events. `customer.subscription.updated` carries `previous_attributes`: the
 * top-level fields that changed, with their values before (the whole `items` list when an item changed).
 */
/** Written out as `type: '…'` so the event-type test finds each one. */
const TYPES = {
  created: { type: 'customer.subscription.created' },
  updated: { type: 'customer.subscription.updated' },
  deleted: { type: 'customer.subscription.deleted' },
} as const;

export async function subscriptionUpdatedEvent(ctx: OperationContext, before: Subscription, after: Subscription): Promise<EventDraft> {
  const rendered_before = renderSubscription(before, await pricesOf(ctx.reader, before));
  const rendered = renderSubscription(after, await pricesOf(ctx.reader, after)) as { id: string };
  return { type: TYPES.updated.type, object: rendered, previous_attributes: previousAttributes(rendered_before, rendered) };
}

export async function subscriptionDeletedEvent(ctx: OperationContext, after: Subscription): Promise<EventDraft> {
  return { type: TYPES.deleted.type, object: renderSubscription(after, await pricesOf(ctx.reader, after)) as { id: string } };
}

export function subscriptionCreatedEvent(rendered: { id: string }): EventDraft {
  return { type: TYPES.created.type, object: rendered };
}
