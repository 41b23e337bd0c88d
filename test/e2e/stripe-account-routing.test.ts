import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { chargeIdOf } from '../support/stripe-objects.js';

/**
 * Acceptance of issue 14 for a `stripe` connector account: created through the admin API, named by the
 * merchant's routing rules, it takes the merchant's payments to a second Payrail instance (the
 * processor, its own merchant key), as the official SDK sees them; its credentials are never shown back
 * and never reach the logs.
 */

const ADMIN_TOKEN = 'admin_stripeAccountRouting_0123456789abcd';
const WEBHOOK_SECRET = 'whsec_stripeAccountRoutingTest00001';
let processor: TestPlatform;
let processor_merchant: { secret_key: string; stripe: Stripe };
let t: TestPlatform;
let merchant_id: string;

beforeAll(async () => {
  processor = await startTestPlatform();
  processor_merchant = await processor.newMerchant();
  t = await startTestPlatform({ admin_token: ADMIN_TOKEN });
  merchant_id = (await t.owner.query<{ id: string }>('SELECT id FROM merchants.merchants')).rows[0]?.id ?? '';
}, 120_000);
afterAll(async () => {
  await t?.stop();
  await processor?.stop();
});

async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${t.url}/admin/v1/merchants/${merchant_id}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

interface RoutedCharge {
  id: string;
  status: string;
  payrail_routing: { tries: Array<{ connector_account: string; raw_code: string | null }> };
}

async function pay(payment_method: string): Promise<{ intent: Stripe.PaymentIntent; charge: RoutedCharge }> {
  let intent: Stripe.PaymentIntent;
  try {
    intent = await t.stripe.paymentIntents.create({ amount: 4100, currency: 'usd', payment_method, confirm: true });
  } catch (error) {
    const declined = (error as { payment_intent?: Stripe.PaymentIntent }).payment_intent;
    if (!declined) throw error;
    intent = declined;
  }
  const charge = (await t.stripe.charges.retrieve(chargeIdOf(intent))) as unknown as RoutedCharge;
  return { intent, charge };
}

describe('a stripe connector account named by the routing rules', () => {
  let account_id = '';

  it('is created with its credentials shown back only as hints', async () => {
    const created = await admin('POST', '/connector_accounts', {
      type: 'stripe',
      label: 'processor-two',
      credentials: { secret_key: processor_merchant.secret_key, base_url: processor.url, webhook_secret: WEBHOOK_SECRET },
    });
    expect(created.status).toBe(200);
    expect(JSON.stringify(created.body)).not.toContain(processor_merchant.secret_key);
    expect(JSON.stringify(created.body)).not.toContain(WEBHOOK_SECRET);
    account_id = created.body.id as string;
    const routing = await admin('PUT', '/routing', { default: { type: 'priority', accounts: [account_id] } });
    expect(routing.status).toBe(200);
  });

  it('takes the merchant’s payments: the charge names the account, and the processor holds one PaymentIntent', async () => {
    const deadline = Date.now() + 10_000;
    let paid = await pay('pm_card_visa');
    while (paid.charge.payrail_routing.tries[0]?.connector_account !== account_id && Date.now() < deadline) paid = await pay('pm_card_visa');
    expect(paid.charge.payrail_routing.tries.map((entry) => entry.connector_account)).toEqual([account_id]);
    expect(paid.intent.status).toBe('succeeded');
    // The connector names Payrail's attempt (the charge id) in the processor's metadata: one PaymentIntent there.
    const at_processor = await processor_merchant.stripe.paymentIntents.list({ limit: 100 });
    const this_attempt = at_processor.data.filter((intent) => intent.metadata.payrail_attempt === paid.charge.id);
    expect(this_attempt.map((intent) => [intent.amount, intent.currency, intent.status])).toEqual([[4100, 'usd', 'succeeded']]);
  });

  it('declines with the processor’s code and raw code, tried once', async () => {
    const { intent, charge } = await pay('pm_card_visa_chargeDeclinedInsufficientFunds');
    expect(intent.status).toBe('requires_payment_method');
    expect(intent.last_payment_error?.decline_code).toBe('insufficient_funds');
    expect(charge.payrail_routing.tries).toHaveLength(1);
    expect(charge.payrail_routing.tries[0]?.connector_account).toBe(account_id);
    expect(charge.payrail_routing.tries[0]?.raw_code).toContain('insufficient_funds');
  });

  it('never writes its credentials to the platform’s logs', () => {
    const logs = t.logs.join('');
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(processor_merchant.secret_key);
    expect(logs).not.toContain(WEBHOOK_SECRET);
  });
});
