import fc from 'fast-check';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { systemClock } from '../../src/kernel/clock.js';
import { createLogger } from '../../src/platform/logger.js';
import type { ConnectorAccounts } from '../../src/services/connectors/index.js';
import { CONNECTOR_FACTORIES, connectorsAdmin, openConnectorAccounts } from '../../src/services/connectors/index.js';
import { UlidGenerator } from '../../src/kernel/ids.js';
import type { RegisteredConnectorFactory } from '../../src/services/connectors/app/registry.js';
import { registerFactory } from '../../src/services/connectors/app/registry.js';
import { connectorCommands } from '../../src/cli/connectors.js';
import { verifyAuditLog } from '../../src/services/audit/index.js';
import { connectorCredentialsColumn } from '../../src/services/connectors/index.js';
import { KmsError, Vault, loadVaultKeyring, openKms, rotateKeys, sealedColumnTarget } from '../../src/services/vault/index.js';
import { createPool } from '../../src/platform/db.js';
import { keySettings } from '../../src/payment-services.js';

/**
 * Connector accounts and routing rules through the admin API and the CLI, on a real server: what is
 * stored, what is refused, what other processes see, and that credentials never come back out.
 */

const ADMIN_TOKEN = 'admin_3f1c9e7a5b2d8e4a6c0f1b3d5e7a9c2f';
const PROPAGATION_MS = 5_000;
/** Secrets a test connector kind takes: each must never appear anywhere but inside the sealed column. */
const SECRET = 'sk_test_routingSecretDoNotLeak4242AbCd';
const ROTATED = 'sk_test_rotatedSecretDoNotLeak9999WxYz';

let t: TestPlatform;
let merchant_id: string;
let accounts: ConnectorAccounts;
let saved_stripe: RegisteredConnectorFactory | undefined;
/** What the test kind's factory was handed, to prove credentials are opened intact for the connector only. */
const opened: unknown[] = [];

beforeAll(async () => {
  // A stand-in processor kind with a secret field: the accounts code is what is under test, not a processor.
  saved_stripe = CONNECTOR_FACTORIES.stripe;
  CONNECTOR_FACTORIES.stripe = registerFactory({
    credentials: z.strictObject({ secret_key: z.string().regex(/^sk_(test|live)_\w{10,}$/), account_name: z.string().max(40).optional() }),
    secret_fields: ['secret_key'],
    create: (credentials, ctx) => {
      opened.push(credentials);
      return ctx.sandbox;
    },
  });
  t = await startTestPlatform({ admin_token: ADMIN_TOKEN });
  merchant_id = (await t.owner.query<{ id: string }>('SELECT id FROM merchants.merchants')).rows[0]?.id ?? '';
  // As another process holds them: its own listener on the same database.
  accounts = openConnectorAccounts({
    pool: t.platform.database.pool,
    sealer: t.platform.disputes.payments.vault.sealer('connector_credentials'),
    clock: systemClock,
    logger: createLogger('silent'),
    sandbox: t.platform.disputes.payments.connector,
    fetch_timeout_ms: 1_000,
    database_url: t.platform.database.url,
    ttl_ms: 60_000,
  });
  await accounts.listening();
}, 60_000);
afterAll(async () => {
  await accounts?.close();
  await t?.stop();
  if (saved_stripe) CONNECTOR_FACTORIES.stripe = saved_stripe;
  else delete CONNECTOR_FACTORIES.stripe;
});

interface Candidate {
  account_id: string;
  reason: string;
}
/** An admin API answer, loosely: whichever of these fields the endpoint has. */
type Answer = Record<string, unknown> & {
  id: string;
  status: string;
  error: { type: string; code: string; param?: string; message: string };
  data: Array<{ id: string }>;
  credentials: Record<string, string>;
  rules: Array<{ conditions: unknown }>;
  candidates: Candidate[];
  skipped: Candidate[];
};

/** Every response body, CLI line and error the tests saw: none may hold a secret. */
const seen: string[] = [];

async function admin(method: string, path: string, body?: unknown, token = ADMIN_TOKEN, form = false) {
  const response = await fetch(`${t.url}/admin/v1/merchants/${merchant_id}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json' }),
    },
    ...(body === undefined ? {} : { body: form ? new URLSearchParams(body as Record<string, string>).toString() : JSON.stringify(body) }),
  });
  const text = await response.text();
  seen.push(text);
  return { status: response.status, body: JSON.parse(text) as Answer };
}

async function storedCounts() {
  const { rows } = await t.owner.query<{ accounts: number; routing: number }>(
    `SELECT (SELECT count(*) FROM connectors.connector_accounts)::int AS accounts, (SELECT count(*) FROM connectors.routing_rules)::int AS routing`,
  );
  return rows[0];
}

async function cli(words: string[], values: Record<string, string | boolean>, args: string[] = []) {
  const spec = connectorCommands(
    async (work) => work(t.platform.database),
    () => t.config,
  ).find((c) => c.words.join(' ') === words.join(' '));
  if (!spec) throw new Error(`no command ${words.join(' ')}`);
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    const code = (await spec.run({ merchant: merchant_id, ...values }, args)) ?? -1;
    seen.push(stdout, stderr);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('connector accounts', () => {
  it('answer only the admin token', async () => {
    expect((await admin('GET', '/connector_accounts', undefined, 'wrong')).status).toBe(401);
    expect((await admin('PUT', '/routing', { default: { type: 'priority', accounts: ['mca_x'] } }, 'wrong')).status).toBe(401);
  });

  it('are created with sealed credentials, shown back only as a masked hint', async () => {
    const created = await admin('POST', '/connector_accounts', {
      type: 'stripe',
      label: 'stripe-us',
      credentials: { secret_key: SECRET, account_name: 'US shop' },
    });
    expect(created.status).toBe(200);
    expect(created.body.id).toMatch(/^mca_\w{26}$/);
    const created_s = Number(created.body.created);
    expect(Math.abs(created_s - Date.now() / 1000)).toBeLessThan(60);
    expect(created.body).toEqual({
      id: created.body.id,
      object: 'connector_account',
      merchant: merchant_id,
      type: 'stripe',
      label: 'stripe-us',
      status: 'enabled',
      credentials: { secret_key: '…AbCd', account_name: 'US shop' },
      created: created_s,
      updated: created_s,
    });
    const listed = await admin('GET', '/connector_accounts');
    expect(listed.body.data).toEqual([created.body]);
    expect((await admin('GET', `/connector_accounts/${created.body.id}`)).body).toEqual(created.body);

    const stored = await t.owner.query<{ sealed: Buffer }>('SELECT sealed_credentials AS sealed FROM connectors.connector_accounts WHERE id = $1', [
      created.body.id,
    ]);
    expect(stored.rows[0]?.sealed.toString('latin1')).not.toContain('routingSecret');

    // Another process opens the connector with the credentials as given.
    await accounts.connector(merchant_id, created.body.id);
    expect(opened.at(-1)).toEqual({ secret_key: SECRET, account_name: 'US shop' });
  });

  it('refuse bad input with Stripe-shaped errors naming the param, storing nothing', async () => {
    const before = await storedCounts();
    const cases: [unknown, number, string, string][] = [
      [{ type: 'paypal', label: 'x' }, 400, 'parameter_invalid', 'type'],
      [{ type: 'sandbox' }, 400, 'parameter_missing', 'label'],
      [{ type: 'sandbox', label: 'bad label!' }, 400, 'parameter_invalid', 'label'],
      [{ type: 'sandbox', label: 'ok', credentials: { api_key: 'x' } }, 400, 'parameter_unknown', 'credentials[api_key]'],
      [{ type: 'stripe', label: 'bad-key', credentials: { secret_key: `${SECRET}!` } }, 400, 'parameter_invalid', 'credentials[secret_key]'],
      [{ type: 'stripe', label: 'no-key', credentials: {} }, 400, 'parameter_missing', 'credentials[secret_key]'],
      [{ type: 'stripe', label: 'stripe-us', credentials: { secret_key: SECRET } }, 400, 'resource_already_exists', 'label'],
      [{ type: 'sandbox', label: 'x', colour: 'red' }, 400, 'parameter_unknown', 'colour'],
    ];
    for (const [body, status, code, param] of cases) {
      const answer = await admin('POST', '/connector_accounts', body);
      expect({ status: answer.status, code: answer.body.error?.code, param: answer.body.error?.param }).toEqual({ status, code, param });
      expect(answer.body.error.type).toBe('invalid_request_error');
    }
    expect((await admin('GET', '/connector_accounts/mca_NOPE')).body.error).toMatchObject({ code: 'resource_missing', param: 'id' });
    expect(await storedCounts()).toEqual(before);
  });

  it('rotate credentials whole, and other processes open the new ones', async () => {
    const id = (await admin('GET', '/connector_accounts')).body.data[0]?.id ?? '';
    const rotated = await admin('POST', `/connector_accounts/${id}`, { credentials: { secret_key: ROTATED } });
    expect(rotated.body.credentials).toEqual({ secret_key: '…WxYz' });
    await vi.waitFor(
      async () => {
        await accounts.connector(merchant_id, id);
        expect(opened.at(-1)).toEqual({ secret_key: ROTATED });
      },
      { timeout: PROPAGATION_MS, interval: 20 },
    );
  });
});

describe('routing rules', () => {
  let stripe_id: string;
  let sandbox_id: string;

  it('start empty: everything to the built-in sandbox', async () => {
    stripe_id = (await admin('GET', '/connector_accounts')).body.data[0]?.id ?? '';
    sandbox_id = (await admin('POST', '/connector_accounts', { type: 'sandbox', label: 'sandbox-eu' })).body.id;
    expect((await admin('GET', '/routing')).body).toEqual({
      object: 'routing_rules',
      merchant: merchant_id,
      version: 0,
      rules: null,
      default: null,
      created: null,
    });
    const evaluated = await admin('POST', '/routing/evaluate', { amount: 1000, currency: 'eur' });
    expect(evaluated.body.candidates).toEqual([{ account_id: 'sandbox', reason: 'no routing rules: the built-in sandbox' }]);
  });

  it('are validated against the merchant’s accounts, then stored as a new version other processes see', async () => {
    const before = await storedCounts();
    const unknown = await admin('PUT', '/routing', { default: { type: 'priority', accounts: ['mca_UNKNOWN'] } });
    expect(unknown.body.error).toMatchObject({ code: 'parameter_invalid', param: 'default' });
    const weights = await admin('PUT', '/routing', {
      rules: [
        {
          name: 'ab',
          action: {
            type: 'split',
            splits: [
              { account: stripe_id, weight: 60 },
              { account: sandbox_id, weight: 30 },
            ],
          },
        },
      ],
      default: { type: 'priority', accounts: [sandbox_id] },
    });
    expect(weights.body.error).toMatchObject({ code: 'parameter_invalid', param: 'rules[0][action][splits]' });
    expect(await storedCounts()).toEqual(before);

    const rules = {
      rules: [{ name: 'eu-cards', conditions: { card_country: ['de', 'FR'] }, action: { type: 'priority', accounts: [sandbox_id, stripe_id] } }],
      default: { type: 'priority', accounts: [stripe_id] },
    };
    const set = await admin('PUT', '/routing', rules);
    expect(set.body).toMatchObject({ object: 'routing_rules', version: 1, default: rules.default });
    expect(set.body.rules[0]?.conditions).toEqual({ card_country: ['DE', 'FR'] });
    await vi.waitFor(async () => expect((await accounts.routing(merchant_id)).version).toBe(1), { timeout: PROPAGATION_MS, interval: 20 });

    const evaluated = await admin('POST', '/routing/evaluate', { amount: 1000, currency: 'eur', card: { country: 'de', brand: 'visa', bin: '424242' } });
    expect(evaluated.body).toMatchObject({ object: 'routing_evaluation', version: 1, skipped: [] });
    expect(evaluated.body.candidates).toEqual([
      { account_id: sandbox_id, reason: "rule 'eu-cards' (card country in [DE,FR]) → sandbox-eu (priority 1)" },
      { account_id: stripe_id, reason: "rule 'eu-cards' (card country in [DE,FR]) → stripe-us (priority 2)" },
    ]);
  });

  it('dry runs read the router’s live health: an unavailable account moves last, saying why', async () => {
    const health = { isAvailable: (id: string) => id !== sandbox_id, successRate: (id: string) => (id === sandbox_id ? 0.3 : null) };
    const dry = connectorsAdmin({
      pool: t.platform.database.pool,
      ids: new UlidGenerator(),
      health,
      change: () => ({ now_ms: Date.now(), actor: { type: 'cli' } }),
    });
    const route = await dry.evaluate(merchant_id, { amount: 1000, currency: 'eur', card: { country: 'DE' } });
    expect(route.candidates.map((c) => c.account_id)).toEqual([stripe_id, sandbox_id]);
    expect(route.candidates[1]?.reason).toMatch(/moved last: unavailable \(success rate 30%\)$/);
  });

  it('keep the accounts they name: delete is refused, and so is disabling the default’s last enabled account', async () => {
    const refused = await admin('DELETE', `/connector_accounts/${stripe_id}`);
    expect(refused.body.error).toMatchObject({ code: 'parameter_invalid', param: 'id' });
    expect(refused.body.error.message).toContain('version 1');
    const disable = await admin('POST', `/connector_accounts/${stripe_id}`, { status: 'disabled' });
    expect(disable.body.error).toMatchObject({ code: 'parameter_invalid', param: 'status' });
    // The rule's own account may be disabled: routing skips it and says so.
    expect((await admin('POST', `/connector_accounts/${sandbox_id}`, { status: 'disabled' })).body.status).toBe('disabled');
    const evaluated = await admin('POST', '/routing/evaluate', { amount: 1000, currency: 'eur', card: { country: 'FR' } });
    expect(evaluated.body.candidates.map((c) => c.account_id)).toEqual([stripe_id]);
    expect(evaluated.body.skipped[0]?.reason).toMatch(/skipped: disabled$/);
    await admin('POST', `/connector_accounts/${sandbox_id}`, { status: 'enabled' });
  });

  it('refuse a change made against an old version, and accept form-encoded rules', async () => {
    const stale = await admin('PUT', '/routing', { default: { type: 'priority', accounts: [sandbox_id] }, expected_version: 0 });
    expect(stale.body.error).toMatchObject({ code: 'parameter_invalid', param: 'expected_version' });
    const form = await admin(
      'PUT',
      '/routing',
      {
        'rules[0][name]': 'big',
        'rules[0][conditions][currency][0]': 'usd',
        'rules[0][conditions][amount][gte]': '100000',
        'rules[0][action][type]': 'priority',
        'rules[0][action][accounts][0]': stripe_id,
        'default[type]': 'priority',
        'default[accounts][0]': sandbox_id,
        expected_version: '1',
      },
      ADMIN_TOKEN,
      true,
    );
    expect(form.status).toBe(200);
    expect(form.body).toMatchObject({ version: 2, rules: [{ name: 'big', conditions: { currency: ['usd'], amount: { gte: 100000 } } }] });
  });

  it('once removed, send everything to the built-in sandbox again, and the account can go', async () => {
    expect((await admin('DELETE', '/routing')).body).toMatchObject({ version: 3, rules: null, default: null });
    const evaluated = await admin('POST', '/routing/evaluate', { amount: 1000, currency: 'usd' });
    expect(evaluated.body.candidates[0]?.account_id).toBe('sandbox');
    expect((await admin('DELETE', `/connector_accounts/${sandbox_id}`)).body).toEqual({ id: sandbox_id, object: 'connector_account', deleted: true });
    expect((await admin('GET', `/connector_accounts/${sandbox_id}`)).status).toBe(404);
    // Its payments still reach it: a deleted account's connector still opens.
    await expect(accounts.connector(merchant_id, sandbox_id)).resolves.toBe(t.platform.disputes.payments.connector);
  });
});

describe('the CLI', () => {
  it('adds, lists, updates and removes accounts, and shows, sets and evaluates routing', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/payrail-routing-cli-');
    writeFileSync(`${dir}/creds.json`, JSON.stringify({ secret_key: SECRET }));
    const added = await cli(['connectors', 'add'], { 'credentials-file': `${dir}/creds.json` }, ['stripe', 'stripe-cli']);
    expect(added).toMatchObject({ code: 0, stderr: '' });
    const id = /^(mca_\w+) +stripe +enabled +stripe-cli +secret_key=…AbCd\n$/.exec(added.stdout)?.[1] ?? '';
    expect(id).not.toBe('');
    expect((await cli(['connectors', 'list'], {})).stdout).toContain(`${id}  stripe   enabled   stripe-cli`);
    expect((await cli(['connectors', 'update'], { disable: true }, [id])).stdout).toMatch(/disabled +stripe-cli/);

    writeFileSync(`${dir}/rules.json`, JSON.stringify({ default: { type: 'priority', accounts: [id] } }));
    const refused = await cli(['routing', 'set'], {}, [`${dir}/rules.json`]);
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toMatch(/^default: The routing rules’ default must keep at least one enabled/);
    await cli(['connectors', 'update'], { enable: true }, [id]);
    expect(JSON.parse((await cli(['routing', 'set'], {}, [`${dir}/rules.json`])).stdout)).toMatchObject({ version: 4 });
    expect(JSON.parse((await cli(['routing', 'show'], {})).stdout)).toMatchObject({ version: 4, default: { accounts: [id] } });
    const evaluated = JSON.parse((await cli(['routing', 'evaluate'], { amount: '500', currency: 'gbp', country: 'gb' })).stdout) as Answer;
    expect(evaluated.candidates).toEqual([{ account_id: id, reason: 'default (no rule matched) → stripe-cli (priority 1)' }]);
    expect((await cli(['connectors', 'remove'], {}, [id])).code).toBe(1);
  });
});

describe('under attack and races', () => {
  it('answers any body with a 200 or a Stripe-shaped 4xx, never a 500, and a refusal stores nothing', async () => {
    const account = (await admin('GET', '/connector_accounts')).body.data[0]?.id ?? 'mca_x';
    const value = fc.oneof(fc.constantFrom(account, 'priority', 'split', 'eur', 'DE', '4242', 100, -1, null, ''), fc.jsonValue({ maxDepth: 2 }));
    const shaped = fc.record(
      {
        rules: fc.array(
          fc.record(
            { name: value, conditions: fc.dictionary(fc.constantFrom('currency', 'amount', 'bin_prefix', 'x'), value), action: value },
            { requiredKeys: [] },
          ),
          { maxLength: 3 },
        ),
        default: value,
        expected_version: value,
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(shaped, fc.jsonValue({ maxDepth: 3 }));
    const paths = fc.constantFrom(
      ['PUT', '/routing'],
      ['POST', '/connector_accounts'],
      ['POST', '/routing/evaluate'],
      ['POST', `/connector_accounts/${account}`],
    );
    await fc.assert(
      fc.asyncProperty(paths, body, async ([method = 'POST', path = ''], sent) => {
        const before = await storedCounts();
        const answer = await admin(method, path, sent);
        expect([200, 400, 404]).toContain(answer.status);
        if (answer.status !== 200) {
          expect(answer.body.error.type).toBe('invalid_request_error');
          expect(await storedCounts()).toEqual(before);
        }
      }),
      { numRuns: Number(process.env['FUZZ_RUNS'] ?? 60) },
    );
  }, 120_000);

  it('never leaves rules naming a deleted account, however a delete and a rules change interleave', async () => {
    for (let round = 0; round < 8; round++) {
      const doomed = (await admin('POST', '/connector_accounts', { type: 'sandbox', label: `doomed-${round}` })).body.id;
      const keeper = (await admin('GET', '/connector_accounts')).body.data[0]?.id ?? '';
      const [, removed] = await Promise.all([
        admin('PUT', '/routing', { default: { type: 'priority', accounts: [doomed, keeper] } }),
        admin('DELETE', `/connector_accounts/${doomed}`),
      ]);
      const rules = (await admin('GET', '/routing')).body;
      const named = JSON.stringify(rules.default ?? null).includes(doomed);
      // Exactly one of them won: the rules name it and it lives, or it is deleted and they do not name it.
      expect(named).toBe(removed.status !== 200);
      await admin('DELETE', '/routing');
      if (named) expect((await admin('DELETE', `/connector_accounts/${doomed}`)).status).toBe(200);
    }
  }, 60_000);
});

describe('key rotation', () => {
  it('rewraps every account’s credentials, deleted ones included, and they still open after the old key retires', async () => {
    const vault_pool = createPool(t.platform.database.urls.vault, 2);
    try {
      const kms = await openKms(keySettings(t.config), () => {});
      const keyring = await loadVaultKeyring(vault_pool, kms, Date.now());
      const sealer = new Vault(keyring).sealer('connector_credentials');
      const target = sealedColumnTarget('connector_credentials', connectorCredentialsColumn(t.platform.database.pool), sealer, () =>
        Promise.reject(new KmsError('never sealed before the KMS')),
      );
      const options = { purposes: ['connector_credentials'] as const, batch_size: 2, pause_ms: 0, settle_ms: 0, now_ms: () => Date.now(), report: () => {} };
      await rotateKeys(vault_pool, kms.kms, [target], { ...options, audit: async () => {} });
      expect((await kms.kms.status('connector_credentials')).min_decryption_version).toBe(2);
      const { rows } = await t.owner.query<{ id: string; status: string; sealed: Buffer }>(
        'SELECT id, status, sealed_credentials AS sealed FROM connectors.connector_accounts',
      );
      expect(rows.length).toBeGreaterThanOrEqual(3);
      expect(rows.some((row) => row.status === 'deleted')).toBe(true);
      expect(rows.map((row) => sealer.versionOf(row.sealed))).toEqual(rows.map(() => 2));
      const stripe_account = (await admin('GET', '/connector_accounts')).body.data[0]?.id ?? '';
      accounts.forget(merchant_id);
      await accounts.connector(merchant_id, stripe_account);
      expect(opened.at(-1)).toEqual({ secret_key: ROTATED });
    } finally {
      await vault_pool.end();
    }
  });
});

describe('secrets', () => {
  it('never reach a response, the CLI, an error, the logs or the audit events', async () => {
    const audit = await t.owner.query<{ type: string; data: string }>(
      `SELECT type, data::text FROM audit.security_events WHERE type LIKE 'connector_account.%'`,
    );
    expect(audit.rows.map((row) => row.type)).toEqual(
      expect.arrayContaining(['connector_account.created', 'connector_account.updated', 'connector_account.deleted']),
    );
    const rotation = audit.rows.map((row) => JSON.parse(row.data) as { credentials_rotated: boolean; new: unknown }).find((data) => data.credentials_rotated);
    expect(rotation?.new).toMatchObject({ credentials: { secret_key: '…WxYz' } });
    expect((await verifyAuditLog(t.owner)).findings).toEqual([]);
    const everything = [...seen, ...t.logs, ...audit.rows.map((row) => row.data)].join('\n');
    expect(seen.length).toBeGreaterThan(30);
    for (const secret of [SECRET, ROTATED, 'routingSecretDoNotLeak', 'rotatedSecretDoNotLeak']) expect(everything).not.toContain(secret);
  });
});
