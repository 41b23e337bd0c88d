import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import { ManualClock } from '../../src/kernel/clock.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform, stripeClient } from '../support/platform.js';
import { UlidGenerator } from '../../src/kernel/ids.js';
import { createApiKey } from '../../src/services/merchants/app/api-keys.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';
import { rejection } from '../support/stripe-errors.js';
import { TEST_ACCOUNT_NUMBERS, TEST_BANK_TOKENS } from '../../src/services/settlement/domain/bank-account.js';
import { availableAfterCharges, bankAccount, payoutSettled, waitFor } from '../support/payouts.js';

/**
 * Payouts through the official stripe SDK: bank accounts with Stripe's test numbers, each status
 * path with its events and balance transactions, the balance after each, and the bad input Stripe
 * refuses. The sandbox bank answers at once; the payout worker (1 s) takes each payout to it.
 */

const clock = new ManualClock(Date.UTC(2026, 0, 5, 12) /* a Monday */);
let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform({}, { clock });
});
afterAll(async () => {
  await t?.stop();
});

async function available(stripe: Stripe, currency = 'usd'): Promise<number> {
  const balance = await stripe.balance.retrieve();
  return balance.available.find((b) => b.currency === currency)?.amount ?? 0;
}

async function eventTypesFor(stripe: Stripe, payout_id: string): Promise<string[]> {
  const events = await stripe.events.list({ limit: 100 });
  return events.data
    .filter((e) => (e.data.object as { id?: string }).id === payout_id)
    .map((e) => e.type)
    .reverse();
}

describe('bank accounts as payout destinations', () => {
  it('adds a bank account with Stripe’s shape, keeps only last4, and makes the first one the default', async () => {
    const account = await t.stripe.accounts.retrieve();
    const created = await bankAccount(t.stripe, account.id, '000123456789');
    expect(stripeSchemaProblems('bank_account', created)).toEqual([]);
    expect(created).toMatchObject({
      object: 'bank_account',
      country: 'US',
      currency: 'usd',
      routing_number: '110000000',
      last4: '6789',
      default_for_currency: true,
      status: 'new',
    });
    expect(created.id).toMatch(/^ba_/);
    expect(JSON.stringify(created)).not.toContain('000123456789');
    const again = await bankAccount(t.stripe, account.id, '000123456789');
    expect(again.fingerprint).toBe(created.fingerprint);
    expect(again.default_for_currency).toBe(false);
    const listed = await t.stripe.accounts.listExternalAccounts(account.id, { object: 'bank_account' });
    expect(listed.data.map((a) => a.id)).toEqual([again.id, created.id]);
    const retrieved = await t.stripe.accounts.retrieveExternalAccount(account.id, created.id);
    expect(retrieved).toEqual(created);
    const events = await t.stripe.events.list({ type: 'account.external_account.created' });
    expect(events.data.map((e) => (e.data.object as { id: string }).id)).toEqual([again.id, created.id]);
  });

  it('takes Stripe’s test bank tokens, each standing for its test number', async () => {
    const { id } = await t.stripe.accounts.retrieve();
    for (const [token, number] of Object.entries(TEST_BANK_TOKENS)) {
      const created = (await t.stripe.accounts.createExternalAccount(id, { external_account: token })) as Stripe.BankAccount;
      expect(created).toMatchObject({ last4: number.slice(-4), routing_number: '110000000', country: 'US', currency: 'usd' });
      await t.stripe.accounts.deleteExternalAccount(id, created.id);
    }
    const unknown = await rejection(t.stripe.accounts.createExternalAccount(id, { external_account: 'btok_nonsense' }));
    expect(unknown).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'external_account' });
    const page = await t.stripe.accounts.listExternalAccounts(id, { limit: 1 });
    expect(page.data).toHaveLength(1);
    expect(page.has_more).toBe(true);
  });

  it('moves the default with default_for_currency, refuses deleting the default, deletes others', async () => {
    const account = await t.stripe.accounts.retrieve();
    const extra = await bankAccount(t.stripe, account.id, '000123456789');
    const made_default = await t.stripe.accounts.updateExternalAccount(account.id, extra.id, { default_for_currency: true });
    expect(made_default.default_for_currency).toBe(true);
    const defaults = (await t.stripe.accounts.listExternalAccounts(account.id)).data.filter((a) => (a as Stripe.BankAccount).default_for_currency);
    expect(defaults.map((a) => a.id)).toEqual([extra.id]);
    const refused = await rejection(t.stripe.accounts.deleteExternalAccount(account.id, extra.id));
    expect(refused).toMatchObject({ statusCode: 400, code: 'parameter_invalid' });
    const others = (await t.stripe.accounts.listExternalAccounts(account.id)).data.filter((a) => a.id !== extra.id);
    const deleted = await t.stripe.accounts.deleteExternalAccount(account.id, others[0]!.id);
    expect(deleted).toMatchObject({ id: others[0]!.id, deleted: true });
    expect(stripeSchemaProblems('deleted_bank_account', deleted)).toEqual([]);
    const gone = await t.stripe.events.list({ type: 'account.external_account.deleted', limit: 100 });
    expect(gone.data.filter((e) => (e.data.object as { id: string }).id === others[0]!.id)).toHaveLength(1);
    await t.stripe.accounts.updateExternalAccount(account.id, others[1]!.id, { default_for_currency: true });
  });

  it('refuses bad bank details with Stripe’s errors, storing nothing', async () => {
    const account = await t.stripe.accounts.retrieve();
    const before = (await t.stripe.accounts.listExternalAccounts(account.id)).data.length;
    const bad_routing = await rejection(bankAccount(t.stripe, account.id, '000123456789', { routing_number: '110000001' }));
    expect(bad_routing).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'external_account[routing_number]' });
    const bad_number = await rejection(bankAccount(t.stripe, account.id, '12ab'));
    expect(bad_number).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'external_account[account_number]' });
    expect(bad_number.message).not.toContain('12ab');
    // Bank details name the field at fault, as Stripe's do: a missing one, a country Payrail does not serve.
    const details = (fields: Record<string, string>) =>
      t.stripe.accounts.createExternalAccount(account.id, {
        external_account: { object: 'bank_account', country: 'US', currency: 'usd', routing_number: '110000000', ...fields },
      } as unknown as Stripe.ExternalAccountCreateParams);
    expect(await rejection(details({}))).toMatchObject({ statusCode: 400, code: 'parameter_missing', param: 'external_account[account_number]' });
    expect(await rejection(details({ account_number: '000123456789', country: 'DE' }))).toMatchObject({
      statusCode: 400,
      code: 'parameter_invalid',
      param: 'external_account[country]',
    });
    const other_account = await rejection(t.stripe.accounts.createExternalAccount('acct_someoneElse', { external_account: 'btok_us_verified' }));
    expect(other_account).toMatchObject({ statusCode: 403, code: 'account_invalid' });
    expect((await t.stripe.accounts.listExternalAccounts(account.id)).data.length).toBe(before);
  });
});

describe('the account and its payout schedule', () => {
  it('GET /v1/account is the merchant’s own account, valid against Stripe’s schema', async () => {
    const account = await t.stripe.accounts.retrieve();
    expect(stripeSchemaProblems('account', account)).toEqual([]);
    expect(account.id).toMatch(/^acct_/);
    expect(account.settings?.payouts?.schedule).toEqual({ interval: 'daily', delay_days: 2 });
  });

  it('changes the schedule, and refuses other settings and other accounts', async () => {
    const { id } = await t.stripe.accounts.retrieve();
    const weekly = await t.stripe.accounts.update(id, { settings: { payouts: { schedule: { interval: 'weekly', weekly_anchor: 'friday' } } } });
    expect(weekly.settings?.payouts?.schedule).toEqual({ interval: 'weekly', delay_days: 2, weekly_anchor: 'friday' });
    expect((await t.stripe.accounts.retrieve()).settings?.payouts?.schedule).toEqual(weekly.settings?.payouts?.schedule);
    const unsupported = await rejection(t.stripe.accounts.update(id, { business_profile: { name: 'Shop' } }));
    expect(unsupported).toMatchObject({ statusCode: 400, code: 'parameter_unknown', param: 'business_profile' });
    const foreign = await rejection(t.stripe.accounts.update('acct_someoneElse', { settings: { payouts: { schedule: { interval: 'daily' } } } }));
    expect(foreign).toMatchObject({ statusCode: 403, code: 'account_invalid' });
    await t.stripe.accounts.update(id, { settings: { payouts: { schedule: { interval: 'manual' } } } });
  });
});

describe('manual payouts', () => {
  let destination: Record<string, Stripe.BankAccount>;

  beforeAll(async () => {
    const { id } = await t.stripe.accounts.retrieve();
    destination = {};
    for (const number of Object.keys(TEST_ACCOUNT_NUMBERS)) destination[number] = await bankAccount(t.stripe, id, number);
    await availableAfterCharges(t, clock, t.stripe, 20, 10_000);
  });

  it('pays out: pending → in_transit → paid, with its events and a payout balance transaction', async () => {
    const before = await available(t.stripe);
    const payout = await t.stripe.payouts.create({ amount: 5_000, currency: 'usd', destination: destination['000123456789']!.id, metadata: { order: 'p1' } });
    expect(stripeSchemaProblems('payout', payout)).toEqual([]);
    expect(payout).toMatchObject({ object: 'payout', status: 'pending', amount: 5_000, automatic: false, type: 'bank_account', method: 'standard' });
    expect(await available(t.stripe)).toBe(before - 5_000);
    const paid = await payoutSettled(t.stripe, payout.id);
    expect(stripeSchemaProblems('payout', paid)).toEqual([]);
    expect(paid).toMatchObject({ status: 'paid', failure_code: null, failure_balance_transaction: null });
    expect(await available(t.stripe)).toBe(before - 5_000);
    const txn = await t.stripe.balanceTransactions.retrieve(payout.balance_transaction as string);
    expect(txn).toMatchObject({ type: 'payout', reporting_category: 'payout', amount: -5_000, net: -5_000, fee: 0, source: payout.id });
    await waitFor(async () => (await eventTypesFor(t.stripe, payout.id)).length >= 4);
    expect(await eventTypesFor(t.stripe, payout.id)).toEqual(['payout.created', 'payout.updated', 'payout.updated', 'payout.paid']);
  });

  it.each(Object.entries(TEST_ACCOUNT_NUMBERS).filter(([, outcome]) => outcome !== 'paid'))(
    'account %s fails with %s, and the funds come back with a payout_failure transaction',
    async (number, failure_code) => {
      const before = await available(t.stripe);
      const payout = await t.stripe.payouts.create({ amount: 1_000, currency: 'usd', destination: destination[number]!.id });
      const failed = await payoutSettled(t.stripe, payout.id);
      expect(stripeSchemaProblems('payout', failed)).toEqual([]);
      expect(failed).toMatchObject({ status: 'failed', failure_code });
      expect(failed.failure_message).toMatch(/\w/);
      expect(await available(t.stripe)).toBe(before);
      const back = await t.stripe.balanceTransactions.retrieve(failed.failure_balance_transaction as string);
      expect(back).toMatchObject({ type: 'payout_failure', reporting_category: 'payout_reversal', amount: 1_000, net: 1_000, source: payout.id });
      await waitFor(async () => (await eventTypesFor(t.stripe, payout.id)).includes('payout.failed'));
    },
  );

  it('cancels a pending payout: the funds come back with a payout_cancel transaction and payout.canceled', async () => {
    const before = await available(t.stripe);
    // The worker may take a payout to the bank before the cancel arrives: then Stripe's refusal, and another try.
    for (let attempt = 0; attempt < 10; attempt++) {
      const payout = await t.stripe.payouts.create({ amount: 700, currency: 'usd' });
      try {
        const canceled = await t.stripe.payouts.cancel(payout.id);
        expect(stripeSchemaProblems('payout', canceled)).toEqual([]);
        expect(canceled.status).toBe('canceled');
        expect(canceled.failure_balance_transaction).toMatch(/^txn_/);
        const back = await t.stripe.balanceTransactions.retrieve(canceled.failure_balance_transaction as string);
        expect(back).toMatchObject({ type: 'payout_cancel', amount: 700 });
        await waitFor(async () => (await eventTypesFor(t.stripe, payout.id)).includes('payout.canceled'));
        await payoutsQuiet(t.stripe);
        // Every payout tried before this one was paid; this one came back.
        const paid_before = (await t.stripe.payouts.list({ status: 'paid', limit: 100 })).data.filter(
          (p) => p.amount === 700 && p.created >= payout.created - 60,
        );
        expect(await available(t.stripe)).toBe(before - 700 * paid_before.length);
        return;
      } catch (error) {
        expect(error).toMatchObject({ code: 'parameter_invalid' });
        expect((error as Error).message).toContain('only pending payouts can be canceled');
      }
    }
    throw new Error('no payout stayed pending long enough to cancel');
  });

  it('refuses a payout above the available balance with balance_insufficient, storing nothing', async () => {
    await payoutsQuiet(t.stripe);
    const before = await available(t.stripe);
    const count = (await t.stripe.payouts.list({ limit: 100 })).data.length;
    const error = await rejection(t.stripe.payouts.create({ amount: before + 1, currency: 'usd' }));
    expect(error).toMatchObject({ statusCode: 400, type: 'StripeInvalidRequestError', code: 'balance_insufficient' });
    expect(await available(t.stripe)).toBe(before);
    expect((await t.stripe.payouts.list({ limit: 100 })).data.length).toBe(count);
  });

  it('two concurrent payouts whose sum exceeds the balance: exactly one is made', async () => {
    await payoutsQuiet(t.stripe);
    const before = await available(t.stripe);
    const amount = Math.floor(before * 0.6);
    const results = await Promise.allSettled([0, 1, 2, 3].map(() => t.stripe.payouts.create({ amount, currency: 'usd' })));
    const made = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(made).toHaveLength(1);
    for (const r of refused) expect(r.reason).toMatchObject({ code: 'balance_insufficient' });
    expect(await available(t.stripe)).toBe(before - amount);
  });

  it('refuses bad input with Stripe’s errors and stores nothing', async () => {
    const count = (await t.stripe.payouts.list({ limit: 100 })).data.length;
    const other = await t.newMerchant();
    const { id: other_id } = await other.stripe.accounts.retrieve();
    const foreign = await bankAccount(other.stripe, other_id, '000123456789');
    const cases: [Stripe.PayoutCreateParams, string, string | undefined][] = [
      [{ amount: 100, currency: 'eur' }, 'parameter_invalid', 'currency'],
      [{ amount: 100, currency: 'usd', destination: 'ba_missing' }, 'resource_missing', 'destination'],
      [{ amount: 100, currency: 'usd', destination: foreign.id }, 'resource_missing', 'destination'],
      [{ amount: 1.5, currency: 'usd' }, 'parameter_invalid_integer', 'amount'],
      [{ amount: -5, currency: 'usd' }, 'parameter_invalid_integer', 'amount'],
      [{ amount: 100, currency: 'usd', method: 'instant' }, 'parameter_invalid', 'method'],
      [{ amount: 100, currency: 'usd', statement_descriptor: 'x'.repeat(23) }, 'parameter_invalid', 'statement_descriptor'],
    ];
    for (const [params, code, param] of cases) {
      const error = await rejection(t.stripe.payouts.create(params));
      expect({ code: error.code, param: error.param, status: error.statusCode }).toEqual({ code, param, status: code === 'resource_missing' ? 404 : 400 });
    }
    expect((await t.stripe.payouts.list({ limit: 100 })).data.length).toBe(count);
  });

  it('lists with Stripe’s filters, updates metadata, and refuses a manual payout as a ?payout= filter', async () => {
    const paid = await t.stripe.payouts.list({ status: 'paid', limit: 100 });
    expect(paid.data.length).toBeGreaterThan(0);
    expect(paid.data.every((p) => p.status === 'paid')).toBe(true);
    const failed_dest = destination['000111111116']!.id;
    const to_failed = await t.stripe.payouts.list({ destination: failed_dest });
    expect(to_failed.data.map((p) => p.failure_code)).toEqual(['no_account']);
    const first = paid.data[0]!;
    expect((await t.stripe.payouts.list({ arrival_date: { gte: first.arrival_date, lte: first.arrival_date }, limit: 100 })).data.map((p) => p.id)).toContain(
      first.id,
    );
    expect((await t.stripe.payouts.list({ arrival_date: { gt: first.arrival_date } })).data).toEqual([]);
    const updated = await t.stripe.payouts.update(first.id, { metadata: { note: 'checked' } });
    expect(updated.metadata).toMatchObject({ note: 'checked' });
    const error = await rejection(t.stripe.balanceTransactions.list({ payout: first.id }));
    expect(error).toMatchObject({ statusCode: 400, param: 'payout' });
    const missing = await rejection(t.stripe.balanceTransactions.list({ payout: 'po_missing' }));
    expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'payout' });
  });

  it('a retried POST /v1/payouts with the same Idempotency-Key makes one payout and replays it', async () => {
    await payoutsQuiet(t.stripe);
    const before = await available(t.stripe);
    const first = await t.stripe.payouts.create({ amount: 321, currency: 'usd' }, { idempotencyKey: 'payout-retry-1' });
    const again = await t.stripe.payouts.create({ amount: 321, currency: 'usd' }, { idempotencyKey: 'payout-retry-1' });
    expect(again.id).toBe(first.id);
    expect(await available(t.stripe)).toBe(before - 321);
    expect((await t.stripe.payouts.list({ limit: 100 })).data.filter((p) => p.id === first.id)).toHaveLength(1);
  });
});

describe('restricted keys', () => {
  async function restricted(permissions: Record<string, 'read' | 'write'>): Promise<Stripe> {
    const { id } = await t.stripe.accounts.retrieve();
    const store = { pool: t.platform.database.pool, hasher: t.platform.key_hasher, ids: new UlidGenerator() };
    const key = await createApiKey(store, id, { kind: 'restricted', permissions }, { now_s: Math.floor(clock.now_ms() / 1000), actor: { type: 'cli' } });
    return stripeClient(t.url, key.key);
  }

  it('payouts=read lists payouts and may not create one; accounts=write is needed for bank accounts', async () => {
    const reader = await restricted({ payouts: 'read' });
    expect((await reader.payouts.list({ limit: 1 })).object).toBe('list');
    expect(await rejection(reader.payouts.create({ amount: 100, currency: 'usd' }))).toMatchObject({ statusCode: 403, code: 'permission_denied' });
    expect(await rejection(reader.accounts.retrieve())).toMatchObject({ statusCode: 403 });
    const { id } = await t.stripe.accounts.retrieve();
    const accounts_reader = await restricted({ accounts: 'read' });
    expect((await accounts_reader.accounts.retrieve()).id).toBe(id);
    expect(await rejection(accounts_reader.accounts.createExternalAccount(id, { external_account: 'btok_us_verified' }))).toMatchObject({ statusCode: 403 });
    const accounts_writer = await restricted({ accounts: 'write' });
    const created = await accounts_writer.accounts.createExternalAccount(id, { external_account: 'btok_us_verified' });
    expect(created).toMatchObject({ object: 'bank_account', last4: '6789', routing_number: '110000000' });
  });
});

describe('bank account numbers stay in the vault', () => {
  const numbers = Object.keys(TEST_ACCOUNT_NUMBERS);
  const leaks = (text: string): string[] =>
    numbers.flatMap((n) => [n, Buffer.from(n).toString('hex'), Buffer.from(n).toString('base64')].filter((form) => text.includes(form)).map(() => n));

  it('never reach a log line, an event, a listed object or any column of any table in clear', async () => {
    expect(t.logs.length).toBeGreaterThan(20);
    expect(t.logs.flatMap(leaks)).toEqual([]);
    const events = await t.stripe.events.list({ limit: 100 }).autoPagingToArray({ limit: 10_000 });
    expect(events.some((e) => e.type === 'payout.failed')).toBe(true);
    expect(leaks(JSON.stringify(events))).toEqual([]);
    const { id } = await t.stripe.accounts.retrieve();
    expect(leaks(JSON.stringify(await t.stripe.accounts.retrieve()))).toEqual([]);
    expect(leaks(JSON.stringify(await t.stripe.accounts.listExternalAccounts(id)))).toEqual([]);
    expect(leaks(JSON.stringify(await t.stripe.payouts.list({ limit: 100 })))).toEqual([]);

    const columns = await t.owner.query<{ table_schema: string; table_name: string; column_name: string; data_type: string }>(`
      SELECT c.table_schema, c.table_name, c.column_name, c.data_type FROM information_schema.columns c
      JOIN information_schema.tables tb ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name AND tb.table_type = 'BASE TABLE'
      WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema') AND c.table_schema NOT LIKE 'pg\\_%'
        AND c.data_type IN ('text', 'character varying', 'json', 'jsonb', 'bytea', 'ARRAY')`);
    const found: string[] = [];
    let sealed = 0;
    for (const { table_schema, table_name, column_name, data_type } of columns.rows) {
      const expression = data_type === 'bytea' ? `encode("${column_name}", 'escape')` : `"${column_name}"::text`;
      const result = await t.owner.query<{ value: string | null }>(`SELECT ${expression} AS value FROM "${table_schema}"."${table_name}"`);
      for (const { value } of result.rows) {
        if (value === null) continue;
        if (table_name === 'bank_accounts' && column_name === 'sealed_number') sealed += 1;
        for (const leak of leaks(value)) found.push(`${leak} in ${table_schema}.${table_name}.${column_name}`);
      }
    }
    expect(found).toEqual([]);
    // Every bank account's number is there, sealed: the search above looked at each ciphertext.
    expect(sealed).toBeGreaterThanOrEqual(numbers.length);
  });

  it('the search finds a number planted in each form it looks for', () => {
    expect(leaks('{"account_number":"000222222227"}')).toEqual(['000222222227']);
    expect(leaks(Buffer.from('x000333333335').toString('hex'))).toEqual(['000333333335']);
    expect(leaks('last4 6789')).toEqual([]);
  });
});

/** Waits until no payout is pending or in transit (the worker has taken every one to the bank). */
async function payoutsQuiet(stripe: Stripe): Promise<void> {
  await waitFor(async () => {
    const [pending, in_transit] = await Promise.all([stripe.payouts.list({ status: 'pending' }), stripe.payouts.list({ status: 'in_transit' })]);
    return pending.data.length === 0 && in_transit.data.length === 0;
  });
}
