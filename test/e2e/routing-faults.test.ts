import { createHash } from 'node:crypto';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/kernel/clock.js';
import { SandboxProcessor } from '../../src/services/connectors/adapters/sandbox.js';
import type { FaultPlan } from '../../src/services/connectors/index.js';
import { ConnectorHealth, FaultyConnector, NO_FAULTS, RoutedTries, RoutingConnector } from '../../src/services/connectors/index.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { LateConnector, staticDirectory } from '../support/routing.js';

/**
 * THE PROOF of issue 14: payments through the real server and the official SDK (its own retries on,
 * so each payment carries an Idempotency-Key), routed over two connector accounts with faults
 * injected, then compared with what the processors recorded once the sweeper has drained every
 * unknown outcome:
 *
 * 1. faults on both accounts (5xx before processing, answers lost after the charge, requests dropped,
 *    latency): no attempt charged twice; every captured charge is succeeded in Payrail and every
 *    succeeded charge captured at exactly one processor; nothing left processing;
 * 2. one account down: ≥ 99.9 % of the payments a healthy processor approves succeed.
 *
 * Both accounts are the sandbox (one record, `sandbox.attempts`) behind different fault plans; a try
 * at the second account is recorded under `<charge id>_2`, so every processor charge maps to one attempt.
 * ROUTING_FAULT_PAYMENTS scales it: 600 by default, so CI spends at most about 2½ minutes here (30 s
 * plus about 0.2 s a payment on a loaded two-core machine; the faults phase waits out the 30 s resend
 * window whatever the size); ROUTING_FAULT_PAYMENTS=10000 is the full proof of the issue (~35 minutes there).
 */

const DEFAULT_PAYMENTS = 600;
const MAX_PAYMENTS = 100_000;
const TOTAL = paymentsToMake(process.env.ROUTING_FAULT_PAYMENTS);

/** A bad setting fails loudly rather than silently running a proof of nothing. */
function paymentsToMake(setting: string | undefined): number {
  if (setting === undefined || setting === '') return DEFAULT_PAYMENTS;
  const count = Number(setting);
  if (!Number.isInteger(count) || count < 20 || count > MAX_PAYMENTS) {
    throw new Error(`ROUTING_FAULT_PAYMENTS must be an integer from 20 to ${MAX_PAYMENTS}, got ${JSON.stringify(setting)}`);
  }
  return count;
}
const CONCURRENCY = 8;
const FAULTY_A: FaultPlan = { latency_ms: 1, unreachable: 0.03, lost_answer: 0.02, dropped_request: 0.01, down: false };
const FAULTY_B: FaultPlan = { latency_ms: 0, unreachable: 0.03, lost_answer: 0.01, dropped_request: 0, down: false };
/** The sweeper fails a dropped request once the client's resend window (30 s) has passed. */
const DRAIN_TIMEOUT_MS = 120_000;

let t: TestPlatform;
let a: FaultyConnector;
let b: FaultyConnector;
let sdk: Stripe;
beforeAll(async () => {
  const late = new LateConnector();
  t = await startTestPlatform({ db_pool_max: 16 }, { connector: late });
  const sandbox = new SandboxProcessor({ pool: t.platform.database.pool });
  a = new FaultyConnector(sandbox, FAULTY_A);
  b = new FaultyConnector(sandbox, FAULTY_B);
  // A 50/50 split decided by the attempt id, each side falling back on the other.
  const split = (attempt_id: string) => (createHash('sha256').update(attempt_id).digest()[0]! % 2 === 0 ? ['a', 'b'] : ['b', 'a']);
  late.target = new RoutingConnector({
    directory: staticDirectory({ a, b, sandbox }, split),
    health: new ConnectorHealth(systemClock),
    tries: new RoutedTries(t.platform.database.pool),
    clock: systemClock,
  });
  const { hostname, port } = new URL(t.url);
  sdk = new Stripe(t.secret_key, { apiVersion: '2023-08-16', host: hostname, port: Number(port), protocol: 'http', maxNetworkRetries: 2, telemetry: false });
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

/** Stripe's test methods: most approve, a share declines hard (a healthy processor declines them too). */
const METHODS = ['pm_card_visa', 'pm_card_mastercard', 'pm_card_visa', 'pm_card_amex', 'pm_card_visa', 'pm_card_visa_chargeDeclinedInsufficientFunds'] as const;
const approvable = (method: string) => !method.includes('Declined');

interface Paid {
  intent: string;
  method: string;
  status: string;
}

async function pay(index: number): Promise<Paid> {
  const method = METHODS[index % METHODS.length]!;
  try {
    const intent = await sdk.paymentIntents.create({ amount: 500 + (index % 1000), currency: 'usd', payment_method: method, confirm: true });
    return { intent: intent.id, method, status: intent.status };
  } catch (error) {
    if (error instanceof Stripe.errors.StripeCardError && error.payment_intent) return { intent: error.payment_intent.id, method, status: 'declined' };
    throw error;
  }
}

async function payMany(from: number, count: number): Promise<Paid[]> {
  const results: Paid[] = [];
  let next = from;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < from + count) {
        const index = next;
        next += 1;
        results.push(await pay(index));
      }
    }),
  );
  return results;
}

async function drained(): Promise<number> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    const open = await t.owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM payments.payment_intents WHERE status = 'processing'`);
    const left = open.rows[0]?.n ?? 0;
    if (left === 0 || Date.now() > deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

interface Comparison {
  charges: number;
  double_charged: string[];
  captured_but_not_succeeded: string[];
  succeeded_but_not_captured: string[];
  processor_charges_unknown_to_payrail: string[];
}

/** Every Payrail charge against the processors' records of all its tries. */
async function compareWithProcessors(): Promise<Comparison> {
  const rows = await t.owner.query<{ id: string; status: string; amount_captured: number; captured_tries: number; processor_captured: number }>(`
    SELECT c.id, c.status, c.amount_captured,
      count(s.attempt_id) FILTER (WHERE s.amount_captured > 0)::int AS captured_tries,
      coalesce(sum(s.amount_captured), 0)::int AS processor_captured
    FROM payments.charges c
    LEFT JOIN sandbox.attempts s ON s.attempt_id = c.id OR s.attempt_id LIKE c.id || '\\_%'
    GROUP BY c.id, c.status, c.amount_captured`);
  const unknown = await t.owner.query<{ attempt_id: string }>(`
    SELECT s.attempt_id FROM sandbox.attempts s
    WHERE s.amount_captured > 0 AND NOT EXISTS (SELECT 1 FROM payments.charges c WHERE s.attempt_id = c.id OR s.attempt_id LIKE c.id || '\\_%')`);
  return {
    charges: rows.rows.length,
    double_charged: rows.rows.filter((r) => r.captured_tries > 1).map((r) => r.id),
    captured_but_not_succeeded: rows.rows.filter((r) => r.processor_captured > 0 && r.status !== 'succeeded').map((r) => r.id),
    succeeded_but_not_captured: rows.rows.filter((r) => r.status === 'succeeded' && r.processor_captured !== r.amount_captured).map((r) => r.id),
    processor_charges_unknown_to_payrail: unknown.rows.map((r) => r.attempt_id),
  };
}

describe(`${TOTAL} payments over two faulty connectors`, () => {
  let faulty: Paid[] = [];
  it(
    'with faults on both: nobody charged twice, and Payrail agrees with the processors once the sweeper drains',
    async () => {
      const started = Date.now();
      faulty = await payMany(0, Math.floor(TOTAL / 2));
      expect(await drained()).toBe(0);
      const comparison = await compareWithProcessors();
      console.log(`faults phase: ${faulty.length} payments in ${Date.now() - started} ms`, {
        processing_answers: faulty.filter((p) => p.status === 'processing').length,
        charges: comparison.charges,
      });
      expect(comparison.charges).toBeGreaterThanOrEqual(faulty.length);
      expect(comparison.double_charged).toEqual([]);
      expect(comparison.captured_but_not_succeeded).toEqual([]);
      expect(comparison.succeeded_but_not_captured).toEqual([]);
      expect(comparison.processor_charges_unknown_to_payrail).toEqual([]);
      // The faults did happen: some answers were lost and settled later, some tries cascaded.
      expect(faulty.filter((p) => p.status === 'processing').length).toBeGreaterThan(0);
      const cascaded = await t.owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM connectors.routed_tries WHERE try_number = 2`);
      expect(cascaded.rows[0]?.n).toBeGreaterThan(0);
    },
    15 * 60_000,
  );

  it(
    'with one connector down: at least 99.9 % of the payments a healthy processor approves succeed',
    async () => {
      a.setPlan({ ...NO_FAULTS, down: true });
      b.setPlan(NO_FAULTS);
      const started = Date.now();
      const paid = await payMany(TOTAL, TOTAL - faulty.length);
      expect(await drained()).toBe(0);
      const expected = paid.filter((p) => approvable(p.method));
      const final = await t.owner.query<{ id: string; status: string }>(`SELECT id, status FROM payments.payment_intents WHERE id = ANY($1::text[])`, [
        expected.map((p) => p.intent),
      ]);
      const succeeded = final.rows.filter((row) => row.status === 'succeeded').length;
      console.log(`one-down phase: ${paid.length} payments in ${Date.now() - started} ms; ${succeeded}/${expected.length} approvable succeeded`);
      expect(final.rows).toHaveLength(expected.length);
      expect(succeeded / expected.length).toBeGreaterThanOrEqual(0.999);
      // The hard declines stayed declined, tried at one account only.
      const hard = paid.filter((p) => !approvable(p.method));
      expect(hard.every((p) => p.status === 'declined')).toBe(true);
      const comparison = await compareWithProcessors();
      expect(comparison.double_charged).toEqual([]);
      expect(comparison.captured_but_not_succeeded).toEqual([]);
      expect(comparison.succeeded_but_not_captured).toEqual([]);
    },
    15 * 60_000,
  );
});
