import { PayrailError } from '../../../kernel/errors.js';
import type { Db } from '../../../platform/db.js';
import type { Price } from '../domain/price.js';
import { priceAmount } from '../domain/price.js';
import type { Period } from '../domain/periods.js';
import type { Subscription, SubscriptionItem } from '../domain/subscription.js';
import { renderPrice } from '../adapters/catalog-render.js';
import { findProduct, getPrice } from '../adapters/catalog-store.js';
import type { RenderedPrices } from '../adapters/subscription-render.js';
import type { LineDraft } from './invoice-drafts.js';

/** What subscriptions read from the catalog: their items' prices, the lines those prices bill, and the prices as Stripe renders them. */

export type PriceBook = ReadonlyMap<string, Price>;

/**
 * The prices named by `ids` (items at `param`), each one of the merchant's, active when `must_be_active`:
 * a new item needs an active price, as in Stripe; one kept on a subscription may have been archived since.
 */
export async function loadPrices(db: Db, merchant_id: string, ids: readonly { price: string; param: string; must_be_active: boolean }[]): Promise<PriceBook> {
  const book = new Map<string, Price>();
  for (const { price: id, param, must_be_active } of ids) {
    const price = book.get(id) ?? (await getPrice(db, merchant_id, id, param));
    if (must_be_active && !price.active) {
      throw new PayrailError('parameter_invalid', { param, message: `The price specified (${id}) is inactive. This field only accepts active prices.` });
    }
    book.set(id, price);
  }
  return book;
}

export function priceOf(book: PriceBook, id: string): Price {
  const price = book.get(id);
  if (!price) throw new Error(`price ${id} was not loaded`);
  return price;
}

export function renderedPrices(book: PriceBook): RenderedPrices {
  return new Map([...book.values()].map((price) => [price.id, renderPrice(price)]));
}

/** The prices of a stored subscription's items, for rendering it. */
export async function pricesOf(db: Db, subscription: Subscription): Promise<RenderedPrices> {
  const book = await loadPrices(
    db,
    subscription.merchant_id,
    subscription.items.map((item) => ({ price: item.price, param: 'price', must_be_active: false })),
  );
  return renderedPrices(book);
}

/** What one item bills for a whole period: its price for its quantity. */
export function itemAmount(book: PriceBook, item: Pick<SubscriptionItem, 'price' | 'quantity'>): number {
  return priceAmount(priceOf(book, item.price), item.quantity);
}

/** Product names for line descriptions ("2 × Gold plan"), read once per product. */
export async function productNames(db: Db, merchant_id: string, book: PriceBook): Promise<ReadonlyMap<string, string>> {
  const names = new Map<string, string>();
  for (const price of book.values()) {
    if (names.has(price.product)) continue;
    names.set(price.product, (await findProduct(db, merchant_id, price.product))?.name ?? price.product);
  }
  return names;
}

/** A line billing `item` for `period` at `amount`, described as Stripe describes it. */
export function itemLine(
  book: PriceBook,
  names: ReadonlyMap<string, string>,
  item: SubscriptionItem,
  period: Period,
  amount: number,
  kind: 'period' | 'trial' | 'unused_time' | 'remaining_time',
): LineDraft {
  const name = names.get(priceOf(book, item.price).product) ?? item.price;
  const what = `${item.quantity} × ${name}`;
  const after = new Date(period.start * 1000).toISOString().slice(0, 10);
  const description = {
    period: what,
    trial: `Trial period for ${name}`,
    unused_time: `Unused time on ${what} after ${after}`,
    remaining_time: `Remaining time on ${what} after ${after}`,
  }[kind];
  return {
    amount,
    description,
    price: item.price,
    quantity: item.quantity,
    period,
    proration: kind === 'unused_time' || kind === 'remaining_time',
    subscription_item: item.id,
  };
}
