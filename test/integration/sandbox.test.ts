import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssertionError } from '../../src/kernel/assert.js';
import { ManualClock } from '../../src/kernel/clock.js';
import type { Pool } from '../../src/platform/db.js';
import { createPool } from '../../src/platform/db.js';
import type { SandboxOptions } from '../../src/services/connectors/adapters/sandbox.js';
import { SandboxProcessor } from '../../src/services/connectors/adapters/sandbox.js';
import type { AuthorizeRequest } from '../../src/services/connectors/domain/port.js';
import { createMigratedPool } from '../support/database.js';

/**
 * The sandbox processor on real PostgreSQL: Stripe's test cards, and a record that outlives the
 * instance and is shared by every process on the database. `pool` and `other_pool` stand for two API
 * processes: separate connections, one database.
 */

let pool: Pool;
let other_pool: Pool;
let drop: () => Promise<void>;
beforeAll(async () => {
  const database = await createMigratedPool(10);
  pool = database.pool;
  drop = () => database.drop();
  other_pool = createPool(database.url, 10);
});
afterAll(async () => {
  await other_pool?.end();
  await drop?.();
});

const sandbox = (options: Partial<SandboxOptions> = {}) => new SandboxProcessor({ pool, ...options });

const DAY_MS = 86_400_000;
const VISA = '4242424242424242';
let attempt_sequence = 0;

function request(number: string, overrides: Partial<AuthorizeRequest> = {}): AuthorizeRequest {
  attempt_sequence += 1;
  return {
    attempt_id: `ch_test_${attempt_sequence}`,
    merchant_id: 'acct_test',
    amount: 2000,
    currency: 'usd',
    card: { number, exp_month: 12, exp_year: 2034, cvc: '123' },
    capture: true,
    ...overrides,
  };
}

async function authorizedAttempt(processor: SandboxProcessor, capture: boolean, amount = 2000): Promise<string> {
  const authorization = request(VISA, { capture, amount });
  expect(await processor.authorize(authorization)).toMatchObject({ outcome: 'authorized', captured: capture });
  return authorization.attempt_id;
}

async function attemptRow(attempt_id: string): Promise<Record<string, unknown> | undefined> {
  const found = await pool.query<Record<string, unknown>>('SELECT * FROM sandbox.attempts WHERE attempt_id = $1', [attempt_id]);
  return found.rows[0];
}

describe('SandboxProcessor authorize', () => {
  it.each([VISA, '5555555555554444', '378282246310005', '6011111111111117', '4000056655665556'])('approves %s', async (number) => {
    expect(await sandbox().authorize(request(number))).toEqual({ outcome: 'authorized', captured: true, cvc_check: 'pass' });
  });

  it('leaves the charge uncaptured when capture is false', async () => {
    expect(await sandbox().authorize(request(VISA, { capture: false }))).toEqual({ outcome: 'authorized', captured: false, cvc_check: 'pass' });
  });

  it.each([
    ['4000000000000002', 'card_declined', 'generic_decline', 'Your card was declined.', 'pass'],
    ['4000000000009995', 'card_declined', 'insufficient_funds', 'Your card has insufficient funds.', 'pass'],
    ['4000000000009987', 'card_declined', 'lost_card', 'Your card was declined.', 'pass'],
    ['4000000000009979', 'card_declined', 'stolen_card', 'Your card was declined.', 'pass'],
    ['4000000000000069', 'expired_card', 'expired_card', 'Your card has expired.', 'pass'],
    ['4000000000000127', 'incorrect_cvc', 'incorrect_cvc', "Your card's security code is incorrect.", 'fail'],
    ['4000000000000119', 'processing_error', 'processing_error', 'An error occurred while processing your card. Try again in a little bit.', 'pass'],
  ])('declines %s with %s / %s', async (number, code, decline_code, message, cvc_check) => {
    expect(await sandbox().authorize(request(number))).toEqual({ outcome: 'declined', code, decline_code, message, cvc_check });
  });

  it('declines a number that fails the Luhn check', async () => {
    expect(await sandbox().authorize(request('4242424242424241'))).toMatchObject({ outcome: 'declined', decline_code: 'incorrect_number' });
  });

  it('reports an unchecked cvc when none is given', async () => {
    const processor = sandbox();
    const without_cvc = (number: string): AuthorizeRequest => {
      const base = request(number);
      return { ...base, card: { ...base.card, cvc: undefined } };
    };
    expect(await processor.authorize(without_cvc(VISA))).toMatchObject({ outcome: 'authorized', cvc_check: 'unchecked' });
    expect(await processor.authorize(without_cvc('4000000000009995'))).toMatchObject({ outcome: 'declined', cvc_check: 'unchecked' });
  });

  it('answers a repeated attempt from its record without charging again', async () => {
    const processor = sandbox();
    const before = await processor.authorizations();
    const first = request(VISA);
    const original = await processor.authorize(first);
    // A retry with a different card must still get the first answer: nothing is decided twice.
    const retried = await processor.authorize({ ...first, card: { ...first.card, number: '4000000000000002' } });
    expect(retried).toEqual(original);
    expect(await processor.authorizations()).toBe(before + 1);
    expect(await processor.authorizeCalls(first.attempt_id)).toBe(2);
    await processor.authorize(request(VISA));
    expect(await processor.authorizations()).toBe(before + 2);
  });

  it('charges once when retries of one attempt race during latency', async () => {
    const processor = sandbox({ latency_ms: 5 });
    const before = await processor.authorizations();
    const attempt = request(VISA);
    const results = await Promise.all([processor.authorize(attempt), processor.authorize(attempt), processor.authorize(attempt)]);
    expect(new Set(results.map((result) => JSON.stringify(result))).size).toBe(1);
    expect(await processor.authorizations()).toBe(before + 1);
    expect(await processor.authorizeCalls(attempt.attempt_id)).toBe(3);
  });

  it('waits latency_ms on a timer without blocking the event loop', async () => {
    const processor = sandbox({ latency_ms: 30 });
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 1);
    const started_ms = performance.now();
    await processor.authorize(request(VISA));
    clearInterval(ticker);
    expect(performance.now() - started_ms).toBeGreaterThanOrEqual(25);
    expect(ticks).toBeGreaterThan(0);
  });

  it('stores amounts and outcomes but never the card number or cvc', async () => {
    const cvc = '739';
    const attempt = request('5555555555554444', { card: { number: '5555555555554444', exp_month: 12, exp_year: 2034, cvc } });
    const processor = sandbox();
    await processor.authorize(attempt);
    await processor.refund(`re_${attempt.attempt_id}`, attempt.attempt_id, 500);
    const columns = await pool.query<{ table_name: string; column_name: string }>(`
      SELECT table_name, column_name FROM information_schema.columns
      WHERE table_schema = 'sandbox' AND data_type IN ('text', 'jsonb')`);
    expect(columns.rows.length).toBeGreaterThan(5);
    const stored: string[] = [];
    for (const { table_name, column_name } of columns.rows) {
      const values = await pool.query<{ value: string | null }>(`SELECT "${column_name}"::text AS value FROM sandbox."${table_name}"`);
      stored.push(...values.rows.flatMap((row) => (row.value === null ? [] : [row.value])));
    }
    expect(stored).toContain(attempt.attempt_id);
    expect(stored.filter((value) => value.includes('555555') || value.includes(cvc))).toEqual([]);
  });
});

describe('SandboxProcessor 3-D Secure', () => {
  const THREE_DS_CARD = '4000002760003184';

  it('requires action until authenticated, then authorizes per the capture flag', async () => {
    const processor = sandbox();
    const before = await processor.authorizations();
    const attempt = request(THREE_DS_CARD, { capture: false });
    expect(await processor.authorize(attempt)).toEqual({ outcome: 'requires_action' });
    expect(await processor.authorize(attempt)).toEqual({ outcome: 'requires_action' });
    const completed = await processor.completeAuthentication(attempt.attempt_id, true);
    expect(completed).toEqual({ outcome: 'authorized', captured: false, cvc_check: 'pass' });
    expect(await processor.authorize(attempt)).toEqual(completed);
    expect(await processor.authorizations()).toBe(before + 1);
    expect(await processor.capture(attempt.attempt_id, 2000)).toEqual({ outcome: 'captured', amount_captured: 2000 });
  });

  it('captures on authentication when the request asked for automatic capture', async () => {
    const processor = sandbox();
    const attempt = request(THREE_DS_CARD, { capture: true });
    await processor.authorize(attempt);
    expect(await processor.completeAuthentication(attempt.attempt_id, true)).toMatchObject({ outcome: 'authorized', captured: true });
    expect(await processor.refund('re_3ds', attempt.attempt_id, 2000)).toEqual({ outcome: 'succeeded' });
  });

  it('declines when authentication fails, and keeps that answer', async () => {
    const processor = sandbox();
    const attempt = request(THREE_DS_CARD);
    await processor.authorize(attempt);
    const failed = await processor.completeAuthentication(attempt.attempt_id, false);
    expect(failed).toMatchObject({ outcome: 'declined', code: 'card_declined', decline_code: 'authentication_required' });
    expect(await processor.completeAuthentication(attempt.attempt_id, true)).toEqual(failed);
    expect(await processor.authorize(attempt)).toEqual(failed);
  });

  it('treats completing an unknown or voided attempt as a bug', async () => {
    const processor = sandbox();
    await expect(processor.completeAuthentication('ch_unknown', true)).rejects.toThrow(AssertionError);
    const attempt = request(THREE_DS_CARD);
    await processor.authorize(attempt);
    await processor.void(attempt.attempt_id);
    await expect(processor.completeAuthentication(attempt.attempt_id, true)).rejects.toThrow(AssertionError);
  });
});

describe('SandboxProcessor capture and void', () => {
  it('captures up to the authorized amount, once', async () => {
    const processor = sandbox();
    const attempt_id = await authorizedAttempt(processor, false);
    expect(await processor.capture(attempt_id, 2001)).toMatchObject({ outcome: 'failed' });
    expect(await processor.capture(attempt_id, 0)).toMatchObject({ outcome: 'failed' });
    expect(await processor.capture(attempt_id, 1500)).toEqual({ outcome: 'captured', amount_captured: 1500 });
    expect(await processor.capture(attempt_id, 2000)).toEqual({ outcome: 'captured', amount_captured: 1500 });
  });

  it('refuses to capture an unknown, declined, auto-captured or voided attempt', async () => {
    const processor = sandbox();
    expect(await processor.capture('ch_unknown', 100)).toMatchObject({ outcome: 'failed' });
    const declined = request('4000000000000002', { capture: false });
    await processor.authorize(declined);
    expect(await processor.capture(declined.attempt_id, 100)).toMatchObject({ outcome: 'failed' });
    const auto_captured = await authorizedAttempt(processor, true);
    expect(await processor.capture(auto_captured, 100)).toMatchObject({ outcome: 'failed' });
    const voided = await authorizedAttempt(processor, false);
    await processor.void(voided);
    await processor.void(voided);
    expect(await processor.capture(voided, 100)).toMatchObject({ outcome: 'failed', message: 'The authorization was voided.' });
  });

  it('treats voiding a captured attempt as a bug', async () => {
    const processor = sandbox();
    const attempt_id = await authorizedAttempt(processor, true);
    await expect(processor.void(attempt_id)).rejects.toThrow(AssertionError);
  });

  it('captures once when captures of different amounts race from two processes', async () => {
    const processes = [sandbox(), new SandboxProcessor({ pool: other_pool })];
    const attempt_id = await authorizedAttempt(processes[0] as SandboxProcessor, false);
    const amounts = [500, 600, 700, 800, 900, 1000];
    const results = await Promise.all(amounts.map((amount, i) => (processes[i % 2] as SandboxProcessor).capture(attempt_id, amount)));
    const captured = new Set(results.map((result) => (result.outcome === 'captured' ? result.amount_captured : -1)));
    expect(captured.size).toBe(1);
    expect(amounts).toContain([...captured][0]);
    expect(await attemptRow(attempt_id)).toMatchObject({ amount_captured: [...captured][0] });
  });

  it('lets exactly one of a racing capture and void win', async () => {
    const processor = sandbox();
    const other = new SandboxProcessor({ pool: other_pool });
    const attempt_id = await authorizedAttempt(processor, false);
    const [capture, voiding] = await Promise.allSettled([processor.capture(attempt_id, 2000), other.void(attempt_id)]);
    const captured = capture.status === 'fulfilled' && capture.value.outcome === 'captured';
    expect(captured).toBe(voiding.status === 'rejected');
    expect(await attemptRow(attempt_id)).toMatchObject(captured ? { amount_captured: 2000, voided: false } : { amount_captured: 0, voided: true });
  });
});

describe('SandboxProcessor refund', () => {
  it('refunds up to the captured amount in parts', async () => {
    const processor = sandbox();
    const attempt_id = await authorizedAttempt(processor, false);
    await processor.capture(attempt_id, 1500);
    expect(await processor.refund('re_1', attempt_id, 1000)).toEqual({ outcome: 'succeeded' });
    expect(await processor.refund('re_2', attempt_id, 501)).toMatchObject({ outcome: 'failed' });
    expect(await processor.refund('re_3', attempt_id, 500)).toEqual({ outcome: 'succeeded' });
    expect(await processor.refund('re_4', attempt_id, 1)).toMatchObject({ outcome: 'failed' });
  });

  it('is idempotent by refund id', async () => {
    const processor = sandbox();
    const attempt_id = await authorizedAttempt(processor, true);
    expect(await processor.refund('re_once', attempt_id, 1500)).toEqual({ outcome: 'succeeded' });
    expect(await processor.refund('re_once', attempt_id, 1500)).toEqual({ outcome: 'succeeded' });
    // Had the retry refunded again, only 0 would remain and this would fail.
    expect(await processor.refund('re_rest', attempt_id, 500)).toEqual({ outcome: 'succeeded' });
  });

  it('refuses to refund an uncaptured, declined or unknown attempt, and keeps that answer', async () => {
    const processor = sandbox();
    const uncaptured = await authorizedAttempt(processor, false);
    expect(await processor.refund('re_a', uncaptured, 100)).toMatchObject({ outcome: 'failed' });
    const declined = request('4000000000009995');
    await processor.authorize(declined);
    expect(await processor.refund('re_b', declined.attempt_id, 100)).toMatchObject({ outcome: 'failed' });
    expect(await processor.refund('re_c', 'ch_unknown', 100)).toMatchObject({ outcome: 'failed' });
    await processor.capture(uncaptured, 2000);
    // The first answer stands for that refund id, even though the attempt is refundable now.
    expect(await processor.refund('re_a', uncaptured, 100)).toEqual({ outcome: 'failed', message: 'The charge has not been captured.' });
  });

  it('never refunds beyond the captured amount when refunds race from two processes', async () => {
    const processes = [sandbox({ latency_ms: 2 }), new SandboxProcessor({ pool: other_pool, latency_ms: 2 })];
    const attempt_id = await authorizedAttempt(processes[0] as SandboxProcessor, true, 2000);
    const refund_count = 10;
    const results = await Promise.all(
      Array.from({ length: refund_count }, (_, i) => (processes[i % 2] as SandboxProcessor).refund(`re_race_${i}`, attempt_id, 300)),
    );
    expect(results.filter((result) => result.outcome === 'succeeded')).toHaveLength(6);
    expect(await attemptRow(attempt_id)).toMatchObject({ amount_captured: 2000, amount_refunded: 1800 });
  });

  it('refunds once when one refund id races from two processes', async () => {
    const processes = [sandbox(), new SandboxProcessor({ pool: other_pool })];
    const attempt_id = await authorizedAttempt(processes[0] as SandboxProcessor, true, 2000);
    const racers = 8;
    const results = await Promise.all(Array.from({ length: racers }, (_, i) => (processes[i % 2] as SandboxProcessor).refund('re_same', attempt_id, 500)));
    expect(results).toEqual(Array.from({ length: racers }, () => ({ outcome: 'succeeded' })));
    expect(await attemptRow(attempt_id)).toMatchObject({ amount_refunded: 500 });
  });
});

describe('the record outlives the process', () => {
  it('captures and refunds through a new instance on another pool after a restart', async () => {
    const before_restart = sandbox();
    const attempt = request(VISA, { capture: false });
    await before_restart.authorize(attempt);
    const after_restart = new SandboxProcessor({ pool: other_pool });
    expect(await after_restart.capture(attempt.attempt_id, 1800)).toEqual({ outcome: 'captured', amount_captured: 1800 });
    expect(await sandbox().refund('re_after_restart', attempt.attempt_id, 800)).toEqual({ outcome: 'succeeded' });
    // A repeat through yet another instance gets the first answers and moves nothing more.
    expect(await after_restart.authorize(attempt)).toEqual({ outcome: 'authorized', captured: false, cvc_check: 'pass' });
    expect(await after_restart.refund('re_after_restart', attempt.attempt_id, 800)).toEqual({ outcome: 'succeeded' });
    expect(await sandbox().attemptStatus(attempt.attempt_id)).toMatchObject({ found: true, amount_captured: 1800, amount_refunded: 800 });
  });

  it('authorizes once when two processes race one attempt id, even with different cards', async () => {
    const processes = [sandbox({ latency_ms: 3 }), new SandboxProcessor({ pool: other_pool, latency_ms: 3 })];
    const before = await (processes[0] as SandboxProcessor).authorizations();
    const attempt = request(VISA);
    const declining = { ...attempt, card: { ...attempt.card, number: '4000000000000002' } };
    const calls = 10;
    const results = await Promise.all(
      Array.from({ length: calls }, (_, i) => (processes[i % 2] as SandboxProcessor).authorize(i % 3 === 0 ? declining : attempt)),
    );
    expect(new Set(results.map((result) => JSON.stringify(result))).size).toBe(1);
    expect(await (processes[1] as SandboxProcessor).authorizeCalls(attempt.attempt_id)).toBe(calls);
    expect(await (processes[0] as SandboxProcessor).authorizations()).toBe(before + 1);
  });
});

describe('concurrent authorize calls', () => {
  it('records the calls of one turn with one statement, each answered with its own decision', async () => {
    const processor = sandbox();
    const attempts = [request(VISA), request('4000000000000002'), request(VISA, { capture: false }), request(VISA)];
    const results = await Promise.all(attempts.map((attempt) => processor.authorize(attempt)));
    expect(results.map((result) => result.outcome)).toEqual(['authorized', 'declined', 'authorized', 'authorized']);
    const rows = await pool.query<{ attempt_id: string; xmin: string; amount_captured: number }>(
      'SELECT attempt_id, xmin::text AS xmin, amount_captured FROM sandbox.attempts WHERE attempt_id = ANY($1) ORDER BY attempt_id',
      [attempts.map((attempt) => attempt.attempt_id)],
    );
    expect(rows.rows).toHaveLength(4);
    // One transaction wrote them all: the statement was shared.
    expect(new Set(rows.rows.map((row) => row.xmin)).size).toBe(1);
    expect(rows.rows.map((row) => row.amount_captured)).toEqual([2000, 0, 0, 2000]);
  });

  it('sends a repeat made in the same turn apart, and it gets the first answer without a second charge', async () => {
    const processor = sandbox();
    const before = await processor.authorizations();
    const first = request(VISA);
    const others = [request(VISA), request(VISA)];
    const repeat = { ...first, card: { ...first.card, number: '4000000000000002' } }; // a declining card: must not be decided anew
    const [original, ...rest] = await Promise.all([first, ...others, repeat].map((attempt) => processor.authorize(attempt)));
    expect(rest.at(-1)).toEqual(original);
    expect(original?.outcome).toBe('authorized');
    expect(await processor.authorizeCalls(first.attempt_id)).toBe(2);
    expect(await processor.authorizations()).toBe(before + 3);
  });

  it('fails only the call whose record is refused, never its neighbours', async () => {
    const processor = sandbox();
    const good = [request(VISA), request(VISA)];
    const refused = request(VISA, { amount: -1 }); // the table's CHECK refuses a negative amount
    const settled = await Promise.allSettled([processor.authorize(good[0]!), processor.authorize(refused), processor.authorize(good[1]!)]);
    expect(settled.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await attemptRow(refused.attempt_id)).toBeUndefined();
    for (const attempt of good) expect(await processor.authorizeCalls(attempt.attempt_id)).toBe(1);
  });
});

describe('status inquiry', () => {
  it('reports an attempt as recorded, and an unknown one as not found, changing nothing', async () => {
    const processor = sandbox();
    const attempt = request(VISA, { capture: false });
    expect(await processor.attemptStatus(attempt.attempt_id)).toEqual({ found: false });
    // The inquiry created no record: the authorize that follows is the first.
    await processor.authorize(attempt);
    expect(await processor.authorizeCalls(attempt.attempt_id)).toBe(1);
    await processor.capture(attempt.attempt_id, 1200);
    const row_before = await attemptRow(attempt.attempt_id);
    expect(await processor.attemptStatus(attempt.attempt_id)).toEqual({
      found: true,
      result: { outcome: 'authorized', captured: false, cvc_check: 'pass' },
      amount_captured: 1200,
      amount_refunded: 0,
      voided: false,
    });
    expect(await attemptRow(attempt.attempt_id)).toEqual(row_before);
  });

  it('reports a declined and a voided attempt as they are', async () => {
    const processor = sandbox();
    const declined = request('4000000000009995');
    await processor.authorize(declined);
    expect(await processor.attemptStatus(declined.attempt_id)).toMatchObject({
      found: true,
      result: { outcome: 'declined', decline_code: 'insufficient_funds' },
      amount_captured: 0,
    });
    const voided = await authorizedAttempt(processor, false);
    await processor.void(voided);
    expect(await processor.attemptStatus(voided)).toMatchObject({ found: true, voided: true, amount_captured: 0 });
  });

  it('reports a refund by id, succeeded or failed, and an unknown one as not found, changing nothing', async () => {
    const processor = sandbox();
    const attempt_id = await authorizedAttempt(processor, true, 1000);
    expect(await processor.refundStatus('re_status_ok')).toEqual({ found: false });
    // Asking first did not claim the id: the refund itself still runs.
    expect(await processor.refund('re_status_ok', attempt_id, 400)).toEqual({ outcome: 'succeeded' });
    expect(await processor.refund('re_status_too_much', attempt_id, 700)).toMatchObject({ outcome: 'failed' });
    expect(await processor.refundStatus('re_status_ok')).toEqual({ found: true, outcome: 'succeeded' });
    expect(await processor.refundStatus('re_status_too_much')).toEqual({
      found: true,
      outcome: 'failed',
      message: 'The refund amount must be between 1 and the unrefunded amount (600).',
    });
    expect(await attemptRow(attempt_id)).toMatchObject({ amount_refunded: 400 });
  });
});

describe('retention', () => {
  it('purges attempts and refunds older than the retention in batches, and keeps the rest', async () => {
    const now_ms = Date.now();
    const retention_days = 90;
    const old = sandbox({ clock: new ManualClock(now_ms - (retention_days + 1) * DAY_MS) });
    const kept = sandbox({ clock: new ManualClock(now_ms - (retention_days - 1) * DAY_MS) });
    const old_attempts = await Promise.all(Array.from({ length: 5 }, () => authorizedAttempt(old, true, 1000)));
    await old.refund('re_old', old_attempts[0] as string, 100);
    const kept_attempt = await authorizedAttempt(kept, true, 1000);
    await kept.refund('re_kept', kept_attempt, 100);

    const deleted = await sandbox({ retention_days }).purge(now_ms, 2);
    expect(deleted).toBe(old_attempts.length + 1);
    for (const attempt_id of old_attempts) expect(await old.attemptStatus(attempt_id)).toEqual({ found: false });
    expect(await old.refundStatus('re_old')).toEqual({ found: false });
    expect(await kept.attemptStatus(kept_attempt)).toMatchObject({ found: true, amount_refunded: 100 });
    expect(await kept.refundStatus('re_kept')).toEqual({ found: true, outcome: 'succeeded' });
    expect(await sandbox({ retention_days }).purge(now_ms, 2)).toBe(0);
  });

  it('follows retention_days', async () => {
    const now_ms = Date.now();
    const two_days_old = await authorizedAttempt(sandbox({ clock: new ManualClock(now_ms - 2 * DAY_MS) }), false);
    await sandbox({ retention_days: 3 }).purge(now_ms);
    expect(await attemptRow(two_days_old)).toBeDefined();
    await sandbox({ retention_days: 1 }).purge(now_ms);
    expect(await attemptRow(two_days_old)).toBeUndefined();
  });
});
