import { PayrailError } from '../../../kernel/errors.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import type { Subscription } from '../domain/subscription.js';
import type { CreateItemParams, DeleteItemParams, UpdateItemParams } from '../adapters/subscription-schemas.js';
import { renderSubscriptionItem } from '../adapters/subscription-render.js';
import { findSubscriptionOfItem, getSubscription } from '../adapters/subscription-store.js';
import type { BillingDeps } from './deps.js';
import { pricesOf } from './subscription-prices.js';
import { changeSubscription } from './subscription-update.js';

/**
 * /v1/subscription_items: each write is a change of its subscription (POST /v1/subscriptions/:id with
 * one `items` entry), with the same proration; the answer is the item.
 */

type Json = Record<string, unknown>;

async function renderItem(ctx: OperationContext, subscription: Subscription, item_id: string): Promise<Json> {
  const item = subscription.items.find((candidate) => candidate.id === item_id);
  if (!item) throw new Error(`subscription item ${item_id} vanished from ${subscription.id}`);
  return renderSubscriptionItem(subscription, item, await pricesOf(ctx.reader, subscription));
}

export async function createItem(deps: BillingDeps, ctx: OperationContext, params: CreateItemParams): Promise<Outcome> {
  const { subscription, proration_behavior, proration_date, payment_behavior, ...item } = params;
  await getSubscription(ctx.reader, ctx.merchant_id, subscription, 'subscription');
  return changeSubscription(deps, ctx, subscription, { items: [item], proration_behavior, proration_date, payment_behavior }, async (after) => {
    const added = after.items.find((candidate) => candidate.price === item.price);
    if (!added) throw new Error(`the new item on ${after.id} is missing`);
    return renderItem(ctx, after, added.id);
  });
}

export async function updateItem(deps: BillingDeps, ctx: OperationContext, id: string, params: UpdateItemParams): Promise<Outcome> {
  const subscription = await subscriptionOf(ctx, id);
  const { proration_behavior, proration_date, payment_behavior, off_session, ...item } = params;
  return changeSubscription(
    deps,
    ctx,
    subscription.id,
    { items: [{ id, ...item }], proration_behavior, proration_date, payment_behavior, off_session },
    (after) => renderItem(ctx, after, id),
  );
}

export async function deleteItem(deps: BillingDeps, ctx: OperationContext, id: string, params: DeleteItemParams): Promise<Outcome> {
  const subscription = await subscriptionOf(ctx, id);
  return changeSubscription(deps, ctx, subscription.id, { items: [{ id, deleted: true }], ...params }, () =>
    Promise.resolve({ id, object: 'subscription_item', deleted: true }),
  );
}

export async function retrieveItem(deps: BillingDeps, merchant_id: string, id: string): Promise<Json> {
  const subscription = await findSubscriptionOfItem(deps.reader, merchant_id, id);
  const item = subscription?.items.find((candidate) => candidate.id === id);
  if (!subscription || !item) throw missingItem(id);
  return renderSubscriptionItem(subscription, item, await pricesOf(deps.reader, subscription));
}

/** A subscription has at most 20 items, kept in it: the cursors walk them newest first, as Stripe lists items. */
export async function listItems(deps: BillingDeps, merchant_id: string, subscription_id: string, page: PageRequest): Promise<Page<Json>> {
  const subscription = await getSubscription(deps.reader, merchant_id, subscription_id, 'subscription');
  const prices = await pricesOf(deps.reader, subscription);
  const all = [...subscription.items].sort((a, b) => (a.id < b.id ? 1 : -1));
  const limit = page.limit ?? 10;
  for (const [param, cursor] of [
    ['starting_after', page.starting_after],
    ['ending_before', page.ending_before],
  ] as const) {
    // As on Stripe, a cursor names an item of this list: an unknown one would page from nowhere.
    if (cursor !== undefined && !all.some((item) => item.id === cursor)) {
      throw new PayrailError('resource_missing', { param, message: `No such object for ${param}: '${cursor.slice(0, 64)}'` });
    }
  }
  const render = (items: typeof all) => items.map((item) => renderSubscriptionItem(subscription, item, prices));
  if (page.ending_before !== undefined && page.starting_after === undefined) {
    const before = Math.max(
      0,
      all.findIndex((item) => item.id === page.ending_before),
    );
    return { data: render(all.slice(Math.max(0, before - limit), before)), has_more: before - limit > 0 };
  }
  const after = page.starting_after === undefined ? 0 : all.findIndex((item) => item.id === page.starting_after) + 1;
  return { data: render(all.slice(after, after + limit)), has_more: after + limit < all.length };
}

async function subscriptionOf(ctx: OperationContext, item_id: string): Promise<Subscription> {
  const subscription = await findSubscriptionOfItem(ctx.reader, ctx.merchant_id, item_id);
  if (!subscription) throw missingItem(item_id);
  return subscription;
}

function missingItem(id: string): PayrailError {
  return new PayrailError('resource_missing', { param: 'id', message: `No such subscription item: '${id.slice(0, 64)}'` });
}
