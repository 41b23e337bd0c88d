import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import qs from 'qs';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthorizeRequest, AuthorizeResult, CaptureResult, RefundResult } from '../../src/services/connectors/domain/port.js';
import { SandboxProcessor } from '../../src/services/connectors/adapters/sandbox.js';
import { IDEMPOTENCY_LOCK_STALE_MS, requestHash } from '../../src/platform/write/idempotency.js';
import { UlidGenerator } from '../../src/kernel/ids.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { chargeIdOf } from '../support/stripe-objects.js';
import { SandboxWrapper } from '../support/sandbox-wrapper.js';

/**
 * Stripe's Idempotency-Key contract, end to end: replays are byte-identical, a key is bound to its
 * parameters and its merchant, concurrent duplicates charge once, validation errors are not stored, and
 * a request that died holding the key is completed by its retry with the same ids and no second charge.
 */

/** The sandbox, with knobs to slow it down, fail after it authorized, or hold a call mid-flight. */
class ControlledConnector extends SandboxWrapper {
  override readonly name = 'controlled-sandbox';
  latency_ms = 0;
  /** Throw this many times after the sandbox authorized: the answer is lost on the way back. */
  fail_after_authorize = 0;
  private hold: { reached: () => void; released: Promise<void> } | undefined;

  /** The next authorize call records its authorization, then waits until `release` is called. */
  holdNext(): { reached: Promise<void>; release: () => void } {
    let reached!: () => void;
    let release!: () => void;
    const reached_promise = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.hold = { reached, released };
    return { reached: reached_promise, release };
  }

  override async authorize(request: AuthorizeRequest): Promise<AuthorizeResult> {
    if (this.latency_ms > 0) await sleep(this.latency_ms);
    const result = await this.sandbox.authorize(request);
    if (this.fail_after_authorize > 0) {
      this.fail_after_authorize -= 1;
      throw new Error('connection reset after the processor answered');
    }
    await this.holdIfAsked();
    return result;
  }

  /** Throw this many times after the sandbox captured: the capture's answer is lost on the way back. */
  fail_after_capture = 0;

  private async holdIfAsked(): Promise<void> {
    const hold = this.hold;
    if (!hold) return;
    this.hold = undefined;
    hold.reached();
    await hold.released;
  }

  /** Held like authorize when asked: the processor has completed the authentication, its answer is on the way. */
  override async completeAuthentication(attempt_id: string, authenticated: boolean): Promise<AuthorizeResult> {
    const result = await this.sandbox.completeAuthentication(attempt_id, authenticated);
    await this.holdIfAsked();
    return result;
  }
  /** Throw this many times after the sandbox refunded: the refund's answer is lost on the way back. */
  fail_after_refund = 0;

  override async refund(refund_id: string, attempt_id: string, amount: number): Promise<RefundResult> {
    const result = await this.sandbox.refund(refund_id, attempt_id, amount);
    if (this.fail_after_refund > 0) {
      this.fail_after_refund -= 1;
      throw new Error('connection reset after the processor refunded');
    }
    return result;
  }

  override async capture(attempt_id: string, amount: number): Promise<CaptureResult> {
    const result = await this.sandbox.capture(attempt_id, amount);
    if (this.fail_after_capture > 0) {
      this.fail_after_capture -= 1;
      throw new Error('connection reset after the processor captured');
    }
    return result;
  }
}

let t: TestPlatform;
const connector = new ControlledConnector();

beforeAll(async () => {
  t = await startTestPlatform({}, { connector });
  connector.sandbox = new SandboxProcessor({ pool: t.platform.database.pool });
});
afterAll(async () => {
  await t?.stop();
});

interface Answer {
  status: number;
  text: string;
  body: Record<string, unknown> & { id?: string; latest_charge?: string; error?: { type?: string; code?: string; param?: string } };
  headers: Headers;
}

async function post(path: string, form: string, options: { key?: string; secret_key?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${options.secret_key ?? t.secret_key}`,
    'content-type': 'application/x-www-form-urlencoded',
  };
  if (options.key !== undefined) headers['idempotency-key'] = options.key;
  const response = await fetch(t.url + path, { method: 'POST', headers, body: form });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as Answer['body'], headers: response.headers };
}

const newKey = () => `key-${randomUUID()}`;
const payForm = (marker: string, extra = '') => `amount=1500&currency=usd&payment_method=pm_card_visa&confirm=true&description=${marker}${extra}`;

async function count(sql: string, values: unknown[]): Promise<number> {
  const result = await t.platform.database.pool.query<{ n: number }>(sql, values);
  return result.rows[0]?.n ?? 0;
}
const intentsDescribed = (marker: string) => count(`SELECT count(*)::int AS n FROM payments.payment_intents WHERE state->>'description' = $1`, [marker]);
const chargesDescribed = (marker: string) => count(`SELECT count(*)::int AS n FROM payments.charges WHERE state->>'description' = $1`, [marker]);
/** Waits (20 s at most) for the sweeper to settle the payment described `marker` as succeeded. */
const sweptToSucceeded = (marker: string) =>
  waitFor(
    async () =>
      (await count(`SELECT count(*)::int AS n FROM payments.payment_intents WHERE state->>'description' = $1 AND status = 'succeeded'`, [marker])) === 1,
    20_000,
  );

interface KeyRow {
  reserved_ids: Record<string, string>;
  response_status: number | null;
  locked_at_ms: number | null;
}

async function keyRow(key: string): Promise<KeyRow | undefined> {
  const result = await t.platform.database.pool.query<KeyRow>(
    'SELECT reserved_ids, response_status, locked_at_ms FROM gateway.idempotency_keys WHERE key = $1',
    [key],
  );
  return result.rows[0];
}

describe('replays', () => {
  it('the same key and parameters return the identical response, marked as replayed, and create one intent', async () => {
    const key = newKey();
    const marker = `replay-${key}`;
    const first = await post('/v1/payment_intents', payForm(marker), { key });
    expect(first.status).toBe(200);
    expect(first.body.status).toBe('succeeded');
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const authorizations = await connector.sandbox.authorizations();
    const second = await post('/v1/payment_intents', payForm(marker), { key });
    expect(second.status).toBe(200);
    expect(second.text).toBe(first.text);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await connector.sandbox.authorizations()).toBe(authorizations);
    expect(await intentsDescribed(marker)).toBe(1);
    expect(await chargesDescribed(marker)).toBe(1);
  });

  it('a payment is stored once: its key names the event holding the response, a decline keeps its text, and both replay exactly', async () => {
    const paid = newKey();
    const declined = newKey();
    const payment = await post('/v1/payment_intents', payForm(`once-${paid}`), { key: paid });
    const decline = await post('/v1/payment_intents', `amount=1500&currency=usd&payment_method=pm_card_chargeDeclined&confirm=true`, { key: declined });
    expect([payment.status, decline.status]).toEqual([200, 402]);
    const stored = await t.platform.database.pool.query<{ key: string; response_body: string | null; type: string | null; object: string | null }>(
      `SELECT k.key, k.response_body, o.type, (o.data -> 'object')::text AS object
       FROM gateway.idempotency_keys k LEFT JOIN events.outbox o ON o.merchant_id = k.merchant_id AND o.id = k.response_event
       WHERE k.key = ANY($1) ORDER BY k.key = $2 DESC`,
      [[paid, declined], paid],
    );
    expect(stored.rows.map(({ response_body, type, object }) => ({ response_body, type, object }))).toEqual([
      { response_body: null, type: 'payment_intent.succeeded', object: payment.text },
      { response_body: decline.text, type: null, object: null },
    ]);
    for (const [key, first, form] of [
      [paid, payment, payForm(`once-${paid}`)],
      [declined, decline, `amount=1500&currency=usd&payment_method=pm_card_chargeDeclined&confirm=true`],
    ] as const) {
      const replay = await post('/v1/payment_intents', form, { key });
      expect([replay.status, replay.text, replay.headers.get('idempotent-replayed')]).toEqual([first.status, first.text, 'true']);
    }
  });

  it('the same parameters in another order are the same request', async () => {
    const key = newKey();
    const first = await post('/v1/customers', 'name=Ada&email=ada@example.com&metadata[a]=1&metadata[b]=2', { key });
    const second = await post('/v1/customers', 'metadata[b]=2&email=ada@example.com&metadata[a]=1&name=Ada', { key });
    expect(second.status).toBe(200);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body.id).toBe(first.body.id);
  });

  it('replays a declined payment as the same card error, without a second attempt', async () => {
    const key = newKey();
    const marker = `decline-${key}`;
    const form = `amount=1500&currency=usd&payment_method=pm_card_chargeDeclined&confirm=true&description=${marker}`;
    const first = await post('/v1/payment_intents', form, { key });
    expect(first.status).toBe(402);
    expect(first.body.error).toMatchObject({ type: 'card_error', code: 'card_declined', decline_code: 'generic_decline' });
    const authorizations = await connector.sandbox.authorizations();
    const second = await post('/v1/payment_intents', form, { key });
    expect(second.status).toBe(402);
    expect(second.text).toBe(first.text);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await connector.sandbox.authorizations()).toBe(authorizations);
    expect(await intentsDescribed(marker)).toBe(1);
    expect(await chargesDescribed(marker)).toBe(1);
  });

  it('the SDK sees the same object and a StripeCardError on replay', async () => {
    const idempotencyKey = newKey();
    const params = { amount: 2500, currency: 'usd', payment_method: 'pm_card_visa', confirm: true };
    const first = await t.stripe.paymentIntents.create(params, { idempotencyKey });
    const second = await t.stripe.paymentIntents.create(params, { idempotencyKey });
    expect(second.id).toBe(first.id);
    expect(second.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(second.lastResponse.idempotencyKey).toBe(idempotencyKey);

    const declineKey = newKey();
    const declined = { ...params, payment_method: 'pm_card_visa_chargeDeclinedInsufficientFunds' };
    // One after the other: at the same time, the second would rightly get 409 idempotency_key_in_use.
    const errors = [];
    for (let i = 0; i < 2; i++) errors.push(await t.stripe.paymentIntents.create(declined, { idempotencyKey: declineKey }).catch((e: unknown) => e));
    expect((errors[1] as Stripe.errors.StripeError).headers?.['idempotent-replayed']).toBe('true');
    for (const error of errors) {
      expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
      expect(error).toMatchObject({ code: 'card_declined', decline_code: 'insufficient_funds' });
    }
  });

  it('echoes the Idempotency-Key and gives every request, replays too, its own Request-Id', async () => {
    const key = newKey();
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await post('/v1/customers', 'name=echo', { key }));
    for (const answer of answers) expect(answer.headers.get('idempotency-key')).toBe(key);
    const ids = answers.map((answer) => answer.headers.get('request-id'));
    for (const id of ids) expect(id).toMatch(/^req_/);
    expect(new Set(ids).size).toBe(ids.length);
    const plain = await Promise.all([1, 2, 3].map(() => fetch(`${t.url}/v1/customers`, { headers: { authorization: `Bearer ${t.secret_key}` } })));
    const plain_ids = plain.map((response) => response.headers.get('request-id'));
    expect(new Set([...ids, ...plain_ids]).size).toBe(ids.length + plain_ids.length);
    for (const response of plain) expect(response.headers.get('idempotency-key')).toBeNull();
  });
});

describe('a key is bound to its parameters and its merchant', () => {
  it('other parameters with the same key are an idempotency_error, and nothing is created', async () => {
    const key = newKey();
    const marker = `mismatch-${key}`;
    const first = await post('/v1/payment_intents', payForm(marker), { key });
    expect(first.status).toBe(200);
    const other = await post('/v1/payment_intents', payForm(marker).replace('amount=1500', 'amount=1600'), { key });
    expect(other.status).toBe(400);
    expect(other.body.error).toMatchObject({ type: 'idempotency_error', code: 'idempotency_error' });
    expect(other.headers.get('idempotent-replayed')).toBeNull();
    const other_path = await post('/v1/customers', 'name=x', { key });
    expect(other_path.body.error).toMatchObject({ type: 'idempotency_error', code: 'idempotency_error' });
    expect(await intentsDescribed(marker)).toBe(1);
  });

  it('the SDK raises StripeIdempotencyError', async () => {
    const idempotencyKey = newKey();
    await t.stripe.customers.create({ name: 'one' }, { idempotencyKey });
    const error = await t.stripe.customers.create({ name: 'two' }, { idempotencyKey }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(error).toMatchObject({ type: 'StripeIdempotencyError', statusCode: 400 });
  });

  it('the same key used by two merchants names two independent requests', async () => {
    const other = await t.newMerchant();
    const key = newKey();
    const marker = `merchants-${key}`;
    const mine = await post('/v1/payment_intents', payForm(marker), { key });
    const theirs = await post('/v1/payment_intents', payForm(marker), { key, secret_key: other.secret_key });
    expect(mine.status).toBe(200);
    expect(theirs.status).toBe(200);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    expect(theirs.body.id).not.toBe(mine.body.id);
    expect(await intentsDescribed(marker)).toBe(2);
    // Each merchant's replay is its own response.
    const their_replay = await post('/v1/payment_intents', payForm(marker), { key, secret_key: other.secret_key });
    expect(their_replay.body.id).toBe(theirs.body.id);
    // And parameters differing between merchants are no conflict.
    const key2 = newKey();
    expect((await post('/v1/customers', 'name=a', { key: key2 })).status).toBe(200);
    expect((await post('/v1/customers', 'name=b', { key: key2, secret_key: other.secret_key })).status).toBe(200);
  });
});

describe('what is stored', () => {
  it('a parameter validation error is not stored: the key then works with corrected parameters', async () => {
    const key = newKey();
    const marker = `fixed-${key}`;
    const bad = await post('/v1/payment_intents', payForm(marker).replace('amount=1500', 'amount=abc'), { key });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'parameter_invalid_integer', param: 'amount' });
    expect(await keyRow(key)).toBeUndefined();
    const good = await post('/v1/payment_intents', payForm(marker), { key });
    expect(good.status).toBe(200);
    expect(good.headers.get('idempotent-replayed')).toBeNull();
    expect(await intentsDescribed(marker)).toBe(1);
  });

  it('an amount below the currency minimum is a validation error too, and not stored', async () => {
    const key = newKey();
    const small = await post('/v1/payment_intents', 'amount=10&currency=usd', { key });
    expect(small.body.error).toMatchObject({ code: 'amount_too_small', param: 'amount' });
    expect(await keyRow(key)).toBeUndefined();
    const good = await post('/v1/payment_intents', 'amount=1000&currency=usd', { key });
    expect(good.status).toBe(200);
  });

  it('an error from the operation itself is stored and replayed', async () => {
    const key = newKey();
    const missing = await post('/v1/payment_intents', 'amount=1000&currency=usd&customer=cus_nope', { key });
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'resource_missing', param: 'customer' });
    expect((await keyRow(key))?.response_status).toBe(404);
    const again = await post('/v1/payment_intents', 'amount=1000&currency=usd&customer=cus_nope', { key });
    expect(again.text).toBe(missing.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const changed = await post('/v1/payment_intents', 'amount=1000&currency=usd', { key });
    expect(changed.body.error?.code).toBe('idempotency_error');
  });

  it('a 256-character key is rejected and nothing is stored', async () => {
    const key = 'k'.repeat(256);
    const answer = await post('/v1/customers', 'name=long', { key });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'idempotency_key_invalid', param: 'Idempotency-Key' });
    expect(await count('SELECT count(*)::int AS n FROM gateway.idempotency_keys WHERE length(key) > 255', [])).toBe(0);
  });
});

describe('concurrent requests with one key', () => {
  it('20 parallel payments with one key make one intent and one charge; the rest wait their turn', async () => {
    connector.latency_ms = 60;
    try {
      const key = newKey();
      const marker = `parallel-${key}`;
      const authorizations = await connector.sandbox.authorizations();
      const answers = await Promise.all(Array.from({ length: 20 }, () => post('/v1/payment_intents', payForm(marker), { key })));
      const ok = answers.filter((answer) => answer.status === 200);
      const busy = answers.filter((answer) => answer.status === 409);
      expect(ok.length + busy.length, answers.map((a) => `${a.status} ${a.text.slice(0, 120)}`).join('\n')).toBe(20);
      expect(ok.length).toBeGreaterThanOrEqual(1);
      expect(busy.length).toBeGreaterThanOrEqual(1);
      expect(new Set(ok.map((answer) => answer.body.id)).size).toBe(1);
      for (const answer of ok) expect(answer.body.status).toBe('succeeded');
      for (const answer of busy) expect(answer.body.error).toMatchObject({ type: 'invalid_request_error', code: 'idempotency_key_in_use' });
      expect(await intentsDescribed(marker)).toBe(1);
      expect(await chargesDescribed(marker)).toBe(1);
      expect((await connector.sandbox.authorizations()) - authorizations).toBe(1);
      // Once the first finished, every retry is a replay of it.
      const retry = await post('/v1/payment_intents', payForm(marker), { key });
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(retry.body.id).toBe(ok[0]?.body.id);
    } finally {
      connector.latency_ms = 0;
    }
  });

  it('parallel requests with one key but different parameters: one runs, none runs twice', async () => {
    connector.latency_ms = 30;
    try {
      const key = newKey();
      const marker = `parallel-mixed-${key}`;
      const forms = Array.from({ length: 10 }, (_, i) => payForm(marker).replace('amount=1500', `amount=${1500 + (i % 2)}`));
      const answers = await Promise.all(forms.map((form) => post('/v1/payment_intents', form, { key })));
      for (const answer of answers) expect([200, 400, 409]).toContain(answer.status);
      expect(new Set(answers.filter((a) => a.status === 200).map((a) => a.body.id)).size).toBeLessThanOrEqual(1);
      expect(await intentsDescribed(marker)).toBe(1);
    } finally {
      connector.latency_ms = 0;
    }
  });
});

describe('recovery after a request died holding its key', () => {
  it('a failure after the processor answered frees the key; the retry reuses the reserved ids and charges once', async () => {
    const key = newKey();
    const marker = `lost-answer-${key}`;
    const authorizations = await connector.sandbox.authorizations();
    connector.fail_after_authorize = 1;
    const failed = await post('/v1/payment_intents', payForm(marker), { key });
    expect(failed.status).toBe(500);
    expect(failed.body.error).toMatchObject({ type: 'api_error', code: 'api_error' });
    expect(failed.headers.get('stripe-should-retry')).toBe('true');
    expect((await connector.sandbox.authorizations()) - authorizations).toBe(1);
    const row = await keyRow(key);
    expect(row?.response_status).toBeNull();
    const reserved = row?.reserved_ids ?? {};
    // The attempt was recorded before the processor was called: the intent waits in `processing`.
    const left = await t.stripe.paymentIntents.retrieve(reserved.payment_intent ?? '');
    expect(left.status).toBe('processing');
    expect(await chargesDescribed(marker)).toBe(0);

    const retried = await post('/v1/payment_intents', payForm(marker), { key });
    expect(retried.status).toBe(200);
    expect(retried.body.status).toBe('succeeded');
    expect(retried.body.id).toBe(reserved.payment_intent);
    expect(retried.body.latest_charge).toBe(reserved.charge);
    // The processor answered the same attempt id from its record: still one authorization.
    expect((await connector.sandbox.authorizations()) - authorizations).toBe(1);
    expect(await intentsDescribed(marker)).toBe(1);
    expect(await chargesDescribed(marker)).toBe(1);
  });

  it('without a key and without a retry, the sweeper records the answer the processor gave', async () => {
    const marker = `swept-${randomUUID()}`;
    const authorizations = await connector.sandbox.authorizations();
    connector.fail_after_authorize = 1;
    const failed = await post('/v1/payment_intents', payForm(marker));
    expect(failed.status).toBe(500);
    // Nobody retries: the sweeper asks the processor and records its authorization as the charge.
    await sweptToSucceeded(marker);
    expect(await chargesDescribed(marker)).toBe(1);
    expect(await connector.sandbox.authorizations()).toBe(authorizations + 1);
    expect(
      await count(
        `SELECT count(*)::int AS n FROM payments.processor_calls c JOIN payments.payment_intents i ON i.id = c.payment_intent_id WHERE i.state->>'description' = $1 AND c.status = 'pending'`,
        [marker],
      ),
    ).toBe(0);
  });

  it('settles a call whose hand-over to the sweeper the database refused, though the process holding it lives on', async () => {
    const key = newKey();
    const marker = `refused-orphan-${key}`;
    connector.fail_after_authorize = 1;
    const failed = await post('/v1/payment_intents', payForm(marker), { key });
    expect(failed.status).toBe(500);
    const lease = await t.owner.query<{ holder_lease: string }>('SELECT holder_lease FROM gateway.idempotency_keys WHERE key = $1', [key]);
    // As if the write handing the call to the sweeper had been refused: the call still names this live process.
    const restored = await t.owner.query(
      `UPDATE payments.processor_calls c SET holder_lease = $2 FROM payments.payment_intents i
        WHERE i.id = c.payment_intent_id AND i.state->>'description' = $1 AND c.status = 'pending'`,
      [marker, lease.rows[0]?.holder_lease],
    );
    expect(restored.rowCount).toBe(1);
    // No request of this process waits on it any more: settled in seconds, not after the ten minutes a live holder gets.
    await sweptToSucceeded(marker);
    expect(await chargesDescribed(marker)).toBe(1);
  });

  it('settles a call journaled with no holder whose hand-over the database refused, while the process lives on', async () => {
    const key = newKey();
    const marker = `unheld-orphan-${key}`;
    // The database refuses every hand-over (holder 0) while this trigger exists.
    await t.owner.query(`CREATE FUNCTION public.refuse_hand_over() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hand-over refused'; END $$`);
    await t.owner.query(
      'CREATE TRIGGER refuse_hand_over BEFORE UPDATE ON payments.processor_calls FOR EACH ROW WHEN (NEW.holder_lease = 0) EXECUTE FUNCTION public.refuse_hand_over()',
    );
    try {
      connector.fail_after_authorize = 1;
      expect((await post('/v1/payment_intents', payForm(marker), { key })).status).toBe(500);
    } finally {
      await t.owner.query('DROP TRIGGER refuse_hand_over ON payments.processor_calls');
      await t.owner.query('DROP FUNCTION public.refuse_hand_over()');
    }
    // As if the call had been journaled while the process lease was being taken again: it names no holder.
    const unheld = await t.owner.query(
      `UPDATE payments.processor_calls c SET holder_lease = NULL FROM payments.payment_intents i
        WHERE i.id = c.payment_intent_id AND i.state->>'description' = $1 AND c.status = 'pending' AND c.holder_lease <> 0`,
      [marker],
    );
    expect(unheld.rowCount).toBe(1);
    // This process remembers the hand-over it could not write: settled in seconds, not after ten minutes.
    await sweptToSucceeded(marker);
    expect(await chargesDescribed(marker)).toBe(1);
  });

  it('a lock held by a live request is in use; once stale, a retry takes it over and the late original cannot write', async () => {
    const key = newKey();
    const marker = `stale-${key}`;
    const authorizations = await connector.sandbox.authorizations();
    const held = connector.holdNext();
    const original = post('/v1/payment_intents', payForm(marker), { key });
    try {
      await held.reached;
      const busy = await post('/v1/payment_intents', payForm(marker), { key });
      expect(busy.status).toBe(409);
      expect(busy.body.error?.code).toBe('idempotency_key_in_use');

      // The original is presumed dead once its lock is older than the stale limit.
      await t.platform.database.pool.query('UPDATE gateway.idempotency_keys SET locked_at_ms = $2 WHERE key = $1', [
        key,
        Date.now() - IDEMPOTENCY_LOCK_STALE_MS - 1000,
      ]);
      const reserved = (await keyRow(key))?.reserved_ids ?? {};
      const retried = await post('/v1/payment_intents', payForm(marker), { key });
      expect(retried.status).toBe(200);
      expect(retried.body.id).toBe(reserved.payment_intent);
      expect(retried.body.latest_charge).toBe(reserved.charge);
      expect((await connector.sandbox.authorizations()) - authorizations).toBe(1);
    } finally {
      held.release();
    }
    // The original wakes up after losing its lock: it must not write a second intent, nor fail as a 500.
    const late = await original;
    expect(late.status, late.text).toBe(409);
    expect(late.body.error?.code).toBe('lock_timeout');
    expect(await intentsDescribed(marker)).toBe(1);
    expect(await chargesDescribed(marker)).toBe(1);
    const replay = await post('/v1/payment_intents', payForm(marker), { key });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.status).toBe('succeeded');
  });

  /** Leaves the in-flight row a process that crashed mid-request would leave, with its own reserved ids. */
  async function plantInFlight(key: string, form: string, locked_at_ms: number): Promise<Record<string, string>> {
    const merchant = await t.platform.database.pool.query<{ merchant_id: string }>(
      'SELECT merchant_id FROM merchants.api_keys WHERE kind = $1 ORDER BY created, merchant_id LIMIT 1',
      ['secret'],
    );
    const ids = new UlidGenerator();
    const reserved = {
      payment_intent: ids.next('payment_intent'),
      charge: ids.next('charge'),
      refund: ids.next('refund'),
      customer: ids.next('customer'),
      payment_method: ids.next('payment_method'),
    };
    await t.platform.database.pool.query(
      `INSERT INTO gateway.idempotency_keys (merchant_id, key, request_hash, lock_token, locked_at_ms, reserved_ids, created_at_ms)
       VALUES ($1, $2, $3, 'crashed-process', $4, $5::json, $4)`,
      [
        merchant.rows[0]?.merchant_id,
        key,
        requestHash(t.platform.idempotency_hash_key, 'POST', '/v1/payment_intents', qs.parse(form)),
        locked_at_ms,
        JSON.stringify(reserved),
      ],
    );
    return reserved;
  }

  it('an in-flight row left by a crashed process is taken over once stale, with its reserved ids', async () => {
    const key = newKey();
    const marker = `crashed-${key}`;
    const form = payForm(marker);
    const reserved = await plantInFlight(key, form, Date.now());
    const busy = await post('/v1/payment_intents', form, { key });
    expect(busy.body.error?.code).toBe('idempotency_key_in_use');

    await t.platform.database.pool.query('UPDATE gateway.idempotency_keys SET locked_at_ms = $2 WHERE key = $1', [
      key,
      Date.now() - IDEMPOTENCY_LOCK_STALE_MS - 1,
    ]);
    const taken = await post('/v1/payment_intents', form, { key });
    expect(taken.status).toBe(200);
    expect(taken.body.id).toBe(reserved.payment_intent);
    expect(taken.body.latest_charge).toBe(reserved.charge);
    expect(await intentsDescribed(marker)).toBe(1);
    const row = await keyRow(key);
    expect(row?.response_status).toBe(200);
    expect(row?.locked_at_ms).toBeNull();
  });

  it('a validation error in a taken-over request is stored, keeping the dead request’s reserved ids', async () => {
    const key = newKey();
    const form = 'amount=10&currency=usd';
    const reserved = await plantInFlight(key, form, Date.now() - IDEMPOTENCY_LOCK_STALE_MS - 1);
    const small = await post('/v1/payment_intents', form, { key });
    expect(small.body.error?.code).toBe('amount_too_small');
    const row = await keyRow(key);
    expect(row?.response_status).toBe(400);
    expect(row?.reserved_ids).toEqual(reserved);
    const again = await post('/v1/payment_intents', form, { key });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });

  it('a lock just younger than the stale limit is still in use', async () => {
    const key = newKey();
    const held = connector.holdNext();
    const original = post('/v1/payment_intents', payForm(`young-${key}`), { key });
    try {
      await held.reached;
      await t.platform.database.pool.query('UPDATE gateway.idempotency_keys SET locked_at_ms = $2 WHERE key = $1', [
        key,
        Date.now() - IDEMPOTENCY_LOCK_STALE_MS + 5000,
      ]);
      const busy = await post('/v1/payment_intents', payForm(`young-${key}`), { key });
      expect(busy.body.error?.code).toBe('idempotency_key_in_use');
    } finally {
      held.release();
    }
    expect((await original).status).toBe(200);
  });
});

describe('nothing is held while the processor answers', () => {
  it('other payments commit, post to the ledger and can be refunded while one waits on the processor', async () => {
    // A confirm of an existing intent: it used to run inside a transaction holding the intent's row lock.
    const intent_id = (await t.stripe.paymentIntents.create({ amount: 1500, currency: 'usd', payment_method: 'pm_card_visa' })).id;
    const held = connector.holdNext();
    const waiting = post(`/v1/payment_intents/${intent_id}/confirm`, '', { key: newKey() });
    try {
      await held.reached;
      // The waiting attempt is recorded first: its intent is visibly `processing`, and it cannot be confirmed twice.
      expect((await t.stripe.paymentIntents.retrieve(intent_id)).status).toBe('processing');
      const again = await post(`/v1/payment_intents/${intent_id}/confirm`, 'payment_method=pm_card_visa');
      expect(again.body.error?.code).toBe('payment_intent_unexpected_state');

      // An unrelated payment completes, reaches the ledger and is refunded meanwhile: no row lock or
      // open transaction of the waiting one holds anything back.
      const other = await t.stripe.paymentIntents.create({ amount: 4321, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
      expect(other.status).toBe('succeeded');
      await waitFor(async () => (await t.stripe.balanceTransactions.list({ limit: 20 })).data.some((txn) => txn.source === other.latest_charge), 5_000);
      const refund = await t.stripe.refunds.create({ payment_intent: other.id });
      expect(refund.status).toBe('succeeded');
    } finally {
      held.release();
    }
    const answered = await waiting;
    expect(answered.body.status).toBe('succeeded');
  });
});

describe('refunds whose answer was lost', () => {
  const refundedAtProcessor = (refund_id: string) => count(`SELECT count(*)::int AS n FROM sandbox.refunds WHERE refund_id = $1`, [refund_id]);

  it('the retry with the key asks the processor and records the refund once', async () => {
    const paid = await t.stripe.paymentIntents.create({ amount: 3000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    const key = newKey();
    connector.fail_after_refund = 1;
    const lost = await post('/v1/refunds', `payment_intent=${paid.id}&amount=1200`, { key });
    expect(lost.status).toBe(500);
    const refund_id = (await keyRow(key))?.reserved_ids.refund ?? '';
    expect((await t.stripe.refunds.retrieve(refund_id)).status).toBe('pending');

    const retried = await post('/v1/refunds', `payment_intent=${paid.id}&amount=1200`, { key });
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ id: refund_id, status: 'succeeded', amount: 1200 });
    expect(await refundedAtProcessor(refund_id)).toBe(1);
    expect((await t.stripe.charges.retrieve(chargeIdOf(paid))).amount_refunded).toBe(1200);
    expect(await count(`SELECT count(*)::int AS n FROM events.outbox WHERE type = 'refund.created' AND object_id = $1`, [refund_id])).toBe(1);
  });

  it('without a key or a retry, the sweeper records the refund the processor made', async () => {
    const paid = await t.stripe.paymentIntents.create({ amount: 3000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    connector.fail_after_refund = 1;
    const lost = await post('/v1/refunds', `payment_intent=${paid.id}&amount=700`);
    expect(lost.status).toBe(500);
    const pending = await t.stripe.refunds.list({ payment_intent: paid.id });
    expect(pending.data.map((refund) => refund.status)).toEqual(['pending']);
    const refund_id = pending.data[0]?.id ?? '';
    await waitFor(async () => (await t.stripe.refunds.retrieve(refund_id)).status === 'succeeded', 20_000);
    expect(await refundedAtProcessor(refund_id)).toBe(1);
    expect((await t.stripe.charges.retrieve(chargeIdOf(paid))).amount_refunded).toBe(700);
  });
});

describe('changes racing the processor', () => {
  const THREE_D_SECURE = 'pm_card_authenticationRequired';

  it('a cancel while 3-D Secure completes at the processor is refused, and the payment is recorded', async () => {
    const waiting = await t.stripe.paymentIntents.create({ amount: 2400, currency: 'usd', payment_method: THREE_D_SECURE, confirm: true });
    expect(waiting.status).toBe('requires_action');
    const held = connector.holdNext();
    const completing = post(`/v1/test_helpers/payment_intents/${waiting.id}/authenticate`, 'outcome=succeeded');
    try {
      await held.reached; // the processor has authorized and captured; its answer is on the way
      const cancel = await post(`/v1/payment_intents/${waiting.id}/cancel`, '');
      expect(cancel.status).toBe(400);
      expect(cancel.body.error?.code).toBe('payment_intent_unexpected_state');
      const update = await post(`/v1/payment_intents/${waiting.id}`, 'description=changed');
      expect(update.body.error?.code).toBe('payment_intent_unexpected_state');
    } finally {
      held.release();
    }
    expect((await completing).body.status).toBe('succeeded');
    const after = await t.stripe.paymentIntents.retrieve(waiting.id);
    expect(after.status).toBe('succeeded');
    expect((await t.stripe.charges.retrieve(chargeIdOf(after))).amount_captured).toBe(2400);
  });

  it('the amount of an intent waiting for 3-D Secure cannot change under the processor', async () => {
    const waiting = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', payment_method: THREE_D_SECURE, confirm: true });
    const update = await post(`/v1/payment_intents/${waiting.id}`, 'amount=1500');
    expect(update.status).toBe(400);
    expect(update.body.error).toMatchObject({ code: 'payment_intent_unexpected_state', param: 'amount' });
    expect((await t.stripe.paymentIntents.retrieve(waiting.id)).amount).toBe(1000);
  });

  it('a capture retried after its answer was lost records what the processor captured, and cancel then says to refund', async () => {
    const authorized = await t.stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      capture_method: 'manual',
      confirm: true,
    });
    connector.fail_after_capture = 1;
    const lost = await post(`/v1/payment_intents/${authorized.id}/capture`, 'amount_to_capture=500');
    expect(lost.status).toBe(500);
    const cancel = await post(`/v1/payment_intents/${authorized.id}/cancel`, '');
    expect(cancel.status).toBe(400);
    expect(cancel.body.error?.code).toBe('payment_intent_unexpected_state');
    const retried = await post(`/v1/payment_intents/${authorized.id}/capture`, '');
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ status: 'succeeded', amount_received: 500 });
    expect((await t.stripe.charges.retrieve(chargeIdOf(await t.stripe.paymentIntents.retrieve(authorized.id)))).amount_captured).toBe(500);
  });
});

async function waitFor(check: () => Promise<boolean>, timeout_ms: number): Promise<void> {
  const deadline = Date.now() + timeout_ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(50);
  }
}
