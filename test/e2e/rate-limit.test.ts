import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';

const clock = new ManualClock(Date.now());
let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform({ rate_limit_per_s: 2, rate_limit_burst: 3 }, { clock });
});
afterAll(async () => {
  await t?.stop();
});

describe('per-merchant rate limits', () => {
  it('allow the burst, answer 429 past it, refill with time, and leave other merchants alone', async () => {
    for (let i = 0; i < 3; i++) await t.stripe.customers.list({ limit: 1 });
    const limited = await t.stripe.customers.list({ limit: 1 }).catch((error: unknown) => error);
    expect(limited).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect((limited as Stripe.errors.StripeError).statusCode).toBe(429);
    expect((limited as Stripe.errors.StripeError).code).toBe('rate_limit');

    const other = await t.newMerchant();
    await expect(other.stripe.customers.list({ limit: 1 })).resolves.toMatchObject({ object: 'list' });

    clock.advance(1_000); // two tokens at 2 per second
    await t.stripe.customers.list({ limit: 1 });
    await t.stripe.customers.list({ limit: 1 });
    await expect(t.stripe.customers.list({ limit: 1 })).rejects.toBeInstanceOf(Stripe.errors.StripeRateLimitError);
  });

  it('a platform acting as its connected accounts spends its own limit, not theirs', async () => {
    clock.advance(10_000);
    const platform_id = (await t.stripe.accounts.retrieve()).id;
    const connected = ['acct_rateLimitDriverA', 'acct_rateLimitDriverB'];
    for (const id of connected)
      await t.owner.query('INSERT INTO merchants.merchants (id, name, created, platform_id) VALUES ($1, $2, $3, $4)', [id, 'Driver', 0, platform_id]);
    clock.advance(10_000);
    const acting = (account: string) => t.stripe.customers.list({ limit: 1 }, { stripeAccount: account });
    for (let i = 0; i < 3; i++) await acting(connected[i % 2]!);
    await expect(acting(connected[1]!)).rejects.toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    await expect(t.stripe.customers.list({ limit: 1 })).rejects.toBeInstanceOf(Stripe.errors.StripeRateLimitError);
  });

  it('a rate-limited POST leaves no trace under its Idempotency-Key', async () => {
    clock.advance(10_000);
    for (let i = 0; i < 3; i++) await t.stripe.customers.list({ limit: 1 });
    await expect(t.stripe.customers.create({ email: 'limited@example.com' }, { idempotencyKey: 'rl-1' })).rejects.toBeInstanceOf(
      Stripe.errors.StripeRateLimitError,
    );
    clock.advance(10_000);
    const created = await t.stripe.customers.create({ email: 'limited@example.com' }, { idempotencyKey: 'rl-1' });
    expect(created.email).toBe('limited@example.com');
  });
});
