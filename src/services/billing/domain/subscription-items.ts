import { PayrailError } from '../../../kernel/errors.js';
import { mergeMetadata } from '../../../kernel/metadata.js';
import type { Period } from './periods.js';
import type { ProrationLine } from './proration.js';
import { prorateChange } from './proration.js';
import type { SubscriptionItem } from './subscription.js';
import { MAX_ITEMS } from './subscription.js';

/**
 * Changes to a subscription's items (pure): Stripe's `items` on update — an existing item by `id`
 * with a new quantity or price, or `deleted`; a new item by `price` — and what they cost for the rest
 * of the period (proration.ts's rule, item by item).
 */

export interface ItemChange {
  id?: string | undefined;
  price?: string | undefined;
  quantity?: number | undefined;
  deleted?: boolean | undefined;
  metadata?: Record<string, string | null> | null | undefined;
}

export interface ItemChanges {
  items: SubscriptionItem[];
  removed: SubscriptionItem[];
  /** The prices new on the subscription (new items, or an item's new price), at their params: they must be active. */
  new_prices: { price: string; param: string }[];
}

export function applyItemChanges(current: readonly SubscriptionItem[], changes: readonly ItemChange[], next_id: () => string, now_s: number): ItemChanges {
  const items = current.map((item) => ({ ...item }));
  const removed: SubscriptionItem[] = [];
  const new_prices: { price: string; param: string }[] = [];
  changes.forEach((change, index) => {
    const param = `items[${index}]`;
    if (change.id === undefined) {
      if (change.deleted === true)
        throw new PayrailError('parameter_missing', { param: `${param}[id]`, message: 'Missing required param: id, to delete an item.' });
      if (change.price === undefined)
        throw new PayrailError('parameter_missing', { param: `${param}[price]`, message: `Missing required param: ${param}[price].` });
      items.push({ id: next_id(), price: change.price, quantity: change.quantity ?? 1, metadata: mergeMetadata({}, change.metadata ?? {}), created: now_s });
      new_prices.push({ price: change.price, param: `${param}[price]` });
      return;
    }
    const at = items.findIndex((item) => item.id === change.id);
    const item = items[at];
    if (item === undefined)
      throw new PayrailError('resource_missing', { param: `${param}[id]`, message: `No such subscription item: '${change.id.slice(0, 64)}'` });
    if (change.deleted === true) {
      removed.push(...items.splice(at, 1));
      return;
    }
    if (change.price !== undefined && change.price !== item.price) new_prices.push({ price: change.price, param: `${param}[price]` });
    items[at] = {
      ...item,
      price: change.price ?? item.price,
      quantity: change.quantity ?? item.quantity,
      metadata: change.metadata === undefined ? item.metadata : mergeMetadata(item.metadata, change.metadata),
    };
  });
  if (items.length === 0) {
    throw new PayrailError('parameter_invalid', {
      param: 'items',
      message: 'A subscription must keep at least one item. To end it, cancel the subscription (DELETE /v1/subscriptions/:id).',
    });
  }
  if (items.length > MAX_ITEMS) throw new PayrailError('parameter_invalid', { param: 'items', message: `A subscription can have at most ${MAX_ITEMS} items.` });
  return { items, removed, new_prices };
}

export interface ItemProration extends ProrationLine {
  item: SubscriptionItem;
}

/**
 * The proration lines of a change from `before` to `after` at `at_s` in `period`: per item, a credit
 * for the unused time of what it billed and a charge for the remaining time of what it bills now
 * (an item removed bills 0 after; an item added billed 0 before). Unchanged items prorate nothing.
 */
export function prorations(
  before: readonly SubscriptionItem[],
  after: readonly SubscriptionItem[],
  amount: (item: SubscriptionItem) => number,
  period: Period,
  at_s: number,
): ItemProration[] {
  const lines: ItemProration[] = [];
  for (const old of before) {
    const now = after.find((item) => item.id === old.id);
    if (now && now.price === old.price && now.quantity === old.quantity) continue;
    for (const line of prorateChange(amount(old), 0, period, at_s)) lines.push({ ...line, item: old });
    if (now) for (const line of prorateChange(0, amount(now), period, at_s)) lines.push({ ...line, item: now });
  }
  for (const added of after.filter((item) => !before.some((old) => old.id === item.id))) {
    for (const line of prorateChange(0, amount(added), period, at_s)) lines.push({ ...line, item: added });
  }
  return lines;
}
