import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../../src/compose.js';
import { startPlatform } from '../../src/compose.js';
import { createLogger } from '../../src/platform/logger.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';

/**
 * The request limits shared across processes through Redis: two platforms on one database and one
 * Redis, as behind a load balancer, spend from the same per-merchant bucket (a request's cost grows
 * with its work) and count failed authentications per client address together.
 * Runs when REDIS_URL is set; under CI (CI=true) a missing REDIS_URL fails instead of skipping.
 */

const REDIS_URL = process.env.REDIS_URL;

if (!REDIS_URL && process.env.CI === 'true') {
  describe('shared request limits', () => {
    it('needs REDIS_URL (.ci/run sets it)', () => {
      throw new Error('CI=true but REDIS_URL is not set: the shared rate-limit tests cannot run');
    });
  });
}

/** One cost unit per second: a drained bucket stays drained for the few seconds these tests take. */
const RATE_PER_S = 1;
const BURST = 20;
const AUTH_FAILURE_LIMIT = 5;
const PREFIX = `payrail-test-${randomUUID()}:`;

describe.runIf(REDIS_URL)('shared request limits', () => {
  let a: TestPlatform;
  let b: Platform;
  beforeAll(async () => {
    a = await startTestPlatform({
      redis_url: REDIS_URL,
      redis_prefix: PREFIX,
      rate_limit_per_s: RATE_PER_S,
      rate_limit_burst: BURST,
      auth_failure_limit: AUTH_FAILURE_LIMIT,
      // Clients are told apart by X-Forwarded-For from this (test) proxy.
      trust_proxy: ['127.0.0.1'],
    });
    b = await startPlatform({ ...a.config }, { logger: createLogger('silent') });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    const redis = new Redis(REDIS_URL!);
    const keys = await redis.keys(`${PREFIX}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  function get(platform: { url: string }, path: string, key: string, client = '192.0.2.1'): Promise<Response> {
    return fetch(`${platform.url}${path}`, { headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': client } });
  }

  async function expectRateLimited(response: Response): Promise<void> {
    expect(response.status).toBe(429);
    const { error } = (await response.json()) as { error: { type: string; code: string; message: string } };
    expect(error).toMatchObject({ type: 'invalid_request_error', code: 'rate_limit' });
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  }

  it('both processes spend from one bucket per merchant', async () => {
    const { secret_key } = await a.newMerchant();
    // limit=100 reads ten times the objects of a default page: 10 units each, 20 in the bucket.
    expect((await get(a, '/v1/customers?limit=100', secret_key)).status).toBe(200);
    expect((await get(b, '/v1/customers?limit=100', secret_key)).status).toBe(200);
    // Each process alone has seen one such request; together they have drained the merchant's bucket.
    const refused = await get(b, '/v1/customers?limit=100', secret_key);
    await expectRateLimited(refused);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(5);
    await expectRateLimited(await get(a, '/v1/customers?limit=100', secret_key));
  });

  it('a costly request draws more than a plain one', async () => {
    const plain = await a.newMerchant();
    // Twenty plain retrieves fit the burst, spread over both processes.
    for (let i = 0; i < BURST; i++) expect((await get(i % 2 ? a : b, '/v1/customers?limit=10', plain.secret_key)).status).toBe(200);

    const expanding = await a.newMerchant();
    // Three expand[] paths make a page cost 4: five such pages drain the same burst.
    const expand = ['data.customer', 'data.payment_method', 'data.latest_charge'].map((path) => `expand[]=${path}`).join('&');
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await get(i % 2 ? a : b, `/v1/payment_intents?${expand}`, expanding.secret_key)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);

    const writing = await a.newMerchant();
    // A write costs 5: the fifth create is refused and creates nothing.
    const created = [];
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`${(i % 2 ? a : b).url}/v1/customers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${writing.secret_key}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: `email=w${i}@example.com`,
      });
      created.push(response.status);
    }
    expect(created).toEqual([200, 200, 200, 200, 429]);
    // The merchant's bucket is empty now, so the database says what was written.
    const rows = await a.platform.database.pool.query<{ n: string }>(`SELECT count(*) AS n FROM payments.customers WHERE email LIKE 'w_@example.com'`);
    expect(Number(rows.rows[0]!.n)).toBe(4);
  });

  it('repeated expand[] entries cost one expansion', async () => {
    const merchant = await a.newMerchant();
    const repeated = Array.from({ length: 100 }, () => 'expand[]=data.customer').join('&');
    // One distinct path: each page costs 2 units, so ten fit the burst of 20.
    for (let i = 0; i < 10; i++) expect((await get(i % 2 ? a : b, `/v1/payment_intents?${repeated}`, merchant.secret_key)).status).toBe(200);
    await expectRateLimited(await get(a, `/v1/payment_intents?${repeated}`, merchant.secret_key));
  });

  it('failed authentications are counted per client address across processes', async () => {
    const attacker = '203.0.113.9';
    const bystander = '198.51.100.4';
    const valid = await a.newMerchant();
    for (let i = 0; i < AUTH_FAILURE_LIMIT; i++) {
      const response = await get(i % 2 ? a : b, '/v1/customers', `sk_test_guess${String(i).padStart(24, '0')}`, attacker);
      expect(response.status).toBe(401);
    }
    // Past the limit the address gets 429s on either process, whatever key it sends: no more key checks.
    await expectRateLimited(await get(b, '/v1/customers', 'sk_test_guess999999999999999999999999', attacker));
    await expectRateLimited(await get(a, '/v1/customers', valid.secret_key, attacker));
    // Other addresses are unaffected.
    expect((await get(b, '/v1/customers', valid.secret_key, bystander)).status).toBe(200);
    expect((await get(a, '/v1/customers', 'sk_test_guess000000000000000000000001', bystander)).status).toBe(401);
  });

  it('every key it keeps in Redis expires, so Redis does not grow with merchants or addresses', async () => {
    const redis = new Redis(REDIS_URL!);
    try {
      const keys = await redis.keys(`${PREFIX}*`);
      expect(keys.some((key) => key.startsWith(`${PREFIX}rate:`))).toBe(true);
      expect(keys.some((key) => key.startsWith(`${PREFIX}auth-failures:`))).toBe(true);
      for (const key of keys) expect(await redis.pttl(key)).toBeGreaterThan(0);
    } finally {
      await redis.quit();
    }
  });
});

const REDIS_PASSWORD = 'redisPassw0rdNeverLogged';

describe('request limits while Redis is unreachable', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    // Nothing listens on port 1: every Redis command fails at once. The URL's password must not be logged.
    t = await startTestPlatform({ redis_url: `redis://:${REDIS_PASSWORD}@127.0.0.1:1`, rate_limit_per_s: RATE_PER_S, rate_limit_burst: 3 });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('fall back to this process: requests are served and the burst still holds', async () => {
    const auth = { authorization: `Bearer ${t.secret_key}` };
    for (let i = 0; i < 3; i++) expect((await fetch(`${t.url}/v1/customers`, { headers: auth })).status).toBe(200);
    const refused = await fetch(`${t.url}/v1/customers`, { headers: auth });
    expect(refused.status).toBe(429);
    expect(t.logs.join('')).toContain('Redis unavailable');
    expect(t.logs.join('')).not.toContain(REDIS_PASSWORD);
  });
});
