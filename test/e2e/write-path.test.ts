import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { chargeIdOf } from '../support/stripe-objects.js';

/**
 * One write path, whoever calls it: the CLI runs a use case (a refund) through the same pipeline and
 * idempotency record as the API, and every mutation — attach included — commits its effects, its
 * event and its stored response together, so an interrupted request retried with its key has one
 * effect and one event.
 */
const run = promisify(execFile);
const CLI_TIMEOUT_MS = 30_000;

let t: TestPlatform;
let merchant_id: string;

beforeAll(async () => {
  t = await startTestPlatform();
  const row = await t.platform.database.pool.query<{ merchant_id: string }>(`SELECT merchant_id FROM merchants.api_keys WHERE kind = 'secret' LIMIT 1`);
  merchant_id = row.rows[0]?.merchant_id ?? '';
});
afterAll(async () => {
  await t?.stop();
});

/** `payrail …` (dist/cli.js, built by `npm test`) against the platform's database and data dir. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, DATABASE_URL: t.config.database_url, PAYRAIL_DATA_DIR: t.config.data_dir, LOG_LEVEL: 'warn' };
  try {
    const { stdout, stderr } = await run(process.execPath, ['dist/cli.js', ...args], { env, timeout: CLI_TIMEOUT_MS });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

async function count(text: string, values: unknown[]): Promise<number> {
  return (await t.owner.query<{ n: number }>(text, values)).rows[0]?.n ?? -1;
}

describe('a use case run from the CLI', () => {
  it('refunds once per Idempotency-Key, and the API replays the same key as the same refund', async () => {
    const paid = await t.stripe.paymentIntents.create({ amount: 2500, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    const charge = chargeIdOf(paid);
    const args = ['refunds', 'create', '--merchant', merchant_id, '--charge', charge, '--amount', '500', '--idempotency-key', 'cli-refund-1'];

    const first = await cli(args);
    expect(first.code, first.stderr).toBe(0);
    const refund = JSON.parse(first.stdout) as { id: string; object: string; status: string; amount: number };
    expect(refund).toMatchObject({ object: 'refund', status: 'succeeded', amount: 500 });

    const again = await cli(args);
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as { id: string }).id).toBe(refund.id);
    expect(again.stderr).toContain('was used before');

    // The same key and parameters through the API: a replay of the CLI's refund, not a second one.
    const api = await fetch(`${t.url}/v1/refunds`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.secret_key}`, 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': 'cli-refund-1' },
      body: new URLSearchParams({ charge, amount: '500' }),
    });
    expect(api.headers.get('idempotent-replayed')).toBe('true');
    expect(((await api.json()) as { id: string }).id).toBe(refund.id);

    expect(await count('SELECT count(*)::int AS n FROM payments.refunds WHERE charge_id = $1', [charge])).toBe(1);
    expect(await count(`SELECT count(*)::int AS n FROM events.outbox WHERE type = 'refund.created' AND object_id = $1`, [refund.id])).toBe(1);
    expect((await t.stripe.charges.retrieve(charge)).amount_refunded).toBe(500);

    // The key is bound to its parameters, as in the API.
    const other = await cli(['refunds', 'create', '--merchant', merchant_id, '--charge', charge, '--amount', '600', '--idempotency-key', 'cli-refund-1']);
    expect(other.code).toBe(1);
    expect(JSON.parse(other.stderr)).toMatchObject({ error: { code: 'idempotency_error' } });
  });

  it("answers bad input with Stripe's error object and stores nothing", async () => {
    const bad = await cli(['refunds', 'create', '--merchant', merchant_id, '--charge', 'ch_missing', '--amount', 'abc', '--idempotency-key', 'cli-bad-1']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stderr)).toMatchObject({ error: { type: 'invalid_request_error', code: 'parameter_invalid_integer', param: 'amount' } });
    expect(await count('SELECT count(*)::int AS n FROM gateway.idempotency_keys WHERE key = $1', ['cli-bad-1'])).toBe(0);
    const usage = await cli(['refunds', 'create', '--charge', 'ch_x']);
    expect(usage.code).toBe(2);
  });
});

describe('an attach interrupted before its commit', () => {
  it('retried with its key attaches once and records one payment_method.attached event', async () => {
    const customer = await t.stripe.customers.create({ email: 'attach@example.com' });
    // The first payment_method.attached event written fails inside the commit statement, as a lost
    // connection or a crash would interrupt it; a sequence is not rolled back, so it fails only once.
    // Installed by the owner; the trigger runs as the owner too, since the app's role may use no sequence of public.
    const db = t.owner;
    await db.query(`CREATE SEQUENCE public.attach_failures`);
    await db.query(`CREATE FUNCTION public.fail_first_attach() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
      BEGIN
        IF NEW.type = 'payment_method.attached' AND nextval('public.attach_failures') = 1 THEN RAISE EXCEPTION 'injected failure'; END IF;
        RETURN NEW;
      END $$`);
    await db.query(`CREATE TRIGGER fail_first_attach BEFORE INSERT ON events.outbox FOR EACH ROW EXECUTE FUNCTION public.fail_first_attach()`);
    try {
      const attach = () =>
        fetch(`${t.url}/v1/payment_methods/pm_card_visa/attach`, {
          method: 'POST',
          headers: { authorization: `Bearer ${t.secret_key}`, 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': 'attach-1' },
          body: new URLSearchParams({ customer: customer.id }),
        });
      const failed = await attach();
      expect(failed.status).toBe(500);
      expect(await failed.text()).not.toContain('injected');
      expect(await count('SELECT count(*)::int AS n FROM vault.payment_methods WHERE customer_id = $1', [customer.id])).toBe(0);

      const retried = await attach();
      expect(retried.status).toBe(200);
      const method = (await retried.json()) as { id: string; customer: string };
      expect(method.customer).toBe(customer.id);
      expect(await count('SELECT count(*)::int AS n FROM vault.payment_methods WHERE customer_id = $1', [customer.id])).toBe(1);
      expect(await count(`SELECT count(*)::int AS n FROM events.outbox WHERE type = 'payment_method.attached' AND object_id = $1`, [method.id])).toBe(1);
      const listed = await t.stripe.paymentMethods.list({ customer: customer.id, type: 'card' });
      expect(listed.data.map((pm) => pm.id)).toEqual([method.id]);
    } finally {
      await db.query('DROP TRIGGER fail_first_attach ON events.outbox');
    }
  });
});
