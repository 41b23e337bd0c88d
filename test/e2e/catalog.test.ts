import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { rejection } from '../support/stripe-errors.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';

/** Products and prices through the official SDK: Stripe's shapes, lists, events, and Stripe's errors with nothing stored. */

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t?.stop();
});

async function rowCounts(): Promise<{ products: number; prices: number }> {
  const result = await t.owner.query<{ products: number; prices: number }>(
    'SELECT (SELECT count(*)::int FROM billing.products) AS products, (SELECT count(*)::int FROM billing.prices) AS prices',
  );
  return result.rows[0]!;
}

async function eventTypesFor(id: string): Promise<string[]> {
  const events = await t.stripe.events.list({ limit: 100 });
  return events.data
    .filter((event) => (event.data.object as { id?: string }).id === id)
    .map((event) => event.type)
    .reverse();
}

describe('products', () => {
  it('creates, retrieves, updates and deletes a product in Stripe’s shape, with its events', async () => {
    const product = await t.stripe.products.create({
      name: 'Gold plan',
      description: 'The best one',
      features: [{ name: 'Unlimited seats' }],
      images: ['https://example.com/gold.png'],
      metadata: { tier: 'gold' },
      shippable: false,
      statement_descriptor: 'GOLD PLAN',
      unit_label: 'seat',
      url: 'https://example.com/gold',
    });
    expect(product).toMatchObject({ object: 'product', active: true, name: 'Gold plan', default_price: null, features: [{ name: 'Unlimited seats' }] });
    expect(product.id).toMatch(/^prod_/);
    expect(stripeSchemaProblems('product', product)).toEqual([]);
    expect(await t.stripe.products.retrieve(product.id)).toEqual(product);

    const updated = await t.stripe.products.update(product.id, { active: false, description: '', metadata: { tier: '', plan: 'g' }, url: '' });
    expect(updated).toMatchObject({ active: false, description: null, metadata: { plan: 'g' }, url: null, name: 'Gold plan' });
    const deleted = await t.stripe.products.del(product.id);
    expect(deleted).toEqual({ id: product.id, object: 'product', deleted: true });
    expect((await rejection(t.stripe.products.retrieve(product.id))).statusCode).toBe(404);
    expect(await eventTypesFor(product.id)).toEqual(['product.created', 'product.updated', 'product.deleted']);
  });

  it('lists newest first with Stripe’s filters: active, ids, shippable, url', async () => {
    const a = await t.stripe.products.create({ name: 'List A', shippable: true, url: 'https://example.com/a' });
    const b = await t.stripe.products.create({ name: 'List B', active: false });
    const c = await t.stripe.products.create({ name: 'List C' });
    const ids = (list: { data: { id: string }[] }) => list.data.map((item) => item.id);
    expect(ids(await t.stripe.products.list({ ids: [a.id, b.id, c.id] }))).toEqual([c.id, b.id, a.id]);
    expect(ids(await t.stripe.products.list({ ids: [a.id, b.id, c.id], active: false }))).toEqual([b.id]);
    expect(ids(await t.stripe.products.list({ ids: [a.id, b.id, c.id], shippable: true }))).toEqual([a.id]);
    expect(ids(await t.stripe.products.list({ url: 'https://example.com/a' }))).toEqual([a.id]);
    const page = await t.stripe.products.list({ ids: [a.id, b.id, c.id], limit: 2 });
    expect(page.has_more).toBe(true);
    expect(ids(await t.stripe.products.list({ ids: [a.id, b.id, c.id], starting_after: page.data[1]!.id }))).toEqual([a.id]);
  });

  it('refuses to delete a product with prices, as Stripe does, and keeps it', async () => {
    const product = await t.stripe.products.create({ name: 'Has prices' });
    await t.stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 100 });
    const error = await rejection(t.stripe.products.del(product.id));
    expect(error).toMatchObject({ statusCode: 400, type: 'StripeInvalidRequestError' });
    expect(error.message).toBe('This product cannot be deleted because it has one or more user-created prices.');
    expect((await t.stripe.products.retrieve(product.id)).id).toBe(product.id);
  });

  it('creates a default price with the product, sets and guards it', async () => {
    const product = await t.stripe.products.create({
      name: 'With default',
      default_price_data: { currency: 'eur', unit_amount: 990, recurring: { interval: 'month' } },
    });
    expect(product.default_price).toMatch(/^price_/);
    const price = await t.stripe.prices.retrieve(product.default_price as string);
    expect(price).toMatchObject({
      product: product.id,
      currency: 'eur',
      unit_amount: 990,
      type: 'recurring',
      recurring: { interval: 'month', interval_count: 1 },
    });
    const archive = await rejection(t.stripe.prices.update(price.id, { active: false }));
    expect(archive).toMatchObject({ statusCode: 400, param: 'active' });
    expect((await t.stripe.prices.retrieve(price.id)).active).toBe(true);

    const other = await t.stripe.products.create({ name: 'Other' });
    const foreign = await t.stripe.prices.create({ product: other.id, currency: 'eur', unit_amount: 5 });
    expect(await rejection(t.stripe.products.update(product.id, { default_price: foreign.id }))).toMatchObject({ statusCode: 400, param: 'default_price' });
    const unset = await t.stripe.products.update(product.id, { default_price: '' });
    expect(unset.default_price).toBeNull();
    expect((await t.stripe.prices.update(price.id, { active: false })).active).toBe(false);
    const expanded = await t.stripe.products.retrieve(other.id, { expand: ['default_price'] });
    expect(expanded.default_price).toBeNull();
  });
});

describe('prices', () => {
  it('creates one-time and recurring prices in Stripe’s shape, with product_data, and expands product', async () => {
    const price = await t.stripe.prices.create({
      currency: 'usd',
      unit_amount: 1500,
      recurring: { interval: 'week', interval_count: 2 },
      product_data: { name: 'Made inline', metadata: { from: 'price' } },
      nickname: 'Biweekly',
      lookup_key: 'biweekly-standard',
      metadata: { k: 'v' },
      tax_behavior: 'exclusive',
    });
    expect(price).toMatchObject({
      object: 'price',
      active: true,
      billing_scheme: 'per_unit',
      currency: 'usd',
      unit_amount: 1500,
      unit_amount_decimal: '1500',
      type: 'recurring',
      recurring: { interval: 'week', interval_count: 2, usage_type: 'licensed', aggregate_usage: null },
      lookup_key: 'biweekly-standard',
      nickname: 'Biweekly',
      tax_behavior: 'exclusive',
      tiers_mode: null,
    });
    expect(price).not.toHaveProperty('tiers');
    expect(stripeSchemaProblems('price', price)).toEqual([]);
    const product = await t.stripe.products.retrieve(price.product as string);
    expect(product).toMatchObject({ name: 'Made inline', metadata: { from: 'price' } });
    const expanded = await t.stripe.prices.retrieve(price.id, { expand: ['product'] });
    expect(expanded.product).toEqual(product);
    expect(await eventTypesFor(price.id)).toEqual(['price.created']);

    const decimal = await t.stripe.prices.create({ currency: 'jpy', unit_amount_decimal: '500.000', product: product.id });
    expect(decimal).toMatchObject({ unit_amount: 500, unit_amount_decimal: '500', type: 'one_time', recurring: null });
  });

  it('computes tiers and shows them only when expanded', async () => {
    const price = await t.stripe.prices.create({
      currency: 'usd',
      product_data: { name: 'Tiered' },
      billing_scheme: 'tiered',
      tiers_mode: 'graduated',
      tiers: [
        { up_to: 10, unit_amount: 100 },
        { up_to: 'inf', unit_amount: 50, flat_amount: 200 },
      ],
      recurring: { interval: 'month' },
    });
    expect(price).toMatchObject({ billing_scheme: 'tiered', tiers_mode: 'graduated', unit_amount: null, unit_amount_decimal: null });
    expect(price).not.toHaveProperty('tiers');
    const expanded = await t.stripe.prices.retrieve(price.id, { expand: ['tiers'] });
    expect(expanded.tiers).toEqual([
      { up_to: 10, unit_amount: 100, unit_amount_decimal: '100', flat_amount: null, flat_amount_decimal: null },
      { up_to: null, unit_amount: 50, unit_amount_decimal: '50', flat_amount: 200, flat_amount_decimal: '200' },
    ]);
    const listed = await t.stripe.prices.list({ product: price.product as string, expand: ['data.tiers'] });
    expect(listed.data[0]?.tiers).toEqual(expanded.tiers);
  });

  it('updates only what Stripe lets change, and moves a lookup key only when asked', async () => {
    const product = await t.stripe.products.create({ name: 'Lookup' });
    const first = await t.stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 100, lookup_key: 'std' });
    const taken = await rejection(t.stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 200, lookup_key: 'std' }));
    expect(taken).toMatchObject({ statusCode: 400, param: 'lookup_key' });
    const second = await t.stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 200, lookup_key: 'std', transfer_lookup_key: true });
    expect((await t.stripe.prices.retrieve(first.id)).lookup_key).toBeNull();
    expect((await t.stripe.prices.list({ lookup_keys: ['std'] })).data.map((p) => p.id)).toEqual([second.id]);
    expect(await eventTypesFor(first.id)).toEqual(['price.created', 'price.updated']);

    const updated = await t.stripe.prices.update(first.id, { nickname: 'Old', metadata: { a: '1' }, active: false, lookup_key: 'old-std' });
    expect(updated).toMatchObject({ nickname: 'Old', metadata: { a: '1' }, active: false, lookup_key: 'old-std', unit_amount: 100 });
    const immutable = await rejection(t.stripe.prices.update(first.id, { unit_amount: 5 } as never));
    expect(immutable).toMatchObject({ statusCode: 400, code: 'parameter_unknown', param: 'unit_amount' });
    const locked = await t.stripe.prices.update(second.id, { tax_behavior: 'inclusive' });
    expect(locked.tax_behavior).toBe('inclusive');
    expect(await rejection(t.stripe.prices.update(second.id, { tax_behavior: 'exclusive' }))).toMatchObject({ param: 'tax_behavior' });
  });

  it('lists with Stripe’s filters: active, currency, product, type, recurring', async () => {
    const product = await t.stripe.products.create({ name: 'Filters' });
    const monthly = await t.stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 1, recurring: { interval: 'month' } });
    const yearly = await t.stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 2, recurring: { interval: 'year' } });
    const once = await t.stripe.prices.create({ product: product.id, currency: 'eur', unit_amount: 3, active: false });
    const ids = async (params: Record<string, unknown>) => (await t.stripe.prices.list({ product: product.id, ...params })).data.map((p) => p.id);
    expect(await ids({})).toEqual([once.id, yearly.id, monthly.id]);
    expect(await ids({ type: 'one_time' })).toEqual([once.id]);
    expect(await ids({ currency: 'usd' })).toEqual([yearly.id, monthly.id]);
    expect(await ids({ active: false })).toEqual([once.id]);
    expect(await ids({ recurring: { interval: 'month' } })).toEqual([monthly.id]);
  });

  it('searches products and prices with Stripe’s query language', async () => {
    const product = await t.stripe.products.create({ name: 'Searchable Widget', metadata: { sku: 'w-42' } });
    const price = await t.stripe.prices.create({ product: product.id, currency: 'gbp', unit_amount: 10, lookup_key: 'widget-gbp' });
    const products = await t.stripe.products.search({ query: "metadata['sku']:'w-42'" });
    expect(products.data.map((p) => p.id)).toEqual([product.id]);
    const prices = await t.stripe.prices.search({ query: `product:'${product.id}' AND currency:'gbp'` });
    expect(prices.data.map((p) => p.id)).toEqual([price.id]);
  });
});

describe('bad input: Stripe’s errors, nothing stored', () => {
  const cases: [string, Record<string, unknown>, { param?: string; code?: string }][] = [
    [
      'unit_amount and tiers at once',
      { unit_amount: 100, billing_scheme: 'tiered', tiers_mode: 'volume', tiers: [{ up_to: 'inf', unit_amount: 1 }] },
      { param: 'unit_amount' },
    ],
    ['tiers without billing_scheme=tiered', { unit_amount: 100, tiers: [{ up_to: 'inf', unit_amount: 1 }] }, { param: 'tiers' }],
    ['an interval over a year', { unit_amount: 100, recurring: { interval: 'month', interval_count: 13 } }, { param: 'recurring[interval_count]' }],
    ['a metered price', { unit_amount: 100, recurring: { interval: 'month', usage_type: 'metered' } }, { param: 'recurring[usage_type]' }],
    ['a fraction of a minor unit', { unit_amount_decimal: '10.5' }, { param: 'unit_amount_decimal' }],
    ['unit_amount and unit_amount_decimal', { unit_amount: 10, unit_amount_decimal: '10' }, { code: 'parameters_exclusive' }],
    ['no amount at all', {}, { code: 'parameter_missing', param: 'unit_amount' }],
    [
      'tiers out of order',
      {
        billing_scheme: 'tiered',
        tiers_mode: 'graduated',
        tiers: [
          { up_to: 10, unit_amount: 1 },
          { up_to: 5, unit_amount: 1 },
          { up_to: 'inf', unit_amount: 1 },
        ],
      },
      { param: 'tiers[1][up_to]' },
    ],
    ['a last tier that is bounded', { billing_scheme: 'tiered', tiers_mode: 'volume', tiers: [{ up_to: 10, unit_amount: 1 }] }, { param: 'tiers[0][up_to]' }],
    ['an unknown currency', { currency: 'xyz', unit_amount: 1 }, { code: 'currency_invalid' }],
    ['currency_options', { unit_amount: 1, currency_options: { eur: { unit_amount: 1 } } }, { code: 'parameter_unknown', param: 'currency_options' }],
  ];
  it.each(cases)('refuses %s', async (_name, params, expected) => {
    const product = await t.stripe.products.create({ name: 'Bad input' });
    const before = await rowCounts();
    const error = await rejection(t.stripe.prices.create({ currency: 'usd', product: product.id, ...params }));
    expect(error.statusCode).toBe(400);
    expect(error.type).toBe('StripeInvalidRequestError');
    expect(error).toMatchObject(expected);
    expect(await rowCounts()).toEqual(before);
  });

  it('refuses an unknown product, and both product and product_data', async () => {
    const before = await rowCounts();
    const missing = await rejection(t.stripe.prices.create({ currency: 'usd', unit_amount: 1, product: 'prod_doesnotexist' }));
    expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'product' });
    const both = await rejection(t.stripe.prices.create({ currency: 'usd', unit_amount: 1, product: 'prod_x', product_data: { name: 'x' } }));
    expect(both).toMatchObject({ statusCode: 400, code: 'parameters_exclusive' });
    const neither = await rejection(t.stripe.prices.create({ currency: 'usd', unit_amount: 1 }));
    expect(neither).toMatchObject({ statusCode: 400, code: 'parameter_missing', param: 'product' });
    expect(await rowCounts()).toEqual(before);
  });

  it('keeps merchants apart', async () => {
    const product = await t.stripe.products.create({ name: 'Mine' });
    const other = await t.newMerchant();
    expect((await rejection(other.stripe.products.retrieve(product.id))).statusCode).toBe(404);
    expect((await rejection(other.stripe.prices.create({ currency: 'usd', unit_amount: 1, product: product.id }))).statusCode).toBe(404);
  });
});
