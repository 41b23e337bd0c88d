import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { chargeIdOf } from '../support/stripe-objects.js';

/**
 * The server's own router (no connector handed in) over the merchant's connector accounts and routing
 * rules, set through the admin API: payments go to the accounts the rules name, in their order, and
 * the charge shows which; a change of rules takes effect without a restart.
 */

const ADMIN_TOKEN = 'admin_routingAccountsToken_0123456789abcdef';
let t: TestPlatform;
let merchant_id: string;
beforeAll(async () => {
  t = await startTestPlatform({ admin_token: ADMIN_TOKEN });
  merchant_id = (await t.owner.query<{ id: string }>('SELECT id FROM merchants.merchants')).rows[0]?.id ?? '';
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

async function admin(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${t.url}/admin/v1/merchants/${merchant_id}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

async function routedAccounts(): Promise<unknown[]> {
  const intent = await t.stripe.paymentIntents.create({ amount: 1200, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
  expect(intent.status).toBe('succeeded');
  const charge = (await t.stripe.charges.retrieve(chargeIdOf(intent))) as unknown as { payrail_routing: { tries: Array<{ connector_account: string }> } };
  return charge.payrail_routing.tries.map((entry) => entry.connector_account);
}

describe('routing over the merchant’s connector accounts', () => {
  it('routes to the built-in sandbox without accounts, then to the accounts the rules name, as soon as they change', async () => {
    expect(await routedAccounts()).toEqual(['sandbox']);
    const first = await admin('POST', '/connector_accounts', { type: 'sandbox', label: 'first' });
    const second = await admin('POST', '/connector_accounts', { type: 'sandbox', label: 'second' });
    await admin('PUT', '/routing', { default: { type: 'priority', accounts: [second.id, first.id] } });
    const deadline = Date.now() + 10_000;
    let routed = await routedAccounts();
    while (routed[0] !== second.id && Date.now() < deadline) routed = await routedAccounts();
    expect(routed).toEqual([second.id]);
  });

  it('records a payment’s first try with the attempt, and how it ended with the answer: no commit of the router’s own', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 1300, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    expect(intent.status).toBe('succeeded');
    const charge_id = chargeIdOf(intent);
    // Each row's xmin is the transaction that last wrote it: the answer's commit wrote both.
    const written = await t.owner.query<{ try_xmin: string; call_xmin: string; outcome: string }>(
      `SELECT t.xmin::text AS try_xmin, c.xmin::text AS call_xmin, t.outcome
         FROM connectors.routed_tries t JOIN payments.processor_calls c ON c.id = t.attempt_id
        WHERE t.attempt_id = $1`,
      [charge_id],
    );
    expect(written.rows).toHaveLength(1);
    expect(written.rows[0]?.outcome).toBe('authorized');
    expect(written.rows[0]?.try_xmin).toBe(written.rows[0]?.call_xmin);
  });
});
