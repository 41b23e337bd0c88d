import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/kernel/clock.js';
import type { Pool } from '../../src/platform/db.js';
import { run } from '../../src/platform/db.js';
import { SandboxProcessor } from '../../src/services/connectors/adapters/sandbox.js';
import type { AuthorizeRequest, AuthorizeResult, Connector, ProcessorNotification } from '../../src/services/connectors/index.js';
import { ConnectorHealth, FaultyConnector, NO_FAULTS, ProcessorOutcomeUnknown, RoutedTries, RoutingConnector } from '../../src/services/connectors/index.js';
import { createMigratedPool } from '../support/database.js';
import { countingConnector, staticDirectory } from '../support/routing.js';

/**
 * The router on real PostgreSQL over two accounts of the real sandbox (one processor record, so a
 * charge under either account's reference is visible in sandbox.attempts): tries recorded before each
 * call, cascades only on confirmed failures, and everything after the authorization sent to the try
 * that holds the attempt.
 */

let pool: Pool;
let drop: () => Promise<void>;
let sandbox: SandboxProcessor;
beforeAll(async () => {
  const database = await createMigratedPool(10);
  pool = database.pool;
  drop = () => database.drop();
  sandbox = new SandboxProcessor({ pool });
});
afterAll(async () => {
  await drop?.();
});

const VISA = '4242424242424242';
let sequence = 0;
function request(number = VISA, overrides: Partial<AuthorizeRequest> = {}): AuthorizeRequest {
  sequence += 1;
  return {
    attempt_id: `ch_router${sequence}`,
    merchant_id: 'acct_router',
    amount: 1500,
    currency: 'usd',
    card: { number, exp_month: 12, exp_year: 2034, cvc: '123' },
    capture: true,
    facts: { brand: 'visa', country: 'US', metadata: {} },
    ...overrides,
  };
}

function router(
  accounts: Record<string, Connector>,
  order = Object.keys(accounts),
  breaker = { consecutive_failures: 5, half_open_after_ms: 60_000, call_timeout_ms: 5_000 },
) {
  return new RoutingConnector({
    directory: staticDirectory(accounts, order),
    health: new ConnectorHealth(systemClock, undefined, breaker),
    tries: new RoutedTries(pool),
    clock: systemClock,
  });
}

const down = () => new FaultyConnector(sandbox, { ...NO_FAULTS, down: true });

async function sandboxRows(attempt_id: string): Promise<Array<{ attempt_id: string; amount_captured: number; authorize_calls: number }>> {
  const found = await pool.query<{ attempt_id: string; amount_captured: number; authorize_calls: number }>(
    `SELECT attempt_id, amount_captured, authorize_calls FROM sandbox.attempts WHERE attempt_id LIKE $1 ORDER BY attempt_id`,
    [`${attempt_id}%`],
  );
  return found.rows;
}

/** A connector that answers every authorization with a soft decline, as an issuer that is not available. */
function softDeclining(code: string): Connector {
  const result: AuthorizeResult = { outcome: 'declined', code: 'card_declined', decline_code: code, message: 'Try again later.', cvc_check: 'unchecked' };
  return { ...countingConnector(sandbox), name: 'soft', authorize: () => Promise.resolve(result) };
}

describe('routing an attempt', () => {
  it('sends a single-account attempt under its own id and records the try', async () => {
    const routed = router({ sandbox });
    const attempt = request();
    const result = await routed.authorize(attempt);
    expect(result).toMatchObject({ outcome: 'authorized', captured: true });
    expect(result.routing?.tries).toEqual([
      expect.objectContaining({ connector_account: 'sandbox', connector: 'sandbox', reference: attempt.attempt_id, outcome: 'authorized', raw_code: null }),
    ]);
    expect(await sandboxRows(attempt.attempt_id)).toEqual([expect.objectContaining({ attempt_id: attempt.attempt_id, amount_captured: 1500 })]);
  });

  it('cascades past an unreachable account, and captures, refunds and asks at the account that authorized', async () => {
    const second = countingConnector(sandbox);
    const routed = router({ first: down(), second });
    const attempt = request(VISA, { capture: false });
    const result = await routed.authorize(attempt);
    expect(result.outcome).toBe('authorized');
    expect(result.routing?.tries.map((t) => [t.connector_account, t.outcome, t.raw_code])).toEqual([
      ['first', 'unreachable', 'unreachable'],
      ['second', 'authorized', null],
    ]);
    const second_reference = `${attempt.attempt_id}_2`;
    expect((await sandboxRows(attempt.attempt_id)).map((row) => row.attempt_id)).toEqual([second_reference]);
    expect(await routed.capture(attempt.attempt_id, 1500)).toEqual({ outcome: 'captured', amount_captured: 1500 });
    expect(await routed.refund('re_router_1', attempt.attempt_id, 500)).toEqual({ outcome: 'succeeded' });
    expect(await routed.refundStatus('re_router_1')).toEqual({ found: true, outcome: 'succeeded' });
    expect(await routed.attemptStatus(attempt.attempt_id)).toMatchObject({ found: true, amount_captured: 1500, amount_refunded: 500 });
    expect(second.calls).toMatchObject({ authorize: 1, capture: 1, refund: 1, refundStatus: 1 });
  });

  it.each(['try_again_later', 'issuer_not_available', 'processing_error'])('cascades past a soft decline (%s) to an account that approves', async (code) => {
    const routed = router({ soft: softDeclining(code), sandbox });
    const result = await routed.authorize(request());
    expect(result.outcome).toBe('authorized');
    expect(result.routing?.tries.map((t) => [t.connector_account, t.outcome, t.raw_code])).toEqual([
      ['soft', 'declined', code],
      ['sandbox', 'authorized', null],
    ]);
  });

  it.each([
    ['4000000000009995', 'insufficient_funds'],
    ['4000000000009979', 'stolen_card'],
    ['4000000000000002', 'generic_decline'],
  ])('never cascades past a hard decline (%s: %s)', async (card, decline_code) => {
    const second = countingConnector(sandbox);
    const routed = router({ sandbox, second });
    const result = await routed.authorize(request(card));
    expect(result).toMatchObject({ outcome: 'declined', decline_code });
    expect(result.routing?.tries).toHaveLength(1);
    expect(second.calls.authorize).toBeUndefined();
  });

  it('answers a soft decline of every account with the last one, having tried each once', async () => {
    const routed = router({ a: softDeclining('try_again_later'), b: softDeclining('issuer_not_available') });
    const result = await routed.authorize(request());
    expect(result).toMatchObject({ outcome: 'declined', decline_code: 'issuer_not_available' });
    expect(result.routing?.tries).toHaveLength(2);
  });

  it('declines with processing_error when no account can be reached, and no processor holds anything', async () => {
    const routed = router({ a: down(), b: down() });
    const attempt = request();
    expect(await routed.authorize(attempt)).toMatchObject({ outcome: 'declined', code: 'processing_error', raw_code: 'no_connector_reachable' });
    expect(await sandboxRows(attempt.attempt_id)).toEqual([]);
    expect(await routed.attemptStatus(attempt.attempt_id)).toEqual({ found: false });
  });
});

describe('unknown outcomes', () => {
  it('never cascades after a lost answer; the inquiry finds the charge the processor made', async () => {
    const second = countingConnector(sandbox);
    const routed = router({ lossy: new FaultyConnector(sandbox, { ...NO_FAULTS, lost_answer: 1 }), second });
    const attempt = request();
    await expect(routed.authorize(attempt)).rejects.toBeInstanceOf(ProcessorOutcomeUnknown);
    expect(second.calls.authorize).toBeUndefined();
    const status = await routed.attemptStatus(attempt.attempt_id);
    expect(status).toMatchObject({ found: true, amount_captured: 1500, result: { outcome: 'authorized' } });
    const tries = await new RoutedTries(pool).list(attempt.attempt_id);
    expect(tries.map((t) => t.outcome)).toEqual(['authorized']);
    expect(await sandboxRows(attempt.attempt_id)).toHaveLength(1);
  });

  it('resends a dropped request to the same account under the same id, never to the next one', async () => {
    const dropping = new FaultyConnector(sandbox, { ...NO_FAULTS, dropped_request: 1 });
    const second = countingConnector(sandbox);
    const routed = router({ dropping, second });
    const attempt = request();
    await expect(routed.authorize(attempt)).rejects.toBeInstanceOf(ProcessorOutcomeUnknown);
    expect(await routed.attemptStatus(attempt.attempt_id)).toEqual({ found: false });
    dropping.setPlan(NO_FAULTS);
    const resent = await routed.authorize(attempt);
    expect(resent.routing?.tries.map((t) => [t.connector_account, t.reference, t.outcome])).toEqual([['dropping', attempt.attempt_id, 'authorized']]);
    expect(second.calls.authorize).toBeUndefined();
    expect(await sandboxRows(attempt.attempt_id)).toEqual([expect.objectContaining({ authorize_calls: 1 })]);
  });

  it('a try recorded but never sent (a crash) is unknown to the processors, and a resend sends it where it was recorded', async () => {
    const first = countingConnector(sandbox);
    const routed = router({ first, second: sandbox });
    const attempt = request();
    await new RoutedTries(pool).begin(
      {
        ...attempt,
        try_number: 1,
        connector_account: 'second',
        connector: 'sandbox',
        reference: attempt.attempt_id,
        outcome: 'pending',
        latency_ms: null,
        raw_code: null,
        reason: 'crashed',
      },
      Date.now(),
    );
    expect(await routed.attemptStatus(attempt.attempt_id)).toEqual({ found: false });
    const result = await routed.authorize(attempt);
    expect(result.routing?.tries.map((t) => t.connector_account)).toEqual(['second']);
    expect(first.calls.authorize).toBeUndefined();
  });

  it('treats a call that outlives the timeout as unknown, not as a failure to cascade on', async () => {
    const slow = new FaultyConnector(sandbox, { ...NO_FAULTS, latency_ms: 200 });
    const second = countingConnector(sandbox);
    const routed = router({ slow, second }, ['slow', 'second'], { consecutive_failures: 5, half_open_after_ms: 60_000, call_timeout_ms: 50 });
    const attempt = request();
    await expect(routed.authorize(attempt)).rejects.toBeInstanceOf(ProcessorOutcomeUnknown);
    expect(second.calls.authorize).toBeUndefined();
    const [entry] = await new RoutedTries(pool).list(attempt.attempt_id);
    expect(entry).toMatchObject({ outcome: 'unknown', raw_code: 'outcome_unknown' });
  });
});

describe('health', () => {
  it('opens the breaker after consecutive failures: later attempts skip the account without calling it', async () => {
    const failing = countingConnector(down());
    const routed = router({ failing, sandbox }, ['failing', 'sandbox'], { consecutive_failures: 3, half_open_after_ms: 60_000, call_timeout_ms: 5_000 });
    for (let i = 0; i < 3; i += 1) expect((await routed.authorize(request())).outcome).toBe('authorized');
    expect(failing.calls.authorize).toBe(3);
    const later = await routed.authorize(request());
    expect(later.outcome).toBe('authorized');
    expect(failing.calls.authorize).toBe(3);
    expect(later.routing?.tries.map((t) => t.connector_account)).toEqual(['sandbox']);
  });

  it('does not open the breaker when our own database fails under the connector: a processor is not down because PostgreSQL restarted', async () => {
    // A real refused PostgreSQL connection, as the sandbox's record store meets during a database restart.
    const unreachableDatabase = new pg.Pool({ host: '127.0.0.1', port: 1, user: 'postgres', connectionTimeoutMillis: 1_000 });
    let fail = true;
    const storeDown: Connector = {
      ...countingConnector(sandbox),
      authorize: async (attempt) => (fail ? (await unreachableDatabase.query('SELECT 1'), sandbox.authorize(attempt)) : sandbox.authorize(attempt)),
    };
    const routed = router({ storeDown }, ['storeDown'], { consecutive_failures: 3, half_open_after_ms: 60_000, call_timeout_ms: 5_000 });
    for (let i = 0; i < 5; i += 1) await expect(routed.authorize(request())).rejects.toBeInstanceOf(ProcessorOutcomeUnknown);
    fail = false;
    expect((await routed.authorize(request())).outcome).toBe('authorized');
    await unreachableDatabase.end();
  });
});

describe('a first try planned with the attempt', () => {
  async function triesOf(attempt_id: string): Promise<Array<{ try_number: number; outcome: string; connector_account: string }>> {
    const found = await pool.query<{ try_number: number; outcome: string; connector_account: string }>(
      'SELECT try_number, outcome, connector_account FROM connectors.routed_tries WHERE attempt_id = $1 ORDER BY try_number',
      [attempt_id],
    );
    return found.rows;
  }

  it('is written by the caller: planning records nothing, the plan record holds the try, and its answer waits for the caller to write it', async () => {
    const routed = router({ sandbox });
    const attempt = request(VISA, { capture: false });
    const plan = await routed.planTry(attempt);
    if (!plan) throw new Error('no plan for an account that can take the attempt');
    expect(await triesOf(attempt.attempt_id)).toEqual([]);
    await run(pool, plan.record);
    expect(await triesOf(attempt.attempt_id)).toEqual([{ try_number: 1, outcome: 'pending', connector_account: 'sandbox' }]);
    const result = await routed.authorize(attempt, plan);
    expect(result).toMatchObject({ outcome: 'authorized', routing: { tries: [expect.objectContaining({ outcome: 'authorized' })] } });
    // Not written by the router: the caller writes it with the attempt's answer.
    expect(await triesOf(attempt.attempt_id)).toEqual([{ try_number: 1, outcome: 'pending', connector_account: 'sandbox' }]);
    if (!plan.ended) throw new Error('a final answer leaves the write of how the try ended to the caller');
    await run(pool, plan.ended);
    expect(await triesOf(attempt.attempt_id)).toEqual([{ try_number: 1, outcome: 'authorized', connector_account: 'sandbox' }]);
    expect(await routed.capture(attempt.attempt_id, 1500)).toEqual({ outcome: 'captured', amount_captured: 1500 });
  });

  it('cannot be recorded twice: a second record of the same first try fails instead of joining it', async () => {
    const routed = router({ sandbox });
    const attempt = request();
    const plan = await routed.planTry(attempt);
    if (!plan) throw new Error('no plan');
    await run(pool, plan.record);
    const again = await routed.planTry(attempt);
    if (!again) throw new Error('no plan');
    await expect(run(pool, again.record)).rejects.toMatchObject({ code: '23505' });
  });

  it('cascades as any attempt does after a soft decline, recording the declined try itself', async () => {
    const routed = router({ soft: softDeclining('try_again_later'), sandbox });
    const attempt = request();
    const plan = await routed.planTry(attempt);
    if (!plan) throw new Error('no plan');
    await run(pool, plan.record);
    expect((await routed.authorize(attempt, plan)).outcome).toBe('authorized');
    expect(plan.ended).toBeNull();
    expect(await triesOf(attempt.attempt_id)).toEqual([
      { try_number: 1, outcome: 'declined', connector_account: 'soft' },
      { try_number: 2, outcome: 'authorized', connector_account: 'sandbox' },
    ]);
  });

  it('refuses a plan made by another router', async () => {
    const attempt = request();
    const plan = await router({ sandbox }).planTry(attempt);
    if (!plan) throw new Error('no plan');
    const forged = { record: plan.record, ended: null };
    await expect(router({ sandbox }).authorize(attempt, forged)).rejects.toThrow(/a plan this router did not make/);
  });
});

describe('notifications through the router', () => {
  it('names the attempt, not the try reference, in a dispute raised on a cascaded attempt', async () => {
    const routed = router({ first: down(), second: sandbox, sandbox }, ['first', 'second']);
    const attempt = request('4000000000000259');
    expect((await routed.authorize(attempt)).routing?.tries).toHaveLength(2);
    const seen: ProcessorNotification[] = [];
    for (let round = 0; round < 50 && !seen.some((n) => n.attempt_id === attempt.attempt_id); round += 1) {
      await routed.deliverNotifications((notification) => {
        seen.push(notification);
        return Promise.resolve();
      }, 100);
    }
    expect(seen.filter((n) => n.attempt_id === attempt.attempt_id)).toEqual([expect.objectContaining({ type: 'dispute.opened' })]);
    expect(seen.some((n) => n.attempt_id === `${attempt.attempt_id}_2`)).toBe(false);
  });
});
