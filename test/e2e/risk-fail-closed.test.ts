import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';
import { chargeIdOf } from '../support/stripe-objects.js';
import { createPool } from '../../src/platform/db.js';
import type { Pool } from '../../src/platform/db.js';
import { systemClock } from '../../src/kernel/clock.js';
import type { RiskScorer } from '../../src/services/risk/index.js';
import { openRadarRules, openRiskScorer } from '../../src/services/risk/index.js';
import type { PaymentRisk } from '../../src/services/payments/index.js';

/**
 * Risk fails closed: when the rules cannot be read (their database unreachable) or the scorer fails,
 * a confirm is placed in review — never a 500, never allowed unevaluated. Redis unreachable is not a
 * failure: the scorer's in-process windows answer (risk/app/scorer.ts), so payments are still scored.
 */

/** A port nothing listens on: taken, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const failures: string[] = [];
let t: TestPlatform;
let unreachable_rules_pool: Pool;
let scorer: RiskScorer;

/** The platform's risk engine, built from the real scorer and rules with their stores out of reach. */
async function unreachableRisk(): Promise<PaymentRisk> {
  scorer = await openRiskScorer({ redis_url: `redis://127.0.0.1:${await closedPort()}`, clock: systemClock });
  unreachable_rules_pool = createPool(`postgres://postgres@127.0.0.1:${await closedPort()}/payrail`, 1);
  unreachable_rules_pool.on('error', () => {});
  return {
    scorer,
    rules: openRadarRules({ pool: unreachable_rules_pool, clock: systemClock }),
    livemode: false,
    on_failure: (part) => failures.push(part),
  };
}

beforeAll(async () => {
  t = await startTestPlatform({}, { risk: await unreachableRisk() });
}, 60_000);
afterAll(async () => {
  await t?.stop();
  await scorer?.close();
  await unreachable_rules_pool?.end();
});

describe('with Redis and the rules database unreachable', () => {
  it('a confirm goes to review, scored by the in-process windows: no 500, nothing allowed unevaluated', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    expect(intent.status).toBe('processing');
    expect(intent.review).toMatch(/^prv_/);
    const charge = await t.stripe.charges.retrieve(chargeIdOf(intent));
    expect(charge).toMatchObject({ captured: false, amount_captured: 0 });
    expect(charge.outcome).toMatchObject({ type: 'manual_review', reason: 'risk_evaluation_unavailable', network_status: 'approved_by_network' });
    expect(Number.isInteger(charge.outcome?.risk_score)).toBe(true);
    expect(stripeSchemaProblems('charge', charge)).toEqual([]);
    expect(failures).toContain('rules');
    expect(failures).not.toContain('score');
    // The merchant approves it, and only then is it captured.
    await t.stripe.reviews.approve(intent.review as string);
    expect((await t.stripe.paymentIntents.retrieve(intent.id)).status).toBe('succeeded');
  });

  it('Stripe’s always-blocked card is still blocked without the rules', async () => {
    const error = await t.stripe.paymentIntents
      .create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_chargeDeclinedFraudulent', confirm: true })
      .then(
        () => undefined,
        (rejected: { decline_code?: string }) => rejected,
      );
    expect(error?.decline_code).toBe('fraudulent');
  });
});

describe('with a scorer that fails', () => {
  let broken: TestPlatform;
  beforeAll(async () => {
    const failing: RiskScorer = {
      score: () => Promise.reject(new Error('the model file is corrupt')),
      record: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    const no_rules = { verdict: () => Promise.resolve({ action: null, rule: null }), rule: () => Promise.resolve(undefined) };
    broken = await startTestPlatform({}, { risk: { scorer: failing, rules: no_rules, livemode: false, on_failure: () => {} } });
  }, 60_000);
  afterAll(async () => {
    await broken?.stop();
  });

  it('a confirm goes to review with risk_level unknown and no risk_score, as Stripe reports an evaluation error', async () => {
    const intent = await broken.stripe.paymentIntents.create({
      amount: 2000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      capture_method: 'manual',
    });
    expect(intent.status).toBe('requires_capture');
    const charge = await broken.stripe.charges.retrieve(chargeIdOf(intent));
    expect(charge.outcome).toMatchObject({ type: 'manual_review', risk_level: 'unknown', reason: 'risk_evaluation_unavailable' });
    expect(charge.outcome).not.toHaveProperty('risk_score');
    expect(stripeSchemaProblems('charge', charge)).toEqual([]);
  });
});

describe('with a rule that cannot be evaluated', () => {
  let judged: TestPlatform;
  let real: RiskScorer;
  const reported: { part: string; message: string }[] = [];
  beforeAll(async () => {
    real = await openRiskScorer({ clock: systemClock });
    const broken_rule = { id: 'rule_broken', action: 'allow' as const, predicate: ':email: in @vanished' };
    // What the compiled rules answer when a rule throws (radar-rules.ts): review, naming the rule and why.
    const throwing = {
      verdict: () =>
        Promise.resolve({ action: 'review' as const, rule: broken_rule, error: 'rule rule_broken could not be evaluated: no value list @vanished' }),
      rule: () => Promise.resolve(broken_rule),
    };
    const on_failure = (part: string, error: unknown) => reported.push({ part, message: error instanceof Error ? error.message : String(error) });
    judged = await startTestPlatform({}, { risk: { scorer: real, rules: throwing, livemode: false, on_failure } });
  }, 60_000);
  afterAll(async () => {
    await judged?.stop();
    await real?.close();
  });

  it('the payment goes to review and the failure is reported to the operator, naming the rule', async () => {
    const intent = await judged.stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    expect(intent.status).toBe('processing');
    const charge = await judged.stripe.charges.retrieve(chargeIdOf(intent));
    expect(charge.outcome).toMatchObject({ type: 'manual_review', reason: 'risk_evaluation_unavailable', rule: 'rule_broken' });
    expect(reported).toContainEqual({ part: 'rules', message: 'rule rule_broken could not be evaluated: no value list @vanished' });
  });
});
