import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UlidGenerator } from '../../src/kernel/ids.js';
import type { NewKey } from '../../src/services/merchants/index.js';
import { createApiKey } from '../../src/services/merchants/index.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';

/** The 3-D Secure test helpers: test keys only, and the customer's step must carry the intent's client_secret. */

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t?.stop();
});

async function authenticate(path: string, key: string, body: string): Promise<Response> {
  return fetch(`${t.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
}

/** Another key of the default merchant's. */
async function createKey(spec: NewKey): Promise<string> {
  const merchant = await t.platform.database.pool.query<{ id: string }>('SELECT id FROM merchants.merchants ORDER BY created LIMIT 1');
  const store = { pool: t.platform.database.pool, hasher: t.platform.key_hasher, ids: new UlidGenerator() };
  return (await createApiKey(store, merchant.rows[0]!.id, spec, { now_s: Math.floor(Date.now() / 1000), actor: { type: 'system' } })).key;
}

describe('3-D Secure test helpers', () => {
  it('the customer step needs the intent’s own client_secret', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_authenticationRequired', confirm: true });
    expect(intent.status).toBe('requires_action');
    const redirect = new URL(intent.next_action!.redirect_to_url!.url!);
    const client_secret = redirect.searchParams.get('client_secret');
    expect(client_secret).toBe(intent.client_secret);

    const other = await t.stripe.paymentIntents.create({ amount: 500, currency: 'usd' });
    for (const wrong of [other.client_secret!, `${intent.id}_secret_guess`]) {
      const refused = await authenticate(redirect.pathname, t.secret_key, `client_secret=${encodeURIComponent(wrong)}`);
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: unknown }).error).toMatchObject({
        type: 'invalid_request_error',
        code: 'parameter_invalid',
        param: 'client_secret',
      });
    }
    expect((await t.stripe.paymentIntents.retrieve(intent.id)).status).toBe('requires_action');

    const completed = await authenticate(redirect.pathname, t.secret_key, `client_secret=${encodeURIComponent(client_secret!)}&outcome=succeeded`);
    expect(completed.status).toBe(200);
    expect(((await completed.json()) as { status: string }).status).toBe('succeeded');
  });

  it('the customer may take the step with a publishable key and the client_secret, and only with it', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_authenticationRequired', confirm: true });
    const publishable = await createKey({ kind: 'publishable' });
    const path = `/v1/test_helpers/payment_intents/${intent.id}/authenticate`;
    expect((await authenticate(path, publishable, 'outcome=succeeded')).status).toBe(401);
    expect((await authenticate(path, publishable, 'client_secret=pi_wrong_secret_x&outcome=succeeded')).status).toBe(400);
    expect((await t.stripe.paymentIntents.retrieve(intent.id)).status).toBe('requires_action');
    const completed = await authenticate(path, publishable, `client_secret=${encodeURIComponent(intent.client_secret!)}&outcome=succeeded`);
    expect(completed.status).toBe(200);
    expect((await t.stripe.paymentIntents.retrieve(intent.id)).status).toBe('succeeded');
  });

  it('are not there for live keys', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_authenticationRequired', confirm: true });
    const live = await createKey({ kind: 'secret', livemode: true });
    for (const path of [`/v1/test_helpers/payment_intents/${intent.id}/authenticate`, '/v1/test_helpers/setup_intents/seti_123/authenticate']) {
      const refused = await authenticate(path, live, `client_secret=${encodeURIComponent(intent.client_secret!)}`);
      expect(refused.status).toBe(404);
      expect(((await refused.json()) as { error: unknown }).error).toMatchObject({ type: 'invalid_request_error', code: 'url_invalid' });
    }
    expect((await t.stripe.paymentIntents.retrieve(intent.id)).status).toBe('requires_action');
  });
});
