import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import type { TestPlatform } from '../support/platform.js';
import { TEST_SECRET_KEY, startTestPlatform, stripeClient } from '../support/platform.js';
import { rejection } from '../support/stripe-errors.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';
import { availableAfterCharges, bankAccount, ledgerCaughtUp, payoutSettled } from '../support/payouts.js';

/**
 * Stripe Connect's connected accounts (issue 19): /v1/accounts through the official SDK, the
 * Stripe-Account header (stripe-node's `stripeAccount`), and isolation: a platform reaches only its
 * own connected accounts, and a connected account's objects are seen only when acting as it.
 */

const clock = new ManualClock(Date.UTC(2026, 0, 5, 12) /* a Monday */);
let t: TestPlatform;
let rival: { secret_key: string; stripe: Stripe };

beforeAll(async () => {
  t = await startTestPlatform({}, { clock });
  rival = await t.newMerchant();
}, 120_000);
afterAll(async () => {
  await t?.stop();
});

/** The platform's key acting as `account` on every call (Stripe-Account). */
function actingAs(account: string, secret_key = TEST_SECRET_KEY): Stripe {
  return stripeClient(t.url, secret_key, account);
}

async function connectedIds(stripe: Stripe = t.stripe): Promise<string[]> {
  const ids: string[] = [];
  for await (const account of stripe.accounts.list({ limit: 100 })) ids.push(account.id);
  return ids;
}

describe('/v1/accounts', () => {
  it('creates, retrieves, updates, lists and deletes connected accounts in Stripe’s shape', async () => {
    const created = await t.stripe.accounts.create({
      type: 'custom',
      country: 'DE',
      email: 'driver@example.com',
      business_type: 'individual',
      capabilities: { card_payments: { requested: true }, transfers: { requested: true } },
      metadata: { driver: 'd-1' },
    });
    expect(stripeSchemaProblems('account', created)).toEqual([]);
    expect(created).toMatchObject({
      object: 'account',
      type: 'custom',
      country: 'DE',
      default_currency: 'eur',
      email: 'driver@example.com',
      business_type: 'individual',
      capabilities: { card_payments: 'active', transfers: 'active' },
      charges_enabled: true,
      payouts_enabled: true,
      metadata: { driver: 'd-1' },
      controller: { is_controller: true, type: 'application' },
    });
    expect(created.external_accounts?.data).toEqual([]);
    expect(created.settings?.payouts?.schedule).toEqual({ interval: 'daily', delay_days: 2 });

    const retrieved = await t.stripe.accounts.retrieve(created.id);
    expect(retrieved).toEqual(created);
    // GET /v1/account acting as the connected account is that account.
    expect((await actingAs(created.id).accounts.retrieve()).id).toBe(created.id);

    const updated = await t.stripe.accounts.update(created.id, {
      email: 'driver2@example.com',
      default_currency: 'usd',
      metadata: { driver: null, city: 'Berlin' } as unknown as Stripe.MetadataParam,
      settings: { payouts: { schedule: { interval: 'weekly', weekly_anchor: 'friday' } } },
    });
    expect(updated).toMatchObject({ email: 'driver2@example.com', default_currency: 'usd', metadata: { city: 'Berlin' } });
    expect(updated.settings?.payouts?.schedule).toEqual({ interval: 'weekly', delay_days: 2, weekly_anchor: 'friday' });
    expect(await t.stripe.accounts.retrieve(created.id)).toEqual(updated);
    // The change is the connected account's event, with what it was before.
    const events = await actingAs(created.id).events.list({ type: 'account.updated' });
    expect(events.data[0]?.data.previous_attributes).toMatchObject({ email: 'driver@example.com', default_currency: 'eur' });
    expect((await t.stripe.events.list({ type: 'account.updated' })).data.map((e) => e.id)).not.toContain(events.data[0]?.id);

    const standard = await t.stripe.accounts.create({ type: 'standard', email: 'shop@example.com' });
    expect(standard).toMatchObject({ country: 'US', default_currency: 'usd', capabilities: { card_payments: 'active', transfers: 'active' } });
    const ids = await connectedIds();
    expect(ids.slice(0, 2)).toEqual([standard.id, created.id]);
    const first = await t.stripe.accounts.list({ limit: 1 });
    expect(stripeSchemaProblems('account', first.data[0])).toEqual([]);
    expect(first).toMatchObject({ has_more: true, url: '/v1/accounts' });
    expect((await t.stripe.accounts.list({ limit: 1, starting_after: first.data[0]!.id })).data[0]?.id).toBe(created.id);

    const deleted = await t.stripe.accounts.del(standard.id);
    expect(deleted).toEqual({ id: standard.id, object: 'account', deleted: true });
    expect(stripeSchemaProblems('deleted_account', deleted)).toEqual([]);
    expect(await connectedIds()).not.toContain(standard.id);
    expect(await rejection(t.stripe.accounts.retrieve(standard.id))).toMatchObject({ statusCode: 403, code: 'account_invalid' });
    expect(await rejection(actingAs(standard.id).customers.list())).toMatchObject({ statusCode: 403, code: 'account_invalid' });
  });

  it('replays a create under the same Idempotency-Key: one account', async () => {
    const before = await connectedIds();
    const key = `create-account-${Date.now()}`;
    const one = await t.stripe.accounts.create({ type: 'express', capabilities: { transfers: { requested: true } } }, { idempotencyKey: key });
    const two = await t.stripe.accounts.create({ type: 'express', capabilities: { transfers: { requested: true } } }, { idempotencyKey: key });
    expect(two.id).toBe(one.id);
    expect((await connectedIds()).length).toBe(before.length + 1);
  });

  it('refuses bad input with Stripe’s errors, storing nothing', async () => {
    const before = await connectedIds();
    const create = (params: Record<string, unknown>) => rejection(t.stripe.accounts.create(params));
    expect(await create({ type: 'custom', business_profile: { name: 'Shop' } })).toMatchObject({ code: 'parameter_unknown', param: 'business_profile' });
    expect(await create({ type: 'platinum' })).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'type' });
    expect(await create({ email: 'x@example.com' })).toMatchObject({ code: 'parameter_missing', param: 'type' });
    expect(await create({ type: 'custom', country: 'ZZ', capabilities: { transfers: { requested: true } } })).toMatchObject({
      code: 'parameter_invalid',
      param: 'country',
    });
    expect(await create({ type: 'custom' })).toMatchObject({ code: 'parameter_invalid', param: 'capabilities[transfers][requested]' });
    expect(await create({ type: 'custom', capabilities: { sepa_debit_payments: { requested: true } } })).toMatchObject({
      code: 'parameter_unknown',
      param: 'capabilities[sepa_debit_payments]',
    });
    expect(await create({ type: 'standard', email: 'not-an-email' })).toMatchObject({ code: 'parameter_invalid', param: 'email' });
    expect(await create({ type: 'standard', default_currency: 'xyz' })).toMatchObject({ code: 'currency_invalid', param: 'default_currency' });
    expect(await create({ type: 'standard', settings: { payouts: { schedule: { interval: 'weekly' } } } })).toMatchObject({
      code: 'parameter_unknown',
      param: 'settings[payouts][schedule]',
    });
    expect(await connectedIds()).toEqual(before);
  });
});

describe('isolation', () => {
  let account: Stripe.Account;
  beforeAll(async () => {
    account = await t.stripe.accounts.create({ type: 'custom', capabilities: { card_payments: { requested: true }, transfers: { requested: true } } });
  });

  it('another platform can neither see nor act on the account, by path or header', async () => {
    expect(await connectedIds(rival.stripe)).not.toContain(account.id);
    // Thunks, called one at a time: each refusal is awaited as it happens.
    const denied = [
      () => rival.stripe.accounts.retrieve(account.id),
      () => rival.stripe.accounts.update(account.id, { email: 'taken@example.com' }),
      () => rival.stripe.accounts.del(account.id),
      () => rival.stripe.accounts.listExternalAccounts(account.id),
      () => actingAs(account.id, rival.secret_key).customers.list(),
      () => actingAs(account.id, rival.secret_key).accounts.retrieve(),
    ];
    for (const call of denied) {
      const error = await rejection(call());
      expect(error).toMatchObject({ statusCode: 403, type: 'StripePermissionError', code: 'account_invalid' });
      expect(error.message).toContain(account.id);
      expect(error.message).not.toContain(rival.secret_key);
    }
    expect((await t.stripe.accounts.retrieve(account.id)).email).toBeNull();
  });

  it('the account’s objects are seen only acting as it; the platform’s only without', async () => {
    const as_account = actingAs(account.id);
    const customer = await as_account.customers.create({ email: 'rider@example.com' });
    const intent = await as_account.paymentIntents.create({ amount: 2_000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    expect(intent.status).toBe('succeeded');
    expect((await as_account.customers.retrieve(customer.id)).id).toBe(customer.id);
    expect(await rejection(t.stripe.customers.retrieve(customer.id))).toMatchObject({ statusCode: 404, code: 'resource_missing' });
    expect(await rejection(t.stripe.paymentIntents.retrieve(intent.id))).toMatchObject({ statusCode: 404, code: 'resource_missing' });
    expect((await t.stripe.customers.list({ limit: 100 })).data.map((c) => c.id)).not.toContain(customer.id);
    const platform_customer = await t.stripe.customers.create({ email: 'platform@example.com' });
    expect(await rejection(as_account.customers.retrieve(platform_customer.id))).toMatchObject({ statusCode: 404 });
    // The rows are the connected account's: its merchant id, not the platform's.
    const owner = await t.owner.query<{ merchant_id: string }>('SELECT merchant_id FROM payments.customers WHERE id = $1', [customer.id]);
    expect(owner.rows[0]?.merchant_id).toBe(account.id);
  });

  it('a connected account cannot create accounts; an unknown account in the header is refused', async () => {
    expect(await rejection(actingAs(account.id).accounts.create({ type: 'standard' }))).toMatchObject({ statusCode: 403, code: 'permission_denied' });
    const unknown = await rejection(actingAs('acct_1NoSuchAccount00000').customers.list());
    expect(unknown).toMatchObject({ statusCode: 403, code: 'account_invalid' });
    expect(unknown.message).toBe(
      "The provided key 'sk_test_***' does not have access to account 'acct_1NoSuchAccount00000' (or that account does not exist). Application access may have been revoked.",
    );
  });

  it('an account deleted while another process still trusts its cached access is Stripe’s 403, never a 500', async () => {
    const gone = await t.stripe.accounts.create({ type: 'standard' });
    expect((await actingAs(gone.id).accounts.retrieve()).id).toBe(gone.id);
    // As another process's delete: this process's access cache still says yes for a few seconds.
    await t.owner.query('UPDATE merchants.merchants SET deleted_at = 1 WHERE id = $1', [gone.id]);
    expect(await rejection(actingAs(gone.id).accounts.retrieve())).toMatchObject({ statusCode: 403, code: 'account_invalid' });
    expect(await rejection(actingAs(gone.id).accounts.update(gone.id, { email: 'late@example.com' }))).toMatchObject({ statusCode: 403 });
  });

  it('refuses to delete an account whose balance is not zero', async () => {
    await ledgerCaughtUp(t);
    const balance = await actingAs(account.id).balance.retrieve();
    expect(balance.pending.find((b) => b.currency === 'usd')?.amount).toBeGreaterThan(0);
    expect(await rejection(t.stripe.accounts.del(account.id))).toMatchObject({ statusCode: 400, code: 'account_has_balance' });
    expect((await t.stripe.accounts.retrieve(account.id)).id).toBe(account.id);
    // The platform's own account is not deleted through the API.
    const own = await t.stripe.accounts.retrieve();
    expect(await rejection(t.stripe.accounts.del(own.id))).toMatchObject({ statusCode: 403, code: 'account_invalid' });
  });
});

describe('bank accounts and payouts of a connected account', () => {
  it('the platform adds its bank account by path and pays it out through the payout machinery', async () => {
    const driver = await t.stripe.accounts.create({ type: 'express', capabilities: { transfers: { requested: true }, card_payments: { requested: true } } });
    const as_driver = actingAs(driver.id);
    // Manual: the scheduled run (every 5 s on the moving clock) must not pay the funds out first.
    await t.stripe.accounts.update(driver.id, { settings: { payouts: { schedule: { interval: 'manual' } } } });
    const bank = await bankAccount(t.stripe, driver.id, '000123456789');
    expect((await as_driver.accounts.listExternalAccounts(driver.id)).data.map((b) => b.id)).toEqual([bank.id]);
    const own = await t.stripe.accounts.retrieve();
    expect((await t.stripe.accounts.listExternalAccounts(own.id)).data.map((b) => b.id)).not.toContain(bank.id);
    expect((await t.stripe.accounts.retrieve(driver.id)).external_accounts?.data.map((b) => b.id)).toEqual([bank.id]);

    const platform_before = await t.stripe.balance.retrieve();
    const available = await availableAfterCharges(t, clock, as_driver, 2, 5_000);
    expect(available).toBeGreaterThan(0);
    const payout = await as_driver.payouts.create({ amount: available, currency: 'usd', destination: bank.id });
    expect((await payoutSettled(as_driver, payout.id)).status).toBe('paid');
    expect((await as_driver.balance.retrieve()).available.find((b) => b.currency === 'usd')?.amount).toBe(0);
    expect(await rejection(t.stripe.payouts.retrieve(payout.id))).toMatchObject({ statusCode: 404 });
    expect((await t.stripe.balance.retrieve()).available).toEqual(platform_before.available);
  });

  it('a driver who earned in several rides is paid once per schedule, by the scheduled run', async () => {
    const driver = await t.stripe.accounts.create({ type: 'express', capabilities: { transfers: { requested: true }, card_payments: { requested: true } } });
    const as_driver = actingAs(driver.id);
    await t.stripe.accounts.update(driver.id, { settings: { payouts: { schedule: { interval: 'daily' } } } });
    const bank = await bankAccount(t.stripe, driver.id, '000123456789');
    for (const fare of [1_250, 2_400, 990])
      await as_driver.paymentIntents.create({ amount: fare, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    await ledgerCaughtUp(t);
    clock.advance(3 * 86_400_000);
    const rides = (await as_driver.balanceTransactions.list({ limit: 100 })).data.filter((b) => b.type === 'charge');
    expect(rides).toHaveLength(3);
    await t.platform.payouts.runSchedule();
    await t.platform.payouts.runSchedule();
    const automatic = (await as_driver.payouts.list({ limit: 100 })).data.filter((p) => p.automatic);
    expect(automatic).toHaveLength(1);
    expect(automatic[0]).toMatchObject({ destination: bank.id, currency: 'usd', amount: rides.reduce((sum, b) => sum + b.net, 0) });
    expect((await t.stripe.payouts.list({ limit: 100 })).data.map((p) => p.id)).not.toContain(automatic[0]?.id);
  });
});
