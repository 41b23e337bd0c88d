import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransitKms } from '../../src/services/vault/adapters/transit-kms.js';
import { DevelopmentKms } from '../../src/services/vault/adapters/development-kms.js';
import { KmsChain } from '../../src/services/vault/app/kms-chain.js';
import { KmsError } from '../../src/services/vault/domain/kms.js';
import { transitKeyNames } from '../../src/services/vault/app/keys.js';
import type { TransitSimulator } from '../support/vault-transit-simulator.js';
import { startTransitSimulator } from '../support/vault-transit-simulator.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';

/**
 * The Vault Transit KMS against a simulator of Transit's HTTP API (Vault itself cannot run here):
 * wrapping, key versions, batched rewrap, retirement, authentication and per-purpose keys, then the
 * whole platform sealing cards and webhook secrets through it.
 */

let simulator: TransitSimulator;
let kms: TransitKms;

beforeAll(async () => {
  simulator = await startTransitSimulator();
  kms = new TransitKms({ address: simulator.address, token: simulator.token, mount: 'transit', key_names: transitKeyNames('test-') });
  await kms.ensureKeys();
});

afterAll(async () => {
  await simulator.close();
});

describe('TransitKms', () => {
  it('creates one Transit key per purpose on start', () => {
    expect(simulator.latestVersion('test-cards')).toBe(1);
    expect(simulator.latestVersion('test-webhook-secrets')).toBe(1);
    expect(simulator.latestVersion('test-bank-accounts')).toBe(1);
  });

  it('wraps a data key as vault:v1:… and unwraps it, sending the token as X-Vault-Token', async () => {
    const data_key = randomBytes(32);
    const wrapped = await kms.wrap('cards', data_key);
    expect(wrapped).toMatch(/^vault:v1:/);
    expect(wrapped).not.toContain(data_key.toString('base64'));
    expect((await kms.unwrap('cards', wrapped)).equals(data_key)).toBe(true);
    expect(simulator.requests.some((r) => r.path === '/v1/transit/encrypt/test-cards')).toBe(true);
  });

  it("keeps purposes apart: one purpose's wrapped key does not open under another's", async () => {
    const wrapped = await kms.wrap('webhook_secrets', randomBytes(32));
    await expect(kms.unwrap('bank_accounts', wrapped)).rejects.toThrow(/message authentication failed/);
  });

  it('rotates: new keys wrap under v2, v1 still opens, rewrap moves a batch to v2, and retiring v1 stops it opening', async () => {
    const old_key = randomBytes(32);
    const old_wrapped = await kms.wrap('bank_accounts', old_key);
    const before = await kms.status('bank_accounts');
    const rotated = await kms.rotate('bank_accounts');
    expect(rotated.latest_version).toBe(before.latest_version + 1);
    const v = rotated.latest_version;
    expect(await kms.wrap('bank_accounts', randomBytes(32))).toMatch(new RegExp(`^vault:v${v}:`));
    expect((await kms.unwrap('bank_accounts', old_wrapped)).equals(old_key)).toBe(true);

    const [rewrapped, second] = await kms.rewrap('bank_accounts', [old_wrapped, await kms.wrap('bank_accounts', randomBytes(32))]);
    expect(rewrapped).toMatch(new RegExp(`^vault:v${v}:`));
    expect(second).toMatch(new RegExp(`^vault:v${v}:`));
    expect((await kms.unwrap('bank_accounts', rewrapped ?? '')).equals(old_key)).toBe(true);

    const retired = await kms.retire('bank_accounts', v);
    expect(retired.min_decryption_version).toBe(v);
    await expect(kms.unwrap('bank_accounts', old_wrapped)).rejects.toThrow(/disallowed by policy/);
    expect((await kms.unwrap('bank_accounts', rewrapped ?? '')).equals(old_key)).toBe(true);
  });

  it('names a refused token in its error without the token itself', async () => {
    const wrong = new TransitKms({ address: simulator.address, token: 'hvs.not-the-token', mount: 'transit', key_names: transitKeyNames('test-') });
    const error = await wrong.wrap('cards', randomBytes(32)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KmsError);
    expect((error as Error).message).toMatch(/permission denied/);
    expect((error as Error).message).not.toContain('hvs.not-the-token');
  });

  it('moves data keys the development key wrapped onto Transit when they are rewrapped (an install moving to Vault)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'payrail-kms-move-'));
    try {
      writeFileSync(join(dir, 'vault.key'), randomBytes(32).toString('hex'), { mode: 0o600 });
      const development = new DevelopmentKms({ kind: 'file', path: join(dir, 'vault.key') });
      const chain = new KmsChain(kms, development);
      const data_key = randomBytes(32);
      const before = await development.wrap('cards', data_key);
      expect(chain.versionOf(before)).toBe(0);
      expect((await chain.unwrap('cards', before)).equals(data_key)).toBe(true);
      const [moved = ''] = await chain.rewrap('cards', [before]);
      expect(moved).toMatch(/^vault:v\d+:/);
      expect(chain.versionOf(moved)).toBeGreaterThan(0);
      expect((await kms.unwrap('cards', moved)).equals(data_key)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a ciphertext some other KMS made before asking Vault', async () => {
    await expect(kms.unwrap('cards', 'dev:v1:AAAA')).rejects.toThrow(KmsError);
  });

  it('fails fast with a KmsError when Vault is unreachable', async () => {
    const gone = new TransitKms({ address: 'http://127.0.0.1:9', token: simulator.token, mount: 'transit', key_names: transitKeyNames('test-') });
    await expect(gone.status('cards')).rejects.toThrow(/unreachable/);
  });
});

describe('the platform on Vault Transit', () => {
  let t: TestPlatform;

  beforeAll(async () => {
    t = await startTestPlatform({
      kms: 'vault-transit',
      vault_transit: { address: simulator.address, token: simulator.token, mount: 'transit', key_prefix: 'platform-' },
      mode: 'live',
      webhooks_allow_private: false,
    });
  });

  afterAll(async () => {
    await t?.stop();
  });

  it('starts in live mode, seals cards under the cards key and pays with them', async () => {
    const method = await t.stripe.paymentMethods.create({ type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2040, cvc: '123' } });
    const { rows } = await t.owner.query<{ kek_id: string; wrapped: string }>(
      `SELECT kek_id, convert_from(wrapped_key, 'UTF8') AS wrapped FROM vault.payment_methods WHERE id = $1`,
      [method.id],
    );
    expect(rows[0]?.kek_id).toBe('kms:vault');
    expect(rows[0]?.wrapped).toMatch(/^vault:v1:/);
    const intent = await t.stripe.paymentIntents.create({ amount: 1500, currency: 'usd', payment_method: method.id, confirm: true });
    expect(intent.status).toBe('succeeded');
    expect(simulator.requests.some((r) => r.path === '/v1/transit/decrypt/platform-cards')).toBe(true);
  });

  it('seals webhook signing secrets under their own key, never in clear', async () => {
    const endpoint = await t.stripe.webhookEndpoints.create({ url: 'https://example.com/hooks', enabled_events: ['*'] });
    const { rows } = await t.owner.query<{ sealed: Buffer }>(`SELECT secret_sealed AS sealed FROM events.webhook_endpoints WHERE id = $1`, [endpoint.id]);
    const sealed = rows[0]?.sealed ?? Buffer.alloc(0);
    expect(sealed.subarray(0, 4).toString()).toBe('PRK1');
    expect(sealed.toString('latin1')).toContain('vault:v1:');
    expect(sealed.toString('latin1')).not.toContain(endpoint.secret ?? 'whsec_');
    expect(simulator.requests.some((r) => r.path === '/v1/transit/encrypt/platform-webhook-secrets')).toBe(true);
  });

  it('answers a retryable 503 while Vault is sealed, and stores nothing', async () => {
    const count = async () => (await t.owner.query<{ n: number }>('SELECT count(*)::int AS n FROM vault.payment_methods')).rows[0]?.n;
    const before = await count();
    simulator.seal();
    try {
      const error = await t.stripe.paymentMethods
        .create({ type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2040, cvc: '123' } })
        .catch((e: unknown) => e as Stripe.errors.StripeError);
      expect(error).toMatchObject({ statusCode: 503, type: 'StripeAPIError', code: 'service_unavailable' });
      expect((error as Stripe.errors.StripeError).message).toContain('key management service');
      expect((error as Stripe.errors.StripeError).message).not.toContain(simulator.address);
    } finally {
      simulator.unseal();
    }
    expect(await count()).toBe(before);
    const method = await t.stripe.paymentMethods.create({ type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2040, cvc: '123' } });
    expect(method.id).toMatch(/^pm_/);
  });

  it('a payment while Vault is sealed answers 503, charges nothing, and its retry with the same key pays once', async () => {
    const method = await t.stripe.paymentMethods.create({ type: 'card', card: { number: '5555555555554444', exp_month: 3, exp_year: 2041, cvc: '123' } });
    const params = { amount: 2100, currency: 'usd', payment_method: method.id, confirm: true };
    simulator.seal();
    let error: Stripe.errors.StripeError;
    try {
      error = await t.stripe.paymentIntents.create(params, { idempotencyKey: 'sealed-vault-1' }).then(
        () => {
          throw new Error('expected a 503');
        },
        (e: unknown) => e as Stripe.errors.StripeError,
      );
    } finally {
      simulator.unseal();
    }
    expect(error).toMatchObject({ statusCode: 503, code: 'service_unavailable' });
    const charges = async () =>
      (await t.owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM payments.charges WHERE state->>'payment_method' = $1`, [method.id])).rows[0]?.n;
    expect(await charges()).toBe(0);
    const paid = await t.stripe.paymentIntents.create(params, { idempotencyKey: 'sealed-vault-1' });
    expect(paid.status).toBe('succeeded');
    expect(await charges()).toBe(1);
  });

  it('never logs the Vault token', () => {
    expect(t.logs.join('\n')).not.toContain(simulator.token);
  });
});
