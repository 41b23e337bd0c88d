import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';

/**
 * Stripe's test clocks through the official SDK: shapes, advancing (answered `advancing`, `ready` once
 * its billing work ran, as in Stripe), deleting, events, and bad input. Billing on a clock:
 * test/e2e/billing-test-clocks.test.ts.
 */

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t?.stop();
});

const FROZEN = 1_700_000_000;
const DAY_S = 86_400;

async function stripeError(call: Promise<unknown>): Promise<{ statusCode?: number; code?: string; param?: string; type?: string }> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeDefined();
  return error as { statusCode?: number; code?: string; param?: string; type?: string };
}

/** Polls the clock as the SDK's users do until its advance is done (bounded). */
async function readyClock(id: string): Promise<Stripe.TestHelpers.TestClock> {
  for (let poll = 0; poll < 200; poll++) {
    const clock = await t.stripe.testHelpers.testClocks.retrieve(id);
    if (clock.status !== 'advancing') return clock;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`test clock ${id} still advancing`);
}

describe('/v1/test_helpers/test_clocks', () => {
  let clock: Stripe.TestHelpers.TestClock;

  it('creates a clock that matches Stripe’s test_clock schema, and retrieves and lists it', async () => {
    clock = await t.stripe.testHelpers.testClocks.create({ frozen_time: FROZEN, name: 'Month of renewals' });
    expect(stripeSchemaProblems('test_helpers.test_clock', clock)).toEqual([]);
    expect(clock).toMatchObject({ object: 'test_helpers.test_clock', frozen_time: FROZEN, name: 'Month of renewals', status: 'ready', livemode: false });
    expect(clock.id).toMatch(/^clock_/);
    expect(clock.deletes_after - clock.created).toBe(30 * DAY_S);
    expect(await t.stripe.testHelpers.testClocks.retrieve(clock.id)).toEqual(clock);
    const unnamed = await t.stripe.testHelpers.testClocks.create({ frozen_time: FROZEN });
    expect(unnamed.name).toBeNull();
    const list = await t.stripe.testHelpers.testClocks.list({ limit: 1 });
    expect(list.data.map((c) => c.id)).toEqual([unnamed.id]);
    expect(list.has_more).toBe(true);
    const next = await t.stripe.testHelpers.testClocks.list({ limit: 1, starting_after: unnamed.id });
    expect(next.data.map((c) => c.id)).toEqual([clock.id]);
  });

  it('advances only forward, at most two years at once, answering `advancing` until its work is done', async () => {
    const advanced = await t.stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: FROZEN + 30 * DAY_S });
    expect(stripeSchemaProblems('test_helpers.test_clock', advanced)).toEqual([]);
    expect(advanced).toMatchObject({ id: clock.id, frozen_time: FROZEN + 30 * DAY_S, status: 'advancing' });
    expect(await readyClock(clock.id)).toMatchObject({ frozen_time: FROZEN + 30 * DAY_S, status: 'ready' });
    for (const frozen_time of [FROZEN + 30 * DAY_S, FROZEN, FROZEN + 30 * DAY_S + 3 * 365 * DAY_S]) {
      const error = await stripeError(t.stripe.testHelpers.testClocks.advance(clock.id, { frozen_time }));
      expect(error).toMatchObject({ statusCode: 400, type: 'StripeInvalidRequestError', code: 'parameter_invalid', param: 'frozen_time' });
    }
    expect((await t.stripe.testHelpers.testClocks.retrieve(clock.id)).frozen_time).toBe(FROZEN + 30 * DAY_S);
  });

  it('refuses bad input with Stripe’s errors and stores nothing', async () => {
    const before = (await t.stripe.testHelpers.testClocks.list({ limit: 100 })).data.length;
    const cases: [Promise<unknown>, { code: string; param?: string; statusCode: number }][] = [
      [
        t.stripe.testHelpers.testClocks.create({} as Stripe.TestHelpers.TestClockCreateParams),
        { statusCode: 400, code: 'parameter_missing', param: 'frozen_time' },
      ],
      [
        t.stripe.testHelpers.testClocks.create({ frozen_time: 'soon' as unknown as number }),
        { statusCode: 400, code: 'parameter_invalid_integer', param: 'frozen_time' },
      ],
      [t.stripe.testHelpers.testClocks.create({ frozen_time: -1 }), { statusCode: 400, code: 'parameter_invalid_integer', param: 'frozen_time' }],
      [t.stripe.testHelpers.testClocks.create({ frozen_time: FROZEN, name: 'x'.repeat(301) }), { statusCode: 400, code: 'parameter_invalid', param: 'name' }],
      [
        t.stripe.testHelpers.testClocks.create({ frozen_time: FROZEN, customer: 'cus_1' } as Stripe.TestHelpers.TestClockCreateParams),
        { statusCode: 400, code: 'parameter_unknown', param: 'customer' },
      ],
      [t.stripe.testHelpers.testClocks.retrieve('clock_missing'), { statusCode: 404, code: 'resource_missing', param: 'test_clock' }],
      [t.stripe.testHelpers.testClocks.advance('clock_missing', { frozen_time: FROZEN }), { statusCode: 404, code: 'resource_missing', param: 'test_clock' }],
    ];
    // Every call is already in flight: each gets its handler now, or one that fails before the loop
    // reaches it is an unhandled rejection.
    const errors = await Promise.all(cases.map(([call]) => stripeError(call)));
    cases.forEach(([, expected], i) => expect(errors[i]).toMatchObject(expected));
    expect((await t.stripe.testHelpers.testClocks.list({ limit: 100 })).data.length).toBe(before);
  });

  it('deletes a clock, after which it is gone', async () => {
    const deleted = await t.stripe.testHelpers.testClocks.del(clock.id);
    expect(stripeSchemaProblems('deleted_test_helpers.test_clock', deleted)).toEqual([]);
    expect(deleted).toEqual({ id: clock.id, object: 'test_helpers.test_clock', deleted: true });
    expect(await stripeError(t.stripe.testHelpers.testClocks.retrieve(clock.id))).toMatchObject({ statusCode: 404, code: 'resource_missing' });
    expect(await stripeError(t.stripe.testHelpers.testClocks.del(clock.id))).toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });

  it('emits Stripe’s test clock events', async () => {
    const types = async (type: string) =>
      (await t.stripe.events.list({ type, limit: 100 })).data.filter((e) => (e.data.object as { id: string }).id === clock.id);
    for (const type of ['created', 'advancing', 'ready', 'deleted']) expect(await types(`test_helpers.test_clock.${type}`)).toHaveLength(1);
  });
});
