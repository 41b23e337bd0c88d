import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import type { Clock } from '../../src/kernel/clock.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { rejection } from '../support/stripe-errors.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';

/** Real time plus an offset the tests can push forward, so batches get distinct `created` seconds. */
let offset_ms = 0;
const clock: Clock = { now_ms: () => Date.now() + offset_ms };

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform({}, { clock });
});
afterAll(async () => {
  await t?.stop();
});

/** Runs `count` calls with at most `concurrency` in flight. */
async function pooled<T>(count: number, concurrency: number, call: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await call(i);
      }
    }),
  );
  return results;
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

function strictlyDescending(ids: string[]): boolean {
  return ids.every((id, i) => i === 0 || ids[i - 1]! > id);
}

describe('pagination', () => {
  const BATCHES = 5;
  const PER_BATCH = 50;
  let stripe: Stripe;
  /** Created intents per batch; batches are 100 s apart on the platform's clock. */
  const batches: Stripe.PaymentIntent[][] = [];
  /** Every id, newest first, as the API must order them. */
  let all_ids: string[] = [];

  beforeAll(async () => {
    // A merchant of its own, so no other test's intents show up in the counts.
    ({ stripe } = await t.newMerchant());
    for (let b = 0; b < BATCHES; b++) {
      batches.push(await pooled(PER_BATCH, 10, (i) => stripe.paymentIntents.create({ amount: 1000 + b * PER_BATCH + i, currency: 'usd' })));
      offset_ms += 100_000;
    }
    all_ids = batches
      .flat()
      .map((pi) => pi.id)
      .sort()
      .reverse();
  }, 60_000);

  it('auto-pagination sees all 250 intents once, newest first', async () => {
    const seen = await collect(stripe.paymentIntents.list({ limit: 100 }));
    const ids = seen.map((pi) => pi.id);
    expect(ids).toHaveLength(250);
    expect(new Set(ids).size).toBe(250);
    expect(strictlyDescending(ids)).toBe(true);
    expect(ids).toEqual(all_ids);
    // Newest first also in time: each batch came after the one before.
    const created = seen.map((pi) => pi.created);
    expect(created.every((c, i) => i === 0 || created[i - 1]! >= c)).toBe(true);
    expect(seen[0]?.created).toBeGreaterThan(seen[249]!.created);
    for (const pi of seen.slice(0, 3)) expect(stripeSchemaProblems('payment_intent', pi)).toEqual([]);
  });

  it('pages by hand with starting_after and has_more', async () => {
    const first = await stripe.paymentIntents.list({ limit: 100 });
    expect(first.object).toBe('list');
    expect(first.url).toBe('/v1/payment_intents');
    expect(first.has_more).toBe(true);
    const second = await stripe.paymentIntents.list({ limit: 100, starting_after: first.data[99]!.id });
    const third = await stripe.paymentIntents.list({ limit: 100, starting_after: second.data[99]!.id });
    expect(second.has_more).toBe(true);
    expect(third.has_more).toBe(false);
    expect(third.data).toHaveLength(50);
    expect([...first.data, ...second.data, ...third.data].map((pi) => pi.id)).toEqual(all_ids);
    const last = await stripe.paymentIntents.list({ limit: 10, starting_after: all_ids[249]! });
    expect(last.data).toEqual([]);
    expect(last.has_more).toBe(false);
    expect((await stripe.paymentIntents.list()).data).toHaveLength(10);
  });

  it('walks back towards newer objects with ending_before', async () => {
    const page = await stripe.paymentIntents.list({ limit: 100, ending_before: all_ids[150]! });
    // The 100 intents just newer than the cursor, still listed newest first.
    expect(page.data.map((pi) => pi.id)).toEqual(all_ids.slice(50, 150));
    expect(page.has_more).toBe(true);
    const newest = await stripe.paymentIntents.list({ limit: 100, ending_before: all_ids[50]! });
    expect(newest.data.map((pi) => pi.id)).toEqual(all_ids.slice(0, 50));
    expect(newest.has_more).toBe(false);

    const backwards = await collect(stripe.paymentIntents.list({ limit: 30, ending_before: all_ids[200]! }));
    expect(backwards.map((pi) => pi.id)).toEqual(all_ids.slice(0, 200).reverse());
  });

  it('refuses a cursor that names no object of the merchant, and both cursors at once', async () => {
    for (const param of ['starting_after', 'ending_before'] as const) {
      const unknown = await rejection(stripe.paymentIntents.list({ limit: 10, [param]: 'pi_zzzzunknown' }));
      expect(unknown).toMatchObject({ statusCode: 404, code: 'resource_missing', param });
      expect(unknown.message).toContain('pi_zzzzunknown');
      // Another merchant's intent is no cursor either.
      const foreign = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd' });
      expect(await rejection(stripe.paymentIntents.list({ [param]: foreign.id }))).toMatchObject({ statusCode: 404, param });
    }
    const both = await rejection(stripe.paymentIntents.list({ starting_after: all_ids[10]!, ending_before: all_ids[20]! }));
    expect(both).toMatchObject({ statusCode: 400, code: 'parameters_exclusive', param: 'ending_before' });
    expect(await rejection(t.stripe.customers.list({ starting_after: 'cus_missing' }))).toMatchObject({ statusCode: 404, param: 'starting_after' });
  });

  it('filters on created', async () => {
    const created_of = (b: number) => batches[b]!.map((pi) => pi.created);
    const start_of = (b: number) => Math.min(...created_of(b));
    expect(Math.max(...created_of(1))).toBeLessThan(start_of(2));

    const from_third = await collect(stripe.paymentIntents.list({ limit: 100, created: { gte: start_of(2) } }));
    expect(new Set(from_third.map((pi) => pi.id))).toEqual(
      new Set(
        batches
          .slice(2)
          .flat()
          .map((pi) => pi.id),
      ),
    );
    expect(from_third.every((pi) => pi.created >= start_of(2))).toBe(true);

    const third_only = await collect(stripe.paymentIntents.list({ limit: 100, created: { gte: start_of(2), lt: start_of(3) } }));
    expect(third_only.map((pi) => pi.id).sort()).toEqual(batches[2]!.map((pi) => pi.id).sort());

    const before_second = await collect(stripe.paymentIntents.list({ limit: 100, created: { lte: start_of(1) - 1 } }));
    expect(before_second.map((pi) => pi.id).sort()).toEqual(batches[0]!.map((pi) => pi.id).sort());
    expect((await stripe.paymentIntents.list({ created: { gt: Math.max(...created_of(4)) } })).data).toEqual([]);
    const exact = await stripe.paymentIntents.list({ limit: 100, created: batches[0]![0]!.created });
    expect(exact.data.length).toBeGreaterThan(0);
    expect(exact.data.every((pi) => pi.created === batches[0]![0]!.created)).toBe(true);
  });

  it.each([0, 101, -1])('rejects limit=%s', async (limit) => {
    const error = await rejection(stripe.paymentIntents.list({ limit }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error.statusCode).toBe(400);
    expect(error.param).toBe('limit');
  });

  it('filters on customer', async () => {
    const customer = await stripe.customers.create({ email: 'pager@example.com' });
    const mine = await pooled(12, 4, () => stripe.paymentIntents.create({ amount: 700, currency: 'usd', customer: customer.id }));
    const listed = await collect(stripe.paymentIntents.list({ customer: customer.id, limit: 5 }));
    expect(listed.map((pi) => pi.id)).toEqual(
      mine
        .map((pi) => pi.id)
        .sort()
        .reverse(),
    );
    expect(listed.every((pi) => pi.customer === customer.id)).toBe(true);
    const nobody = await stripe.customers.create({});
    expect((await stripe.paymentIntents.list({ customer: nobody.id })).data).toEqual([]);
  });

  it("lists only the calling merchant's intents", async () => {
    const mine = await collect(t.stripe.paymentIntents.list({ limit: 100 }));
    expect(mine.some((pi) => all_ids.includes(pi.id))).toBe(false);
  });
});

/** Events about one intent (its own and its charges'), oldest first. */
async function eventsFor(intent_id: string): Promise<Stripe.Event[]> {
  const events = await collect(t.stripe.events.list({ limit: 100 }));
  const related = events.filter((event) => {
    const object = event.data.object as { id?: string; payment_intent?: string };
    return object.id === intent_id || object.payment_intent === intent_id;
  });
  return related.reverse();
}

describe('events', () => {
  it('records payment_intent.created, charge.succeeded and payment_intent.succeeded with the request', async () => {
    const key = `evt-test-${Date.now()}`;
    const intent = await t.stripe.paymentIntents.create(
      { amount: 2100, currency: 'usd', payment_method: 'pm_card_visa', confirm: true },
      { idempotencyKey: key },
    );
    const events = await eventsFor(intent.id);
    expect(events.map((e) => e.type)).toEqual(['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded']);
    const [created, charged, succeeded] = events as [Stripe.Event, Stripe.Event, Stripe.Event];
    expect((created.data.object as Stripe.PaymentIntent).id).toBe(intent.id);
    expect((created.data.object as Stripe.PaymentIntent).status).toBe('requires_confirmation');
    expect((charged.data.object as Stripe.Charge).id).toBe(intent.latest_charge);
    expect(succeeded.data.object as Stripe.PaymentIntent).toMatchObject({ id: intent.id, status: 'succeeded', amount_received: 2100 });
    for (const event of events) {
      expect(event.request?.idempotency_key).toBe(key);
      expect(event.request?.id).toMatch(/^req_/);
      expect(event.api_version).toBe('2023-08-16');
      expect(event.livemode).toBe(false);
      expect(event.id).toMatch(/^evt_/);
      expect(stripeSchemaProblems('event', event)).toEqual([]);
    }
    expect(new Set(events.map((e) => e.request?.id)).size).toBe(1);

    // A replay of the same request answers from the stored response and records nothing new.
    const replay = await t.stripe.paymentIntents.create(
      { amount: 2100, currency: 'usd', payment_method: 'pm_card_visa', confirm: true },
      { idempotencyKey: key },
    );
    expect(replay.id).toBe(intent.id);
    expect((await eventsFor(intent.id)).map((e) => e.id)).toEqual(events.map((e) => e.id));

    const without_key = await t.stripe.paymentIntents.create({ amount: 2100, currency: 'usd' });
    const [plain] = await eventsFor(without_key.id);
    expect(plain?.request?.idempotency_key).toBeNull();
  });

  it('records charge.failed and payment_intent.payment_failed for a decline', async () => {
    const error = await rejection(
      t.stripe.paymentIntents.create({ amount: 2200, currency: 'usd', payment_method: 'pm_card_visa_chargeDeclinedInsufficientFunds', confirm: true }),
    );
    const intent_id = String(error.payment_intent?.id);
    const events = await eventsFor(intent_id);
    expect(events.map((e) => e.type)).toEqual(['payment_intent.created', 'charge.failed', 'payment_intent.payment_failed']);
    const failed_charge = events[1]!.data.object as Stripe.Charge;
    expect(failed_charge).toMatchObject({ status: 'failed', failure_code: 'card_declined' });
    const failed_intent = events[2]!.data.object as Stripe.PaymentIntent;
    expect(failed_intent.status).toBe('requires_payment_method');
    expect(failed_intent.last_payment_error).toMatchObject({ code: 'card_declined', decline_code: 'insufficient_funds', charge: failed_charge.id });
    for (const event of events) expect(stripeSchemaProblems('event', event)).toEqual([]);
  });

  it('records amount_capturable_updated, then charge.captured on manual capture', async () => {
    const held = await t.stripe.paymentIntents.create({
      amount: 2300,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      capture_method: 'manual',
    });
    await t.stripe.paymentIntents.capture(held.id, { amount_to_capture: 2000 });
    const events = await eventsFor(held.id);
    expect(events.map((e) => e.type)).toEqual([
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.amount_capturable_updated',
      'charge.captured',
      'payment_intent.succeeded',
    ]);
    const capturable = events[2]!;
    expect(capturable.data.object as Stripe.PaymentIntent).toMatchObject({ status: 'requires_capture', amount_capturable: 2300 });
    const captured = events[3]!;
    expect(captured.data.object as Stripe.Charge).toMatchObject({ id: held.latest_charge, captured: true, amount_captured: 2000 });
    expect(captured.data.previous_attributes).toMatchObject({ captured: false });
    expect((events[4]!.data.object as Stripe.PaymentIntent).amount_received).toBe(2000);
    expect(captured.request?.id).not.toBe(capturable.request?.id);
    for (const event of events) expect(stripeSchemaProblems('event', event)).toEqual([]);
  });

  it('records refund.created and charge.refunded', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 2400, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    const refund = await t.stripe.refunds.create({ payment_intent: intent.id, amount: 400 });
    const events = await eventsFor(intent.id);
    expect(events.map((e) => e.type)).toEqual(['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded', 'refund.created', 'charge.refunded']);
    expect(events[3]!.data.object as Stripe.Refund).toMatchObject({ id: refund.id, amount: 400, charge: intent.latest_charge });
    const refunded = events[4]!;
    expect(refunded.data.object as Stripe.Charge).toMatchObject({ id: intent.latest_charge, amount_refunded: 400, refunded: false });
    expect(refunded.data.previous_attributes).toMatchObject({ amount_refunded: 0 });
    for (const event of events) expect(stripeSchemaProblems('event', event)).toEqual([]);
  });

  it('retrieves an event by id and filters the list by type', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 2500, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    await t.stripe.refunds.create({ payment_intent: intent.id });
    const events = await eventsFor(intent.id);
    const refunded = events.find((e) => e.type === 'charge.refunded')!;
    expect(await t.stripe.events.retrieve(refunded.id)).toEqual(refunded);
    expect(refunded.data.object.refunded).toBe(true);
    expect(refunded.data.previous_attributes).toMatchObject({ refunded: false });

    const of_type = await collect(t.stripe.events.list({ type: 'charge.refunded', limit: 100 }));
    expect(of_type.length).toBeGreaterThan(0);
    expect(of_type.every((e) => e.type === 'charge.refunded')).toBe(true);
    expect(of_type.map((e) => e.id)).toContain(refunded.id);
    expect(strictlyDescending(of_type.map((e) => e.id))).toBe(true);

    const charge_events = await collect(t.stripe.events.list({ type: 'charge.*', limit: 100 }));
    expect(charge_events.every((e) => e.type.startsWith('charge.'))).toBe(true);
    expect(new Set(charge_events.map((e) => e.type))).toEqual(new Set(['charge.succeeded', 'charge.failed', 'charge.captured', 'charge.refunded']));

    expect((await t.stripe.events.list({ type: 'no.such_type' })).data).toEqual([]);
    // The wildcard is only a trailing `.*`: SQL pattern characters in the prefix match nothing.
    expect((await t.stripe.events.list({ type: '%.*' })).data).toEqual([]);
    expect((await t.stripe.events.list({ type: 'charge_*' })).data).toEqual([]);
    const missing = await rejection(t.stripe.events.retrieve('evt_doesNotExist'));
    expect(missing.statusCode).toBe(404);
    expect(missing.code).toBe('resource_missing');
    const other = await t.newMerchant();
    expect((await rejection(other.stripe.events.retrieve(refunded.id))).statusCode).toBe(404);
  });
});
