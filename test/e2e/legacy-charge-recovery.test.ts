import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthorizeRequest, AuthorizeResult, VerifyRequest } from '../../src/services/connectors/index.js';
import { SandboxProcessor } from '../../src/services/connectors/adapters/sandbox.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { SandboxWrapper } from '../support/sandbox-wrapper.js';

/**
 * A legacy charge or a SetupIntent whose processor answer is lost: the retry of the same key, or the
 * sweeper, settles the one attempt the processor made, never a second.
 */

/** The sandbox, losing the answer of the next authorize or verify calls after the processor recorded them. */
class LosingConnector extends SandboxWrapper {
  override readonly name = 'losing-sandbox';
  lose_next = 0;

  override async authorize(request: AuthorizeRequest): Promise<AuthorizeResult> {
    return this.lost(await this.sandbox.authorize(request));
  }

  override async verify(request: VerifyRequest): Promise<AuthorizeResult> {
    return this.lost(await this.sandbox.verify(request));
  }

  private lost(result: AuthorizeResult): AuthorizeResult {
    if (this.lose_next === 0) return result;
    this.lose_next -= 1;
    throw new Error('connection reset after the processor answered');
  }
}

let t: TestPlatform;
const connector = new LosingConnector();

beforeAll(async () => {
  t = await startTestPlatform({}, { connector });
  connector.sandbox = new SandboxProcessor({ pool: t.platform.database.pool });
});
afterAll(async () => {
  await t?.stop();
});

async function post(path: string, form: Record<string, string>, key?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { authorization: `Bearer ${t.secret_key}`, 'content-type': 'application/x-www-form-urlencoded' };
  if (key !== undefined) headers['idempotency-key'] = key;
  const response = await fetch(`${t.url}${path}`, { method: 'POST', headers, body: new URLSearchParams(form).toString() });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function rows(query: string, values: unknown[]): Promise<Record<string, unknown>[]> {
  return (await t.platform.database.pool.query(query, values)).rows as Record<string, unknown>[];
}

async function waitFor(check: () => Promise<boolean>, limit_ms: number): Promise<void> {
  const deadline = Date.now() + limit_ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not settled within ${limit_ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('a legacy charge whose answer was lost', () => {
  it('the retry of its key answers the one charge the processor made, and the token stays spent once', async () => {
    const token = await t.stripe.tokens.create({ card: { number: '4242424242424242', exp_month: '12', exp_year: '2034' } });
    const key = `legacy-lost-${randomUUID()}`;
    const form = { amount: '2300', currency: 'usd', source: token.id };
    const before = await connector.sandbox.authorizations();
    connector.lose_next = 1;
    const failed = await post('/v1/charges', form, key);
    expect(failed.status).toBe(500);
    // The attempt and the token's spending were recorded before the processor heard of it.
    expect((await t.stripe.tokens.retrieve(token.id)).used).toBe(true);

    const retried = await post('/v1/charges', form, key);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ object: 'charge', status: 'succeeded', amount: 2300, payment_intent: null });
    expect((await connector.sandbox.authorizations()) - before).toBe(1);
    expect(await connector.sandbox.authorizeCalls(String(retried.body.id))).toBe(1);
    const charges = await rows(`SELECT id FROM payments.charges WHERE state->'charges_api' IS NOT NULL AND amount = 2300`, []);
    expect(charges).toHaveLength(1);
  });

  it('without a key or a retry, the sweeper records it as the charge, with charge events only', async () => {
    const marker = `swept-legacy-${randomUUID()}`;
    connector.lose_next = 1;
    const failed = await post('/v1/charges', { amount: '2700', currency: 'usd', source: 'tok_visa', description: marker });
    expect(failed.status).toBe(500);
    await waitFor(
      async () => (await rows(`SELECT 1 FROM payments.charges WHERE state->>'description' = $1 AND status = 'succeeded'`, [marker])).length === 1,
      20_000,
    );
    const [charge] = await rows(`SELECT id FROM payments.charges WHERE state->>'description' = $1`, [marker]);
    const rendered = await t.stripe.charges.retrieve(String(charge?.id));
    expect(rendered).toMatchObject({ status: 'succeeded', payment_intent: null, captured: true });
    const events = await rows(`SELECT type FROM events.outbox WHERE data::text LIKE $1`, [`%${marker}%`]);
    expect(events.map((event) => event.type)).toEqual(['charge.succeeded']);
  });
});

describe('a SetupIntent whose verification answer was lost', () => {
  it('the retry of its key sends the same verification and saves the card once', async () => {
    const customer = await t.stripe.customers.create({});
    const key = `seti-lost-${randomUUID()}`;
    const form = { customer: customer.id, payment_method: 'pm_card_visa', confirm: 'true' };
    const before = await connector.sandbox.authorizations();
    connector.lose_next = 1;
    expect((await post('/v1/setup_intents', form, key)).status).toBe(500);
    const retried = await post('/v1/setup_intents', form, key);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ object: 'setup_intent', status: 'succeeded' });
    expect((await connector.sandbox.authorizations()) - before).toBe(1);
    expect(await connector.sandbox.authorizeCalls(String(retried.body.latest_attempt))).toBe(2);
    expect((await t.stripe.customers.listPaymentMethods(customer.id)).data.map((method) => method.id)).toEqual([retried.body.payment_method]);
  });
});
