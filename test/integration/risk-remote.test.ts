import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import type { MtlsCredentials } from '../../src/platform/http/mtls.js';
import { mtlsServerOptions } from '../../src/platform/http/mtls.js';
import type { MtlsService } from '../../src/platform/http/mtls-service.js';
import { createLogger } from '../../src/platform/logger.js';
import type { RiskScorer, RiskSignals } from '../../src/services/risk/index.js';
import { openRiskScorer, remoteRiskScorer, startRiskServer } from '../../src/services/risk/index.js';
import { riskSignals } from '../support/risk-signals.js';

/**
 * The scorer over mutual TLS (src/services/risk/adapters/remote-*.ts) with certificates from
 * deploy/local/ca.sh and velocity windows in the real Redis: who may connect, that a remote score
 * equals the in-process one, what a silent risk process does to the caller, and what it costs.
 */

const START_MS = Date.UTC(2026, 10, 2, 14, 0, 0);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

type Identity = MtlsCredentials;
let dir: string;
let ours: (name: string) => Buffer;
let api: Identity;
let scheduler: Identity;
let stranger: Identity;
let server_clock: ManualClock;
let served: RiskScorer;
let server: MtlsService;
let client: RiskScorer;
const logs: string[] = [];

function makeCertificates(into: string, roles: string[]): (name: string) => Buffer {
  execFileSync('bash', ['deploy/local/ca.sh', into, ...roles], { stdio: 'pipe' });
  return (name) => readFileSync(join(into, name));
}

/** One raw HTTPS POST to the risk process, to see what TLS and the body check do. */
function rawPost(url: string, path: string, body: unknown, tls: { ca: Buffer; cert?: Buffer; key?: Buffer }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = request(`${url}${path}`, { ...tls, agent: false, method: 'POST', timeout: 3_000, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** A scorer in this process over its own Redis key space, as an api process without PAYRAIL_RISK_URL has. */
function inProcessScorer(clock: ManualClock): Promise<RiskScorer> {
  return openRiskScorer({ redis_url: REDIS_URL, redis_prefix: `test:${randomUUID()}:`, clock, instance_id: 'local' });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'payrail-risk-remote-'));
  ours = makeCertificates(join(dir, 'ours'), ['api', 'scheduler']);
  const theirs = makeCertificates(join(dir, 'theirs'), ['api']);
  api = { ca: ours('ca.crt'), cert: ours('api.crt'), key: ours('api.key') };
  scheduler = { ca: ours('ca.crt'), cert: ours('scheduler.crt'), key: ours('scheduler.key') };
  stranger = { ca: ours('ca.crt'), cert: theirs('api.crt'), key: theirs('api.key') };
  server_clock = new ManualClock(START_MS);
  served = await inProcessScorer(server_clock);
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  server = await startRiskServer({
    scorer: served,
    tls: { ca: ours('ca.crt'), cert: ours('risk.crt'), key: ours('risk.key') },
    callers: ['api'],
    logger: createLogger('info', sink),
  });
  client = remoteRiskScorer({ url: server.url, tls: api, timeout_ms: 1_000 });
});

afterAll(async () => {
  await client.close();
  await server.close();
  await served.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('who may call the risk process', () => {
  it('refuses a client without a certificate, or with one another CA signed, during the handshake', async () => {
    await expect(rawPost(server.url, '/risk/v1/score', riskSignals(), { ca: api.ca })).rejects.toThrow(/certificate|socket hang up|ECONNRESET/i);
    await expect(rawPost(server.url, '/risk/v1/score', riskSignals(), stranger)).rejects.toThrow(/certificate|socket hang up|ECONNRESET|unknown ca/i);
  });

  it('answers 403 to a certificate from the CA whose name is not an allowed caller', async () => {
    const answer = await rawPost(server.url, '/risk/v1/score', riskSignals(), scheduler);
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { type: 'invalid_request_error', code: 'permission_denied' } });
    expect(logs.join('')).toContain('"caller":"scheduler"');
  });

  it('refuses signals that carry a card number, without repeating it', async () => {
    const pan = '4000000000009995';
    for (const signals of [riskSignals({ card_fingerprint: pan }), { ...riskSignals(), card_number: pan }, riskSignals({ email: `${pan}@example.com` })]) {
      const answer = await rawPost(server.url, '/risk/v1/score', signals, api);
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'parameter_invalid' } });
      expect(answer.body).not.toContain(pan);
    }
  });
});

describe('remote scores', () => {
  it('equal the in-process scorer’s for the same attempts, velocity windows included', async () => {
    const local_clock = new ManualClock(START_MS);
    const local = await inProcessScorer(local_clock);
    const attempts: RiskSignals[] = [
      riskSignals({ card_fingerprint: 'fpRemoteEq000001' }),
      riskSignals({ card_fingerprint: 'fpRemoteEq000001', amount: 90_000, amount_in_usd: 90_000, ip_address: '81.2.69.142' }),
      riskSignals({ card_fingerprint: 'fpRemoteEq000001', email: 'someone.else@example.com', cvc_check: 'fail' }),
      riskSignals({ card_fingerprint: 'fpRemoteEq000002', card_bin: null, ip_address: null, email: null }),
    ];
    try {
      const first = await client.score(attempts[0]!);
      for (const signals of attempts) {
        const [remote_score, local_score] = await Promise.all([client.score(signals), local.score(signals)]);
        expect(remote_score).toEqual(local_score);
        await Promise.all([client.record(signals, 'declined'), local.record(signals, 'declined')]);
        server_clock.advance(30_000);
        local_clock.advance(30_000);
      }
      // The windows moved: the first card, seen and declined three times since, no longer scores as new.
      const again = await client.score(attempts[0]!);
      expect(again).toEqual(await local.score(attempts[0]!));
      expect(again.attributes).not.toEqual(first.attributes);
    } finally {
      await local.close();
    }
  });

  it('costs a few milliseconds more than scoring in process (p50 over 300 calls, printed)', async () => {
    const local = await inProcessScorer(new ManualClock(START_MS));
    const p50 = async (score: (signals: RiskSignals) => Promise<unknown>) => {
      const took: number[] = [];
      for (let i = 0; i < 300; i++) {
        const started = performance.now();
        await score(riskSignals({ card_fingerprint: `fpLatency${String(i % 20).padStart(7, '0')}` }));
        took.push(performance.now() - started);
      }
      return took.sort((a, b) => a - b)[150]!;
    };
    try {
      const in_process = await p50((signals) => local.score(signals));
      const remote = await p50((signals) => client.score(signals));
      console.log(`risk score p50: in process ${in_process.toFixed(2)} ms, remote over mutual TLS ${remote.toFixed(2)} ms`);
      expect(remote).toBeGreaterThan(in_process);
      expect(remote).toBeLessThan(50);
    } finally {
      await local.close();
    }
  });
});

describe('a risk process that never answers', () => {
  it('makes the client give up within its timeout', async () => {
    const silent = createServer(mtlsServerOptions({ ca: ours('ca.crt'), cert: ours('risk.crt'), key: ours('risk.key') }, 1_000), () => {});
    const url = await new Promise<string>((resolve) =>
      silent.listen(0, '127.0.0.1', () => resolve(`https://127.0.0.1:${(silent.address() as AddressInfo).port}`)),
    );
    const stalled = remoteRiskScorer({ url, tls: api, timeout_ms: 300 });
    const started = Date.now();
    await expect(stalled.score(riskSignals())).rejects.toThrow(/aborted|timeout/i);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(1_500);
    await expect(stalled.record(riskSignals(), 'authorized')).rejects.toThrow();
    await stalled.close();
    silent.closeAllConnections();
    silent.close();
  });
});
