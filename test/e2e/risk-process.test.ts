import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { freePort } from '../support/processes.js';
import { chargeIdOf } from '../support/stripe-objects.js';

/**
 * Risk scoring in its own process (issue 16): the built server's risk role scores, the API in this
 * process reaches it with PAYRAIL_RISK_URL and its client certificate, and keeps Radar's rules. With
 * the risk process killed a confirm goes to review (the policy when scoring fails), never a 500 and
 * never a second charge; after a restart payments are scored again.
 */

const START_LIMIT_MS = 90_000;

let dir: string;
let risk_port: number;
let risk_health_port: number;
let risk: ChildProcess | undefined;
const risk_output: string[] = [];
let t: TestPlatform;

const cert = (name: string) => join(dir, 'certs', name);

/** `payrail start --service risk` from dist/: its own certificate, velocity windows in the real Redis. */
async function startRisk(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['dist/main.js'], {
    env: {
      ...process.env,
      PAYRAIL_SERVICE: 'risk',
      // Its database login only answers /readyz (is the schema current): the platform's database will do.
      DATABASE_URL: t.config.database_url,
      HOST: '127.0.0.1',
      PORT: String(risk_port),
      PAYRAIL_HEALTH_PORT: String(risk_health_port),
      PAYRAIL_METRICS_PORT: '0',
      PAYRAIL_DB_POOL_MAX: '3',
      PAYRAIL_DATA_DIR: join(dir, 'risk-data'),
      PAYRAIL_REDIS_PREFIX: `test:${randomBytes(4).toString('hex')}:`,
      LOG_LEVEL: 'info',
      PAYRAIL_VAULT_TLS_CA: cert('ca.crt'),
      PAYRAIL_VAULT_TLS_CERT: cert('risk.crt'),
      PAYRAIL_VAULT_TLS_KEY: cert('risk.key'),
      PAYRAIL_RISK_CALLERS: 'api',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the risk process did not start: ${risk_output.join('')}`)), START_LIMIT_MS);
    let started = '';
    const collect = (chunk: Buffer) => {
      risk_output.push(String(chunk));
      started += String(chunk);
      if (started.includes('Payrail is running: role risk')) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the risk process exited (${code}): ${risk_output.join('')}`));
    });
  });
}

async function killRisk(): Promise<void> {
  const child = risk;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  risk = undefined;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'payrail-risk-process-'));
  execFileSync('bash', ['deploy/local/ca.sh', join(dir, 'certs'), 'api'], { stdio: 'pipe' });
  t = await startTestPlatform({
    risk_url: `https://127.0.0.1:${(risk_port = await freePort())}`,
    risk_timeout_ms: 1_000,
    vault_tls: { ca_file: cert('ca.crt'), cert_file: cert('api.crt'), key_file: cert('api.key') },
  });
  risk_health_port = await freePort();
  risk = await startRisk();
}, START_LIMIT_MS * 2);

afterAll(async () => {
  await killRisk();
  await t?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function chargesOf(intent_id: string): Promise<number> {
  const { rows } = await t.owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM payments.charges WHERE payment_intent_id = $1`, [intent_id]);
  return rows[0]?.n ?? -1;
}

describe('risk scoring in its own process', () => {
  it('answers its probes on PAYRAIL_HEALTH_PORT while PORT speaks mutual TLS only', async () => {
    expect((await fetch(`http://127.0.0.1:${risk_health_port}/readyz`)).status).toBe(200);
    await expect(fetch(`https://127.0.0.1:${risk_port}/healthz`)).rejects.toThrow();
  });

  it('scores a payment: it succeeds with the remote model’s score on its outcome', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 2500, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    expect(intent.status).toBe('succeeded');
    const charge = await t.stripe.charges.retrieve(chargeIdOf(intent));
    expect(charge.outcome).toMatchObject({ type: 'authorized', risk_level: 'normal' });
    expect(Number.isInteger(charge.outcome?.risk_score)).toBe(true);
  });

  it('blocks pm_card_riskLevelHighest by the default rule once the remote scorer answered', async () => {
    const refused = await t.stripe.paymentIntents.create({ amount: 2500, currency: 'usd', payment_method: 'pm_card_riskLevelHighest', confirm: true }).then(
      () => undefined,
      (error: unknown) => error as Stripe.errors.StripeCardError,
    );
    expect(refused).toMatchObject({ type: 'StripeCardError', decline_code: 'fraudulent' });
    const charge = await t.stripe.charges.retrieve(refused!.payment_intent!.latest_charge as string);
    expect(charge.outcome).toMatchObject({ type: 'blocked', reason: 'highest_risk_level', risk_level: 'highest' });
  });

  it('puts payments in review while the risk process is down — never a 500, never charged twice — and scores again after a restart', async () => {
    await killRisk();
    const idempotency_key = `risk-down-${randomBytes(6).toString('hex')}`;
    const pay = () =>
      t.stripe.paymentIntents.create({ amount: 4200, currency: 'usd', payment_method: 'pm_card_visa', confirm: true }, { idempotencyKey: idempotency_key });
    const reviewed = await pay();
    // In review: authorized, captured only once the merchant approves.
    expect(reviewed.status).toBe('processing');
    expect(reviewed.review).toMatch(/^prv_/);
    const charge = await t.stripe.charges.retrieve(chargeIdOf(reviewed));
    expect(charge).toMatchObject({ captured: false, amount_captured: 0 });
    expect(charge.outcome).toMatchObject({ type: 'manual_review', reason: 'risk_evaluation_unavailable', risk_level: 'unknown' });
    // Without a score the highest-risk test card is not blocked by the default rule: it too waits in review.
    const unscored = await t.stripe.paymentIntents.create({ amount: 100, currency: 'usd', payment_method: 'pm_card_riskLevelHighest', confirm: true });
    expect(unscored.status).toBe('processing');
    expect(unscored.review).toMatch(/^prv_/);
    expect(t.logs.join('')).toContain('risk evaluation failed; the payment goes to review');
    expect((await pay()).id).toBe(reviewed.id);
    expect(await chargesOf(reviewed.id)).toBe(1);

    risk = await startRisk();
    const scored = await t.stripe.paymentIntents.create({ amount: 4300, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    expect(scored.status).toBe('succeeded');
    const outcome = (await t.stripe.charges.retrieve(chargeIdOf(scored))).outcome;
    expect(outcome).toMatchObject({ type: 'authorized', risk_level: 'normal' });
    expect(Number.isInteger(outcome?.risk_score)).toBe(true);
  });

  it('stops on SIGTERM within its shutdown timeout', async () => {
    const child = risk!;
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    risk = undefined;
  });
});
