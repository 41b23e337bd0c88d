import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { BILLING_WORK_LIMITS } from '../../src/services/billing/app/billing-work.js';

/**
 * The renewal proof: SUBSCRIPTIONS monthly subscriptions come due at once, two Payrail server
 * processes (test/support/renewal-crash-child.ts, the whole platform on a clock a month ahead) race
 * over them, and one is SIGKILLed in the middle — once while renewals are being committed, once
 * while their payments wait on the processor. Then: exactly one cycle invoice per subscription
 * period, one payment try per invoice, and per paid invoice one succeeded charge and one authorization
 * on the sandbox processor's own record (a try the kill cut off leaves its invoice open, uncharged,
 * its retry scheduled).
 */
const SUBSCRIPTIONS = 30;
const MONTH_AHEAD_S = 32 * 86_400;
/** The first payment try is an hour after the renewal (Stripe finalizes, then charges an hour later). */
const TRIES_DUE_S = MONTH_AHEAD_S + 2 * 3_600;
/**
 * Bounds every wait on the servers' progress (they start from a prebuilt bundle in a second or two).
 * After the kill, a try the dead server left unsent waits out the sweeper's resend window (30 s) and,
 * if the dead server held the sweep's run, the sweep's timeout and the scheduler's maintenance.
 */
const WAIT_LIMIT_MS = 120_000;
/**
 * The child bundled once (esbuild, packages left to node_modules) instead of compiled by vite-node in
 * each of the four processes, which took minutes on a busy machine. Four directories below the repo
 * root, so modules that find files relative to their own path (browser/v3) still find them.
 */
const CHILD_BUNDLE = 'node_modules/.cache/payrail/renewal-crash/child.mjs';

let t: TestPlatform;
const spawned: ChildProcess[] = [];
beforeAll(async () => {
  await build({
    entryPoints: ['test/support/renewal-crash-child.ts'],
    outfile: CHILD_BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  // Small pools, as the servers': this platform only sets the subscriptions up, and the database's 100
  // connections are shared by all three (out of connections, a server's tries fail and wait for dunning).
  t = await startTestPlatform({ db_pool_max: 4 });
}, 120_000);
afterAll(async () => {
  // A server a failed assertion left running would hold its connections for the tests after this one.
  for (const child of spawned) child.kill('SIGKILL');
  await t?.stop();
});

interface Child {
  /** Resolves once the process's platform is up, its clock still the wall clock. */
  ready: Promise<void>;
  /** Moves its clock ahead: the due work starts. */
  go(): void;
  exited: Promise<NodeJS.Signals | number | null>;
  kill(): void;
}

function serverAhead(offset_s: number, latency_ms: number): Child {
  const child = spawn(process.execPath, [CHILD_BUNDLE], {
    env: {
      ...process.env,
      // Small pools: the database's 100 connections are shared with the test's own platform.
      RENEWAL_CRASH_CONFIG: JSON.stringify({ ...t.config, sandbox_latency_ms: latency_ms, db_pool_max: 6 }),
      RENEWAL_CLOCK_OFFSET_S: String(offset_s),
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  spawned.push(child);
  const ready = new Promise<void>((resolve, reject) => {
    // A server that dies while starting (e.g. the database out of connections) fails the test at once.
    child.once('exit', (code, signal) => reject(new Error(`a server exited while starting: ${String(signal ?? code)}`)));
    let output = '';
    child.stdout?.on('data', (chunk) => {
      output += String(chunk);
      if (output.includes('renewal-child-ready')) resolve();
    });
  });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  return { ready, exited, go: () => child.stdin?.write('go\n'), kill: () => child.kill('SIGKILL') };
}

/** How a server ended, or 'still running' (then SIGKILLed) if it had not finished its runs within the wait limit. */
async function endOf(server: Child): Promise<NodeJS.Signals | number | null | 'still running'> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), WAIT_LIMIT_MS)));
  const ended = await Promise.race([server.exited, limit]).finally(() => clearTimeout(timer));
  if (ended === 'still running') server.kill();
  return ended;
}

async function count(query: string): Promise<number> {
  return Number((await t.owner.query<{ n: string }>(query)).rows[0]?.n);
}

async function waitFor(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** For a failure's message: how each invoice's payment ended (its charges' failure codes, its processor calls). */
async function howTriesEnded(invoice_ids: string[]): Promise<Record<string, unknown>[]> {
  const result = await t.owner.query<Record<string, unknown>>(
    `SELECT i.id, pi.status, pi.state->'last_payment_error'->>'code' AS code,
            (SELECT json_agg(c.state->>'failure_code') FROM payments.charges c WHERE c.payment_intent_id = pi.id) AS charge_failures,
            (SELECT json_agg(pc.status) FROM payments.processor_calls pc WHERE pc.payment_intent_id = pi.id) AS calls
       FROM billing.invoices i JOIN payments.payment_intents pi ON pi.id = i.state->>'payment_intent' WHERE i.id = ANY($1::text[])`,
    [invoice_ids],
  );
  return result.rows;
}

const CYCLE_INVOICES = `SELECT count(*) AS n FROM billing.invoices WHERE billing_reason = 'subscription_cycle'`;
const PAID_CYCLE_INVOICES = `${CYCLE_INVOICES} AND status = 'paid'`;

describe('renewals under two schedulers and a crash', () => {
  it('bills each period exactly once and charges each invoice exactly once', { timeout: 360_000 }, async () => {
    const product = await t.stripe.products.create({ name: 'Crash plan' });
    const price = await t.stripe.prices.create({ product: product.id, unit_amount: 1_200, currency: 'usd', recurring: { interval: 'month' } });
    for (let i = 0; i < SUBSCRIPTIONS; i++) {
      const customer = await t.stripe.customers.create({ payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
      await t.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    }

    // Renewals: both servers commit them; one dies a third of the way.
    const doomed = serverAhead(MONTH_AHEAD_S, 0);
    const survivor = serverAhead(MONTH_AHEAD_S, 0);
    await Promise.all([doomed.ready, survivor.ready]);
    doomed.go();
    survivor.go();
    await waitFor(async () => (await count(CYCLE_INVOICES)) >= SUBSCRIPTIONS / 3, 'a third of the renewals');
    doomed.kill();
    expect(await doomed.exited).toBe('SIGKILL');
    // The kill landed mid-run: renewals were still due when it died.
    const renewed_at_kill = await count(CYCLE_INVOICES);
    expect(await endOf(survivor)).toBe(0);
    expect(renewed_at_kill).toBeLessThan(SUBSCRIPTIONS);
    expect(await count(CYCLE_INVOICES)).toBe(SUBSCRIPTIONS);

    // Payments: an hour later both servers try the invoices, each call 150 ms at the processor; one dies a third of the way.
    const doomed_payer = serverAhead(TRIES_DUE_S, 150);
    const surviving_payer = serverAhead(TRIES_DUE_S, 150);
    await Promise.all([doomed_payer.ready, surviving_payer.ready]);
    doomed_payer.go();
    surviving_payer.go();
    await waitFor(async () => (await count(PAID_CYCLE_INVOICES)) >= SUBSCRIPTIONS / 3, 'a third of the payments');
    doomed_payer.kill();
    expect(await doomed_payer.exited).toBe('SIGKILL');
    const paid_at_kill = await count(PAID_CYCLE_INVOICES);
    expect(paid_at_kill).toBeLessThan(SUBSCRIPTIONS);
    // The survivor finished every due try, its own and the dead server's (3: it ran out of runs first).
    expect(await endOf(surviving_payer)).toBe(0);

    const per_period = await t.owner.query<{ n: string }>(
      `SELECT count(*) AS n FROM billing.invoices WHERE billing_reason = 'subscription_cycle' GROUP BY subscription_id, period_start`,
    );
    expect(per_period.rows).toHaveLength(SUBSCRIPTIONS);
    expect(per_period.rows.every((row) => Number(row.n) === 1)).toBe(true);
    // One try per invoice. A try the kill cut off is settled by the orphan sweeper as failed (it took no
    // money): that invoice stays open with its retry scheduled by dunning, never charged a second time.
    // Only tries in flight at the kill can end so.
    const invoices = await t.owner.query<{ id: string; status: string; attempts: number; renewal: string | null; retry: string | null }>(
      `SELECT i.id, i.status, (i.state->>'attempt_count')::int AS attempts, r.state AS renewal, r.next_attempt_at AS retry
         FROM billing.invoices i
         LEFT JOIN billing.renewals r ON r.merchant_id = i.merchant_id AND r.invoice_id = i.id
        WHERE i.billing_reason = 'subscription_cycle'`,
    );
    expect(invoices.rows).toHaveLength(SUBSCRIPTIONS);
    const paid = invoices.rows.filter((row) => row.status === 'paid' && row.attempts === 1 && row.renewal === 'paid');
    const cut = invoices.rows.filter((row) => row.status === 'open' && row.attempts === 1 && row.renewal === 'collecting' && row.retry !== null);
    expect(invoices.rows.filter((row) => !paid.includes(row) && !cut.includes(row))).toEqual([]);
    expect(cut.length, `tries cut: ${JSON.stringify(await howTriesEnded(cut.map((row) => row.id)))}`).toBeLessThanOrEqual(BILLING_WORK_LIMITS.concurrency);
    // Money: a paid invoice has exactly one succeeded charge and one authorization at the processor;
    // an open one has neither.
    const charges = await t.owner.query<{ id: string; status: string; succeeded: string; authorized: string }>(
      `SELECT i.id, i.status, count(*) FILTER (WHERE c.status = 'succeeded') AS succeeded,
              count(a.attempt_id) FILTER (WHERE a.outcome = 'authorized') AS authorized
         FROM billing.invoices i
         LEFT JOIN payments.charges c ON c.merchant_id = i.merchant_id AND c.payment_intent_id = i.state->>'payment_intent'
         LEFT JOIN sandbox.attempts a ON a.attempt_id = c.id
        WHERE i.billing_reason = 'subscription_cycle'
        GROUP BY i.id, i.status`,
    );
    const wrong = charges.rows.filter((row) => {
      const expected = row.status === 'paid' ? 1 : 0;
      return Number(row.succeeded) !== expected || Number(row.authorized) !== expected;
    });
    expect(wrong).toEqual([]);
  });
});
