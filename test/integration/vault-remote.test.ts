import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PayrailError } from '../../src/kernel/errors.js';
import { UlidGenerator } from '../../src/kernel/ids.js';
import type { Pool } from '../../src/platform/db.js';
import { createPool, run, sql } from '../../src/platform/db.js';
import type { MtlsCredentials } from '../../src/platform/http/mtls.js';
import { mtlsServerOptions, readMtlsCredentials } from '../../src/platform/http/mtls.js';
import { createLogger } from '../../src/platform/logger.js';
import { withMerchant } from '../../src/platform/merchant-scope.js';
import { DB_ROLES } from '../../src/platform/rls.js';
import type { VaultKeyPort, VaultKeyring, VaultServer } from '../../src/services/vault/index.js';
import { Vault, loadVaultKeyring, localVaultKeys, openKms, remoteVaultBinding, startVaultServer } from '../../src/services/vault/index.js';
import type { MigratedDatabase } from '../support/database.js';
import { createMigratedPool } from '../support/database.js';

/**
 * The vault's key port over mutual TLS (src/services/vault/adapters/remote-*.ts), with certificates
 * from deploy/local/ca.sh, a real keyring and the database roles: who may connect, what a slow call
 * does, and that a card sealed through the network opens again only through the vault.
 */

const MERCHANT = 'acct_01VAULTREMOTETESTAAAAAAAA';
const PAN = '4242424242424242';
const NOW_S = 1_800_000_000;

let database: MigratedDatabase;
let dir: string;
let certs: MtlsCredentials & { other_ca: MtlsCredentials; server: MtlsCredentials; no_cert: Buffer };
let keyring: VaultKeyring;
let app_pool: Pool;
let vault_reader: Pool;
let server: VaultServer;
const logs: string[] = [];

/** The test database as one of the platform's roles (the test server trusts local connections). */
function roleUrl(role: keyof typeof DB_ROLES): string {
  const url = new URL(database.url);
  url.username = DB_ROLES[role];
  return url.toString();
}

/** Certificates made the way an operator makes them: the CA script, into a directory of its own. */
function makeCertificates(into: string, roles: string[]): (name: string) => Buffer {
  execFileSync('bash', ['deploy/local/ca.sh', into, ...roles], { stdio: 'pipe' });
  return (name) => readFileSync(join(into, name));
}

/** One raw HTTPS call to the vault, to see what the TLS layer does with a given client identity. */
function rawCall(url: string, tls: { ca: Buffer; cert?: Buffer; key?: Buffer }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/healthz`, { ...tls, agent: false, timeout: 3_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  database = await createMigratedPool(2);
  dir = mkdtempSync(join(tmpdir(), 'payrail-vault-remote-'));
  const ours = makeCertificates(join(dir, 'ours'), ['api']);
  const theirs = makeCertificates(join(dir, 'theirs'), ['api']);
  certs = {
    ...readMtlsCredentials({ ca_file: join(dir, 'ours/ca.crt'), cert_file: join(dir, 'ours/api.crt'), key_file: join(dir, 'ours/api.key') }),
    server: { ca: ours('ca.crt'), cert: ours('vault.crt'), key: ours('vault.key') },
    other_ca: { ca: theirs('ca.crt'), cert: theirs('api.crt'), key: theirs('api.key') },
    no_cert: ours('ca.crt'),
  };
  const kms = await openKms(
    {
      kms: 'development',
      vault_key: randomBytes(32).toString('hex'),
      data_dir: join(dir, 'data'),
      secrets_dir: join(dir, 'secrets'),
      transit: undefined,
      live: false,
    },
    () => {},
  );
  const setup = createPool(roleUrl('vault'), 1);
  keyring = await loadVaultKeyring(setup, kms, NOW_S * 1000);
  await setup.end();
  vault_reader = createPool(roleUrl('vault'), 2, undefined, { read_only: true, merchant_scoped: true });
  app_pool = createPool(roleUrl('app'), 2, undefined, { merchant_scoped: true });
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  server = await startVaultServer({ keys: localVaultKeys(keyring, vault_reader), tls: certs.server, logger: createLogger('info', sink) });
});

afterAll(async () => {
  await server.close();
  await vault_reader.end();
  await app_pool.end();
  await database.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('who may call the vault', () => {
  it('answers a client with a certificate from the CA', async () => {
    expect(await rawCall(server.url, certs)).toBe(200);
  });

  it('refuses a client without a certificate during the handshake', async () => {
    await expect(rawCall(server.url, { ca: certs.no_cert })).rejects.toThrow(/certificate|socket hang up|ECONNRESET/i);
  });

  it('refuses a client whose certificate another CA signed', async () => {
    await expect(rawCall(server.url, { ca: certs.ca, cert: certs.other_ca.cert, key: certs.other_ca.key })).rejects.toThrow(
      /certificate|unknown ca|socket hang up|ECONNRESET/i,
    );
    const client = remoteVaultBinding({ url: server.url, tls: { ...certs, cert: certs.other_ca.cert, key: certs.other_ca.key }, retries: 0 });
    await expect(client.fingerprint({ merchant_id: MERCHANT, value: PAN })).rejects.toMatchObject({ code: 'service_unavailable', status: 503 });
    client.close();
  });

  it('refuses a certificate of the CA issued to a role outside the allowed callers', async () => {
    const strict = await startVaultServer({
      keys: localVaultKeys(keyring, vault_reader),
      tls: certs.server,
      logger: createLogger('silent'),
      callers: ['scheduler'],
    });
    expect(await rawCall(strict.url, certs)).toBe(403);
    const client = remoteVaultBinding({ url: strict.url, tls: certs, retries: 0 });
    await expect(client.fingerprint({ merchant_id: MERCHANT, value: PAN })).rejects.toThrow(/refused fingerprint: 403 permission_denied/);
    client.close();
    await strict.close();
    const allowed = await startVaultServer({
      keys: localVaultKeys(keyring, vault_reader),
      tls: certs.server,
      logger: createLogger('silent'),
      callers: ['api'],
    });
    expect(await rawCall(allowed.url, certs)).toBe(200);
    await allowed.close();
  });

  it('refuses, as a client, a vault whose certificate another CA signed', async () => {
    const impostor = createServer(mtlsServerOptions({ ...certs.other_ca, cert: certs.other_ca.cert, key: certs.other_ca.key }, 1_000), (_req, res) =>
      res.end('{}'),
    );
    const url = await listen(impostor);
    const client = remoteVaultBinding({ url, tls: certs, retries: 0 });
    await expect(client.fingerprint({ merchant_id: MERCHANT, value: PAN })).rejects.toMatchObject({ code: 'service_unavailable' });
    client.close();
    impostor.close();
  });
});

describe('sealing and opening through the network', () => {
  it('seals a card the app role stores, and opens it only through the vault', async () => {
    const client = remoteVaultBinding({ url: server.url, tls: certs });
    const vault = new Vault(client);
    const local = new Vault(keyring, vault_reader);
    const card = vault.validate({ number: PAN, exp_month: 12, exp_year: 2040, cvc: '123' }, NOW_S * 1000);
    const { method, write } = await vault.tokenize(new UlidGenerator(), MERCHANT, { card }, NOW_S);
    await withMerchant(MERCHANT, () => run(app_pool, write));
    expect(method.card).toMatchObject({ brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2040 });
    // The network binding computes the same keyed fingerprint as the keys in this process.
    expect(method.card.fingerprint).toBe((await localVaultKeys(keyring, undefined).fingerprint({ merchant_id: MERCHANT, value: PAN })).fingerprint);

    const opened = await withMerchant(MERCHANT, () => vault.cardForPayment(app_pool, MERCHANT, method.id, 'ch_remote_test', NOW_S * 1000));
    expect(opened.card.number).toBe(PAN);
    expect(opened.audit).not.toBeNull();
    const by_local = await withMerchant(MERCHANT, () => local.cardForPayment(app_pool, MERCHANT, method.id, 'ch_local_test', NOW_S * 1000));
    expect(by_local.card.number).toBe(PAN);
    // The vault's own log names the card, the payment and the calling service, never the number.
    const opened_lines = logs.filter((line) => line.includes('vault: card opened'));
    expect(opened_lines.some((line) => line.includes(method.id) && line.includes('ch_remote_test') && line.includes('"caller":"api"'))).toBe(true);
    expect(logs.join('\n')).not.toContain(PAN);
    client.close();
  });

  it('seals and opens other services’ secrets in the same format as the keys in this process', async () => {
    const client = remoteVaultBinding({ url: server.url, tls: certs });
    const remote = new Vault(client).sealer('webhook_secrets');
    const local = new Vault(keyring).sealer('webhook_secrets');
    const sealed = await remote.seal('whsec_remote', 'we_1');
    expect(remote.recognizes(sealed)).toBe(true);
    expect(await local.open(sealed, 'we_1')).toBe('whsec_remote');
    expect(await remote.open(await local.seal('whsec_local', 'we_2'), 'we_2')).toBe('whsec_local');
    const [rewrapped] = await remote.rewrap([sealed]);
    expect(await local.open(rewrapped ?? Buffer.alloc(0), 'we_1')).toBe('whsec_remote');
    client.close();
  });

  it('answers a card it does not hold with resource_missing, and a malformed body with 400 that repeats no digits', async () => {
    const client = remoteVaultBinding({ url: server.url, tls: certs });
    const missing = client.open_card({ merchant_id: MERCHANT, payment_method_id: 'pm_nothere', reference_id: 'ch_x' });
    await expect(missing).rejects.toBeInstanceOf(PayrailError);
    await expect(missing).rejects.toMatchObject({ code: 'resource_missing', status: 404 });
    const bad = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const body = JSON.stringify({ merchant_id: MERCHANT, value: `${PAN}${PAN}${PAN}${PAN}${PAN}` });
      const req = request(`${server.url}/vault/v1/fingerprint`, { ...certs, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += String(chunk)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ error: { type: 'invalid_request_error', code: 'parameter_invalid', param: 'value' } });
    expect(bad.body).not.toContain(PAN);
    client.close();
  });

  it('keeps the sealed card from the app role: reading the ciphertext is permission denied', async () => {
    const read = withMerchant(MERCHANT, () => run(app_pool, sql`SELECT ciphertext FROM vault.payment_methods`));
    await expect(read).rejects.toThrow(/permission denied/);
    const metadata = await withMerchant(MERCHANT, () => run<{ n: number }>(app_pool, sql`SELECT count(*)::int AS n FROM vault.payment_methods`));
    expect(metadata.rows[0]?.n).toBeGreaterThan(0);
  });
});

describe('time limits', () => {
  it('answers 503 when the vault’s own work outlives its deadline, and the client gives up cleanly', async () => {
    const slow_keys: VaultKeyPort = {
      ...localVaultKeys(keyring, vault_reader),
      fingerprint: () => new Promise((resolve) => setTimeout(() => resolve({ fingerprint: 'late' }), 2_000)),
    };
    const slow = await startVaultServer({ keys: slow_keys, tls: certs.server, logger: createLogger('silent'), call_timeout_ms: 150 });
    const client = remoteVaultBinding({ url: slow.url, tls: certs, retries: 1, timeout_ms: 1_000 });
    const started = Date.now();
    await expect(client.fingerprint({ merchant_id: MERCHANT, value: PAN })).rejects.toMatchObject({ code: 'service_unavailable', status: 503 });
    // Two tries of 150 ms each and one back-off, not the 2 s the work would have taken.
    expect(Date.now() - started).toBeLessThan(1_500);
    client.close();
    await slow.close();
  });

  it('gives up on a vault that accepts the connection and never answers, within its own timeout', async () => {
    const silent = createServer(mtlsServerOptions(certs.server, 1_000), () => {});
    const url = await listen(silent);
    const client = remoteVaultBinding({ url, tls: certs, retries: 0, timeout_ms: 300 });
    const started = Date.now();
    await expect(client.open_card({ merchant_id: MERCHANT, payment_method_id: 'pm_1', reference_id: 'ch_1' })).rejects.toMatchObject({
      code: 'service_unavailable',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(1_500);
    client.close();
    silent.closeAllConnections();
    silent.close();
  });
});

function listen(https_server: Server): Promise<string> {
  return new Promise((resolve) => https_server.listen(0, '127.0.0.1', () => resolve(`https://127.0.0.1:${(https_server.address() as AddressInfo).port}`)));
}
