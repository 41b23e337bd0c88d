import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, get } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import type { ConnectionOptions } from 'node:tls';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/platform/config.js';
import { createTestDatabase } from '../support/database.js';
import type { TestPlatform } from '../support/platform.js';
import { TEST_SECRET_KEY, startTestPlatform } from '../support/platform.js';
import { exitCodeWithin, freePort, serverEnv, spawnServer } from '../support/processes.js';

/**
 * The HTTPS listener (PAYRAIL_TLS_CERT / PAYRAIL_TLS_KEY) with a self-signed certificate made here by
 * the openssl CLI: the official SDK pays over it with the certificate trusted as its CA, every answer
 * carries HSTS, and the handshake refuses old protocols and ciphers.
 */

let t: TestPlatform;
let dir: string;
let ca: Buffer;
let port: number;
let files: { cert_file: string; key_file: string };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'payrail-tls-'));
  const cert_file = join(dir, 'cert.pem');
  const key_file = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      key_file,
      '-out',
      cert_file,
    ],
    { stdio: 'ignore' },
  );
  ca = readFileSync(cert_file);
  files = { cert_file, key_file };
  t = await startTestPlatform({ tls: files });
  port = Number(new URL(t.url).port);
});
afterAll(async () => {
  await t?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function handshake(options: ConnectionOptions, to_port = port): Promise<{ protocol: string | null; cipher: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: to_port, ca, servername: 'localhost', ...options }, () => {
      const result = { protocol: socket.getProtocol(), cipher: socket.getCipher().name };
      socket.end();
      resolve(result);
    });
    socket.once('error', reject);
  });
}

function getOverTls(path: string, to_port = port): Promise<{ status: number | undefined; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port: to_port, path, ca, servername: 'localhost', agent: false }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode, headers: response.headers }));
    }).once('error', reject);
  });
}

describe('the HTTPS listener', () => {
  it('serves the API over https: the SDK, trusting the certificate, pays and refunds', async () => {
    expect(t.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const stripe = new Stripe(TEST_SECRET_KEY, {
      apiVersion: '2023-08-16',
      host: 'localhost',
      port,
      protocol: 'https',
      httpAgent: new Agent({ ca }),
      maxNetworkRetries: 0,
      telemetry: false,
    });
    const intent = await stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    expect(intent.status).toBe('succeeded');
    const refund = await stripe.refunds.create({ payment_intent: intent.id, amount: 500 });
    expect(refund.status).toBe('succeeded');
  });

  it('sends HSTS on every answer, errors and health checks included', async () => {
    for (const path of ['/healthz', '/v1/payment_intents', '/v1/nowhere']) {
      const { status, headers } = await getOverTls(path);
      expect(headers['strict-transport-security'], `${path} ${status}`).toBe('max-age=63072000; includeSubDomains');
    }
  });

  it('refuses a client that does not trust the certificate (it is not a public CA)', async () => {
    await expect(handshake({ ca: undefined })).rejects.toThrow(/self[- ]signed/i);
  });

  it('negotiates TLS 1.3, and TLS 1.2 only with forward-secret AEAD ciphers', async () => {
    expect(await handshake({})).toMatchObject({ protocol: 'TLSv1.3' });
    const tls12 = await handshake({ maxVersion: 'TLSv1.2' });
    expect(tls12.protocol).toBe('TLSv1.2');
    expect(tls12.cipher).toMatch(/^ECDHE-ECDSA-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
    // CBC with SHA-1 MACs: still in OpenSSL, refused by the server.
    await expect(handshake({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA' })).rejects.toThrow(
      /handshake failure|no shared cipher/i,
    );
  });

  it('refuses TLS 1.0 and 1.1', async () => {
    for (const version of ['TLSv1', 'TLSv1.1'] as const) {
      // SECLEVEL=0 lets this client offer the old protocol at all; the server must still refuse it.
      await expect(handshake({ minVersion: version, maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0' }), version).rejects.toThrow(
        /protocol version|unsupported protocol/i,
      );
    }
  });

  it('takes both files or neither', () => {
    expect(() => loadConfig({ PAYRAIL_TLS_CERT: '/etc/payrail/cert.pem' })).toThrow(/PAYRAIL_TLS_CERT and PAYRAIL_TLS_KEY go together/);
    expect(() => loadConfig({ PAYRAIL_TLS_KEY: '/etc/payrail/key.pem' })).toThrow(/go together/);
    expect(loadConfig({}).tls).toBeUndefined();
  });
});

describe('the built server with PAYRAIL_TLS_CERT and PAYRAIL_TLS_KEY', () => {
  it('says its https address, serves over TLS, and stops at once on SIGTERM with an idle TLS client connected', async () => {
    const database = await createTestDatabase();
    const data_dir = join(dir, 'data');
    const server_port = await freePort();
    const env = serverEnv(
      { port: server_port, database_url: database.url, data_dir, secret_key: 'sk_test_tlsServerTlsServer00000001' },
      { PAYRAIL_TLS_CERT: files.cert_file, PAYRAIL_TLS_KEY: files.key_file, PAYRAIL_SECRETS_DIR: join(dir, 'secrets') },
    );
    const server = await spawnServer(env);
    try {
      expect(server.output()).toContain(`API:         https://127.0.0.1:${server_port}/v1`);
      expect((await getOverTls('/healthz', server_port)).status).toBe(200);
      // A client that finished its handshake and sends nothing must not hold the shutdown.
      const idle = connect({ host: '127.0.0.1', port: server_port, ca, servername: 'localhost' });
      await new Promise<void>((resolve, reject) => idle.once('secureConnect', resolve).once('error', reject));
      idle.on('error', () => {});
      const started = performance.now();
      server.child.kill('SIGTERM');
      expect(await exitCodeWithin(server.child, 10_000)).toBe(0);
      expect(performance.now() - started).toBeLessThan(5_000);
      idle.destroy();
    } finally {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
      await database.drop();
    }
  });
});
