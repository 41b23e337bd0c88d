import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';

/** The catalog under concurrency and retries: one holder per lookup key, no price without its product, one price per key. */

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t?.stop();
});

/** The status a call ends with: 200 or the error's status (a 5xx would fail the test's expectations). */
async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (error) {
    if (!(error instanceof Stripe.errors.StripeError)) throw error;
    return error.statusCode ?? 0;
  }
}

describe('catalog races', () => {
  it('gives a lookup key to exactly one of the prices claiming it at once', async () => {
    const product = await t.stripe.products.create({ name: 'Race for a key' });
    for (let round = 0; round < 5; round++) {
      const lookup_key = `contested-${round}`;
      const statuses = await Promise.all(
        Array.from({ length: 6 }, () => statusOf(t.stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 100, lookup_key }))),
      );
      expect(statuses.filter((status) => status === 200)).toHaveLength(1);
      for (const status of statuses.filter((s) => s !== 200)) expect([400, 409]).toContain(status);
      const holders = await t.owner.query('SELECT id FROM billing.prices WHERE lookup_key = $1', [lookup_key]);
      expect(holders.rows).toHaveLength(1);
    }
  });

  it('never leaves a price without its product when a delete races a new price', async () => {
    for (let round = 0; round < 8; round++) {
      const product = await t.stripe.products.create({ name: `Race ${round}` });
      const [deleted, priced] = await Promise.all([
        statusOf(t.stripe.products.del(product.id)),
        statusOf(t.stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 100 })),
      ]);
      const stored = await t.owner.query<{ products: number; prices: number; counted: number | null }>(
        `SELECT (SELECT count(*)::int FROM billing.products WHERE id = $1) AS products,
                (SELECT count(*)::int FROM billing.prices WHERE product_id = $1) AS prices,
                (SELECT price_count FROM billing.products WHERE id = $1) AS counted`,
        [product.id],
      );
      const row = stored.rows[0]!;
      // Exactly one of the two wins; the loser is refused (400/404) or told to retry (409), never a 5xx.
      expect([deleted, priced].filter((status) => status === 200)).toHaveLength(1);
      if (deleted === 200) expect(row).toEqual({ products: 0, prices: 0, counted: null });
      else expect(row).toEqual({ products: 1, prices: 1, counted: 1 });
      for (const status of [deleted, priced].filter((s) => s !== 200)) expect([400, 404, 409]).toContain(status);
    }
  });

  it('creates one price per Idempotency-Key, however often and however concurrently it is sent', async () => {
    const product = await t.stripe.products.create({ name: 'Retried' });
    const idempotencyKey = `price-retry-${Date.now()}`;
    const create = () => t.stripe.prices.create({ product: product.id, currency: 'eur', unit_amount: 250 }, { idempotencyKey });
    const first = await create();
    const again = await Promise.all([create(), create(), create()]);
    for (const price of again) expect(price.id).toBe(first.id);
    const stored = await t.owner.query('SELECT id FROM billing.prices WHERE product_id = $1', [product.id]);
    expect(stored.rows).toEqual([{ id: first.id }]);
    const counted = await t.owner.query<{ price_count: number }>('SELECT price_count FROM billing.products WHERE id = $1', [product.id]);
    expect(counted.rows[0]?.price_count).toBe(1);
  });
});
