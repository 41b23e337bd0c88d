import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import type { Platform } from '../../src/compose.js';
import type { Pool } from '../../src/platform/db.js';
import { startPlatform } from '../../src/compose.js';
import { createLogger } from '../../src/platform/logger.js';
import { SandboxProcessor } from '../../src/services/connectors/index.js';
import type { AuthorizeRequest, AuthorizeResult } from '../../src/services/connectors/index.js';
import { verifyAuditLog } from '../../src/services/audit/index.js';
import { isResource, requiredPermission } from '../../src/services/merchants/index.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform, stripeClient } from '../support/platform.js';
import { rejection } from '../support/stripe-errors.js';
import { SandboxWrapper } from '../support/sandbox-wrapper.js';

const ADMIN_TOKEN = 'admin_9f2c4e8a1b7d3f6e0a5c2b8d4f1e7a3c';

/** The sandbox, noting whether each authorization's detokenization was already audited; an amount of 404 finds the processor unreachable. */
class AuditCheckingProcessor extends SandboxWrapper {
  readonly name = 'sandbox';
  audited_before_call: boolean[] = [];
  audit_pool!: Pool;
  override async authorize(request: AuthorizeRequest): Promise<AuthorizeResult> {
    const rows = await this.audit_pool.query('SELECT 1 FROM audit.detokenizations WHERE reference_id = $1', [request.attempt_id]);
    this.audited_before_call.push(rows.rowCount === 1);
    if (request.card.number.endsWith('4242') && request.amount === 4_04) throw new Error('processor unreachable');
    return super.authorize(request);
  }
}

const connector = new AuditCheckingProcessor();
let t: TestPlatform;
let second: Platform;
let merchant_id: string;

beforeAll(async () => {
  t = await startTestPlatform({ admin_token: ADMIN_TOKEN }, { connector });
  connector.sandbox = new SandboxProcessor({ pool: t.platform.database.pool });
  connector.audit_pool = t.platform.database.pool;
  // A second platform process on the same database, as behind a load balancer; without the admin API.
  second = await startPlatform({ ...t.config, admin_token: undefined }, { logger: createLogger('silent') });
  merchant_id = (await t.platform.database.pool.query<{ id: string }>('SELECT id FROM merchants.merchants')).rows[0]?.id ?? '';
}, 60_000);
afterAll(async () => {
  await second?.stop();
  await t?.stop();
});

async function admin(method: string, path: string, form?: Record<string, string>, token = ADMIN_TOKEN) {
  const response = await fetch(`${t.url}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    ...(form ? { body: new URLSearchParams(form).toString() } : {}),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> & { secret?: string; id?: string } };
}

/** `payrail …` from the build, on the platform's database and data dir (so the same key hash secret). */
function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, DATABASE_URL: t.config.database_url, PAYRAIL_DATA_DIR: t.config.data_dir, LOG_LEVEL: 'warn' };
  return new Promise((resolve) => {
    execFile(process.execPath, ['dist/cli.js', ...args], { env, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Every route the app serves, with its methods, read from Fastify's route tree (`printRoutes`). */
function servedRoutes(tree: string): { path: string; methods: string[] }[] {
  const parents: string[] = [];
  return tree.split('\n').flatMap((line) => {
    const match = /^([│ ├└─]*)(\S+) \(([A-Z, ]+)\)$/.exec(line);
    if (!match) return [];
    const depth = (match[1] ?? '').length / 4;
    parents.length = depth;
    const path = `${parents.at(-1) ?? ''}${match[2]}`;
    parents.push(path);
    return [{ path, methods: (match[3] ?? '').split(', ') }];
  });
}

async function waitUntil(condition: () => Promise<boolean>, within_ms: number): Promise<number> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > within_ms) throw new Error(`not within ${within_ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

async function status(url: string, key: string, path = '/v1/payment_intents'): Promise<number> {
  return (await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${key}` } })).status;
}

describe('the admin API', () => {
  it('answers only its token, and exists only where PAYRAIL_ADMIN_TOKEN is set', async () => {
    expect((await fetch(`${t.url}/admin/v1/merchants/${merchant_id}/api_keys`)).status).toBe(401);
    expect((await admin('GET', `/merchants/${merchant_id}/api_keys`, undefined, `${ADMIN_TOKEN}x`)).status).toBe(401);
    expect((await fetch(`${second.url}/admin/v1/merchants/${merchant_id}/api_keys`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(404);
    // The bootstrap secret key is refused there: it is a merchant's key, not the operator's.
    expect((await admin('GET', `/merchants/${merchant_id}/api_keys`, undefined, t.secret_key)).status).toBe(401);
  });

  it('refuses bad input in Stripe’s shape and stores nothing', async () => {
    const before = (await admin('GET', `/merchants/${merchant_id}/api_keys`)).body.data as unknown[];
    const cases: [Record<string, string>, string, string][] = [
      [{ type: 'root' }, 'parameter_invalid', 'type'],
      [{ type: 'restricted', 'permissions[everything]': 'write' }, 'parameter_invalid', 'permissions[everything]'],
      [{ type: 'restricted', 'permissions[charges]': 'admin' }, 'parameter_invalid', 'permissions[charges]'],
      [{ type: 'secret', 'permissions[charges]': 'read' }, 'parameter_invalid', 'permissions'],
      [{ type: 'secret', secret: 'sk_test_chosenByCaller000000001' }, 'parameter_unknown', 'secret'],
    ];
    for (const [form, code, param] of cases) {
      const answer = await admin('POST', `/merchants/${merchant_id}/api_keys`, form);
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({ type: 'invalid_request_error', code, param });
    }
    expect((await admin('POST', '/merchants/acct_NOSUCH/api_keys', { type: 'secret' })).status).toBe(404);
    expect((await admin('GET', `/merchants/${merchant_id}/api_keys`)).body.data).toHaveLength(before.length);
  });
});

describe('restricted keys', () => {
  it("do what their permissions allow, and get Stripe's 403 for the rest", async () => {
    const created = await admin('POST', `/merchants/${merchant_id}/api_keys`, {
      type: 'restricted',
      name: 'reporting',
      'permissions[payment_intents]': 'write',
      'permissions[charges]': 'read',
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ object: 'api_key', type: 'restricted', permissions: { payment_intents: 'write', charges: 'read' }, status: 'active' });
    const restricted = stripeClient(t.url, String(created.body.secret));
    const intent = await restricted.paymentIntents.create({ amount: 1500, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    expect(intent.status).toBe('succeeded');
    expect((await restricted.charges.list()).data.length).toBeGreaterThan(0);

    const refused = await rejection(restricted.refunds.create({ payment_intent: intent.id }));
    expect(refused).toBeInstanceOf(Stripe.errors.StripePermissionError);
    expect(refused).toMatchObject({ statusCode: 403, rawType: 'invalid_request_error', code: 'permission_denied' });
    expect(refused.message).toBe(
      `The provided key does not have the required permissions for this endpoint on account '${merchant_id}'. Having the 'rak_refund_write' permission would allow this request to continue.`,
    );
    expect((await rejection(restricted.customers.list())).message).toContain("'rak_customer_read'");
    expect((await rejection(restricted.charges.capture(intent.latest_charge as string))).statusCode).toBe(403);
    expect(await t.stripe.refunds.list({ payment_intent: intent.id })).toMatchObject({ data: [] });
  });
});

describe('every route', () => {
  it('belongs to a resource a restricted key can be granted', () => {
    const routes = servedRoutes(t.platform.app.printRoutes({ commonPrefix: false })).filter((route) => route.path.startsWith('/v1/'));
    expect(routes.length).toBeGreaterThan(30);
    const orphans = routes
      .flatMap(({ path, methods }) => methods.map((method) => `${method} ${path}`))
      .filter((call) => {
        const [method = '', path = ''] = call.split(' ');
        return !isResource(requiredPermission(method, path).resource);
      });
    expect(orphans).toEqual([]);
  });
});

describe('publishable keys', () => {
  it("can only do what Stripe's can", async () => {
    const pk = (await admin('POST', `/merchants/${merchant_id}/api_keys`, { type: 'publishable' })).body.secret;
    const browser = stripeClient(t.url, String(pk));
    const method = await browser.paymentMethods.create({ type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2040, cvc: '123' } });
    expect(method.card?.last4).toBe('4242');
    for (const call of [browser.paymentIntents.list(), browser.paymentIntents.create({ amount: 100, currency: 'usd' }), browser.balance.retrieve()]) {
      const refused = await rejection(call);
      expect(refused).toMatchObject({ statusCode: 401, code: 'secret_key_required' });
    }
    // An intent is theirs to read and confirm only with its client_secret, as with Stripe.js.
    const intent = await t.stripe.paymentIntents.create({ amount: 1200, currency: 'usd' });
    const client_secret = String(intent.client_secret);
    expect((await browser.paymentIntents.retrieve(intent.id, { client_secret })).id).toBe(intent.id);
    expect(await rejection(browser.paymentIntents.retrieve(intent.id))).toMatchObject({ statusCode: 401, code: 'secret_key_required' });
    const wrong = await rejection(browser.paymentIntents.retrieve(intent.id, { client_secret: `${intent.id}_secret_forged` }));
    expect(wrong).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'client_secret' });
    const confirmed = await browser.paymentIntents.confirm(intent.id, { client_secret, payment_method: method.id } as Stripe.PaymentIntentConfirmParams);
    expect(confirmed.status).toBe('succeeded');
    // Another merchant's intent is not found, whatever the secret.
    const theirs = await (await t.newMerchant()).stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    const foreign = await rejection(browser.paymentIntents.retrieve(theirs.id, { client_secret: String(theirs.client_secret) }));
    expect(foreign.statusCode).toBe(404);
  });
});

describe('revoking and rolling', () => {
  it('a revoked key stops in every process within a second', async () => {
    const key = String((await admin('POST', `/merchants/${merchant_id}/api_keys`, { type: 'secret' })).body.secret);
    const id = String(((await admin('GET', `/merchants/${merchant_id}/api_keys`)).body.data as { id: string }[]).at(-1)?.id);
    expect([await status(t.url, key), await status(second.url, key)]).toEqual([200, 200]);
    const revoked = await admin('POST', `/api_keys/${id}/revoke`);
    expect(revoked.body).toMatchObject({ id, status: 'revoked' });
    const took_ms = await waitUntil(async () => (await status(second.url, key)) === 401, 5_000);
    expect(took_ms).toBeLessThan(1_000);
    expect(await status(t.url, key)).toBe(401);
    expect((await admin('POST', `/api_keys/${id}/revoke`)).body.error).toMatchObject({ code: 'api_key_unexpected_state' });
  });

  it('a rolled key keeps working until its expiry, in every process, then answers expired', async () => {
    const old_key = String((await admin('POST', `/merchants/${merchant_id}/api_keys`, { type: 'secret' })).body.secret);
    const id = String(((await admin('GET', `/merchants/${merchant_id}/api_keys`)).body.data as { id: string }[]).at(-1)?.id);
    expect(await status(second.url, old_key)).toBe(200);
    const rolled = await admin('POST', `/api_keys/${id}/roll`, { expires_in: '2' });
    expect(rolled.body).toMatchObject({ status: 'active', rolled: { id, status: 'expiring' } });
    const new_key = String(rolled.body.secret);
    expect([await status(t.url, old_key), await status(second.url, old_key), await status(second.url, new_key)]).toEqual([200, 200, 200]);
    await waitUntil(async () => (await status(second.url, old_key)) === 401, 4_000);
    const expired = await rejection(stripeClient(second.url, old_key).paymentIntents.list());
    expect(expired).toMatchObject({ statusCode: 401, code: 'api_key_expired' });
    expect(await status(second.url, new_key)).toBe(200);
  });
});

describe('payrail api-keys', () => {
  it('creates, lists, rolls and revokes keys against the running platform', { timeout: 180_000 }, async () => {
    const created = await cli('api-keys', 'create', '--merchant', merchant_id, '--type', 'restricted', '--permissions', 'balance=read', '--name', 'ops');
    expect(created.code).toBe(0);
    const key = /^(rk_test_\w+)$/m.exec(created.stdout)?.[1] ?? '';
    const id = /^(key_\w+)/.exec(created.stdout)?.[1] ?? '';
    expect([await status(t.url, key, '/v1/balance'), await status(t.url, key, '/v1/charges')]).toEqual([200, 403]);

    const listed = await cli('api-keys', 'list', '--merchant', merchant_id);
    expect(listed.stdout).toContain(`${id}  rk_test_…${key.slice(-4)}`);
    expect(listed.stdout).toContain('active balance=read  "ops"');
    expect(listed.stdout).not.toContain(key);
    const everyone = await cli('api-keys', 'list');
    expect(everyone.stdout).toContain(`${merchant_id}  ${id}  rk_test_…${key.slice(-4)}`);
    expect(everyone.stdout).not.toContain(key);

    const rolled = await cli('api-keys', 'roll', id, '--expires-in', '1h');
    expect(rolled.code).toBe(0);
    const new_key = /^(rk_test_\w+)$/m.exec(rolled.stdout)?.[1] ?? '';
    expect(rolled.stdout).toMatch(new RegExp(`^${id} .* expiring until `));
    expect([await status(second.url, key, '/v1/balance'), await status(second.url, new_key, '/v1/balance')]).toEqual([200, 200]);

    expect((await cli('api-keys', 'revoke', id)).stdout).toMatch(new RegExp(`^${id} .* revoked`));
    await waitUntil(async () => (await status(second.url, key, '/v1/balance')) === 401, 1_000);
    const again = await cli('api-keys', 'revoke', id);
    expect(again).toMatchObject({ code: 1, stderr: `API key ${id} is revoked; nothing to change.\n` });
    expect((await cli('api-keys', 'create', '--merchant', 'acct_NOSUCH')).stderr).toBe("No such merchant: 'acct_NOSUCH'\n");
  });
});

describe('payrail refunds create', () => {
  it('is audited as the operator at the command line', { timeout: 60_000 }, async () => {
    const paid = await t.stripe.paymentIntents.create({ amount: 900, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    const refunded = await cli('refunds', 'create', '--merchant', merchant_id, '--payment-intent', paid.id, '--amount', '400');
    expect(refunded.code).toBe(0);
    const refund_id = (JSON.parse(refunded.stdout) as { id: string }).id;
    const events = await t.platform.database.pool.query(`SELECT type, actor_type, actor_id FROM audit.security_events WHERE object_id = $1`, [refund_id]);
    expect(events.rows).toEqual([{ type: 'refund.created', actor_type: 'cli', actor_id: null }]);
  });
});

describe('secrets and the audit trail', () => {
  it('never shows a key after its creation, nor logs one, and audits every change', async () => {
    const created = await admin('POST', `/merchants/${merchant_id}/api_keys`, { type: 'secret', name: 'audit check' });
    const key = String(created.body.secret);
    expect(await status(t.url, key)).toBe(200);
    const listed = JSON.stringify((await admin('GET', `/merchants/${merchant_id}/api_keys`)).body);
    expect(listed).not.toContain(key);
    expect(listed).toContain(`"redacted_key":"sk_test_…${key.slice(-4)}"`);
    expect(t.logs.join('')).not.toContain(key.slice(8));
    expect(t.logs.join('')).not.toContain(t.secret_key.slice(8));

    // The start that created the default merchant knows its key; any later start does not, and no file keeps it.
    expect([t.platform.secret_key, second.secret_key]).toEqual([t.secret_key, undefined]);
    const kept = readdirSync(t.config.data_dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
    expect(kept.filter((entry) => readFileSync(join(entry.parentPath, entry.name)).includes(t.secret_key))).toEqual([]);

    const report = await verifyAuditLog(t.platform.database.pool);
    expect(report.findings).toEqual([]);
    const events = await t.platform.database.pool.query<{ type: string; actor_type: string; client_ip: string | null }>(
      `SELECT type, actor_type, client_ip FROM audit.security_events WHERE object_id = $1`,
      [created.body.id],
    );
    expect(events.rows).toEqual([{ type: 'api_key.created', actor_type: 'admin_api', client_ip: '127.0.0.1' }]);
    const verified = await admin('GET', '/audit/verify');
    expect(verified).toMatchObject({ status: 200, body: { valid: true, rows: report.rows } });
    const { seq, hash } = verified.body.head as { seq: string; hash: string };
    expect((await admin('GET', `/audit/verify?anchor=${seq}:${hash}`)).body).toMatchObject({ valid: true });
    expect((await admin('GET', `/audit/verify?anchor=${seq}:${'0'.repeat(64)}`)).body).toMatchObject({ valid: false, findings: [{ seq }] });
    expect((await admin('GET', '/audit/verify?anchor=latest')).body.error).toMatchObject({ code: 'parameter_invalid', param: 'anchor' });
  });

  it('audits webhook endpoint changes and refunds with the key that made them, in one unbroken chain', async () => {
    const endpoint = await t.stripe.webhookEndpoints.create({ url: 'https://hooks.example.com/payrail?token=s3cret', enabled_events: ['charge.refunded'] });
    await t.stripe.webhookEndpoints.update(endpoint.id, { disabled: true });
    await t.stripe.webhookEndpoints.del(endpoint.id);
    const paid = await t.stripe.paymentIntents.create({ amount: 3000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    const refund = await t.stripe.refunds.create({ payment_intent: paid.id, amount: 700 });
    const events = await t.platform.database.pool.query<{ type: string; object_id: string; actor_type: string; actor_id: string; data: string }>(
      `SELECT type, object_id, actor_type, actor_id, data FROM audit.security_events WHERE object_id = ANY ($1) ORDER BY seq`,
      [[endpoint.id, refund.id]],
    );
    expect(events.rows.map((row) => [row.type, row.object_id, row.actor_type])).toEqual([
      ['webhook_endpoint.created', endpoint.id, 'api_key'],
      ['webhook_endpoint.updated', endpoint.id, 'api_key'],
      ['webhook_endpoint.deleted', endpoint.id, 'api_key'],
      ['refund.created', refund.id, 'api_key'],
    ]);
    expect(new Set(events.rows.map((row) => row.actor_id)).size).toBe(1);
    expect(JSON.parse(events.rows[0]?.data ?? '{}')).toEqual({ url: 'https://hooks.example.com/payrail', enabled_events: ['charge.refunded'] });
    expect(JSON.parse(events.rows[3]?.data ?? '{}')).toEqual({ charge: paid.latest_charge, amount: 700, currency: 'usd' });
    const log = JSON.stringify(events.rows);
    expect(log).not.toContain('s3cret');
    expect(log).not.toContain(String(endpoint.secret));
    expect((await verifyAuditLog(t.platform.database.pool)).findings).toEqual([]);
  });

  it('audits a detokenization with its actor before the card number is used, and keeps it when the payment fails', async () => {
    const method = await t.stripe.paymentMethods.create({ type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2040, cvc: '123' } });
    const paid = await t.stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: method.id, confirm: true });
    const failed = await rejection(t.stripe.paymentIntents.create({ amount: 4_04, currency: 'usd', payment_method: method.id, confirm: true }));
    expect(failed.statusCode).toBe(500);
    expect(connector.audited_before_call.slice(-2)).toEqual([true, true]);
    const rows = await t.platform.database.pool.query<{ reference_id: string; actor_type: string; actor_id: string; request_id: string; client_ip: string }>(
      `SELECT reference_id, actor_type, actor_id, request_id, client_ip FROM audit.detokenizations WHERE payment_method_id = $1 ORDER BY seq`,
      [method.id],
    );
    expect(rows.rows).toHaveLength(2);
    expect(rows.rows[0]).toMatchObject({ reference_id: paid.latest_charge, actor_type: 'api_key', client_ip: '127.0.0.1' });
    expect(rows.rows[0]?.actor_id).toMatch(/^key_/);
    expect(rows.rows[0]?.request_id).toMatch(/^req_/);
    expect(rows.rows[1]?.request_id).toBe(failed.requestId);

    // A SetupIntent's verification sends the card number too, and is audited the same way.
    const setup = await t.stripe.setupIntents.create({ payment_method: method.id, confirm: true });
    const verify = await t.platform.database.pool.query<{ purpose: string; reference_id: string; actor_type: string }>(
      `SELECT purpose, reference_id, actor_type FROM audit.detokenizations WHERE payment_method_id = $1 AND purpose = 'verify'`,
      [method.id],
    );
    expect(verify.rows).toEqual([{ purpose: 'verify', reference_id: setup.latest_attempt, actor_type: 'api_key' }]);
  });
});
