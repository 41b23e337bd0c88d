import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import { createDashboardUser } from '../../src/services/dashboard/index.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';

/**
 * The sign-in limit over real HTTP and PostgreSQL: counted per (email, address) pair, so one address
 * cannot lock a user out for everyone, and serialized per email, so a burst of parallel guesses gets
 * no more tries than the limit. The platform trusts 127.0.0.1 as a proxy, so each request names its
 * client address in X-Forwarded-For, as a load balancer would.
 */

const PASSWORD = 'correct horse battery staple';
const FIFTEEN_MINUTES_MS = 15 * 60 * 1000;
let t: TestPlatform;
let clock: ManualClock;

async function login(email: string, password: string, client_ip: string): Promise<{ status: number; code: string | undefined }> {
  const response = await fetch(`${t.url}/dashboard/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': client_ip },
    body: JSON.stringify({ email, password }),
  });
  const body = (await response.json()) as { error?: { code: string } };
  return { status: response.status, code: body.error?.code };
}

beforeAll(async () => {
  clock = new ManualClock(Date.now());
  t = await startTestPlatform({ trust_proxy: ['127.0.0.1'] }, { clock });
  const merchant_id = (await t.owner.query<{ id: string }>('SELECT id FROM merchants.merchants ORDER BY id LIMIT 1')).rows[0]?.id ?? '';
  for (const email of ['burst@example.com', 'victim@example.com']) {
    await createDashboardUser(t.platform.database.pool, { merchant_id, email, password: PASSWORD, role: 'support' });
  }
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

describe('sign-in limit', () => {
  it('lets 10 parallel wrong guesses check at most 5 passwords: the rest answer 429', async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, (_, guess) => login('burst@example.com', `guess number ${guess}`, '203.0.113.10')));
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429, 429, 429]);
    expect(answers.filter((answer) => answer.status === 429).every((answer) => answer.code === 'rate_limit')).toBe(true);
    const counted = await t.owner.query("SELECT 1 FROM dashboard.sign_in_failures WHERE email = 'burst@example.com'");
    expect(counted.rowCount).toBe(5);
  });

  it('locks only the address that guessed: the user still signs in from another', async () => {
    clock.advance(FIFTEEN_MINUTES_MS + 1);
    for (let guess = 0; guess < 5; guess++) expect((await login('victim@example.com', `guess ${guess}`, '203.0.113.66')).status).toBe(401);
    expect(await login('victim@example.com', PASSWORD, '203.0.113.66')).toEqual({ status: 429, code: 'rate_limit' });
    expect((await login('victim@example.com', PASSWORD, '198.51.100.7')).status).toBe(200);
    // Each attempt is counted before its password is checked; the right one takes its count back.
    const counted = await t.owner.query("SELECT client_ip FROM dashboard.sign_in_failures WHERE email = 'victim@example.com'");
    expect(counted.rows.map((row: { client_ip: string }) => row.client_ip)).toEqual(Array(5).fill('203.0.113.66'));
  });

  // The failures are written as sign-in records them: 150 wrong scrypt checks over HTTP would only slow the test.
  async function seedFailures(rows: { email: string; client_ip: string }[]): Promise<void> {
    for (const { email, client_ip } of rows) {
      await t.owner.query('INSERT INTO dashboard.sign_in_failures (email, client_ip, at_ms) VALUES ($1, $2, $3)', [email, client_ip, clock.now_ms()]);
    }
  }

  it('refuses one account after 50 failures from any addresses, and one address after 100 failures on any accounts', async () => {
    clock.advance(FIFTEEN_MINUTES_MS + 1);
    await seedFailures(Array.from({ length: 49 }, (_, n) => ({ email: 'victim@example.com', client_ip: `198.51.100.${n + 10}` })));
    expect((await login('victim@example.com', PASSWORD, '192.0.2.200')).status).toBe(200);
    await seedFailures([{ email: 'victim@example.com', client_ip: '198.51.100.99' }]);
    expect(await login('victim@example.com', PASSWORD, '192.0.2.200')).toEqual({ status: 429, code: 'rate_limit' });

    clock.advance(FIFTEEN_MINUTES_MS + 1);
    await seedFailures(Array.from({ length: 99 }, (_, n) => ({ email: `sprayed-${n}@example.com`, client_ip: '192.0.2.1' })));
    expect((await login('burst@example.com', PASSWORD, '192.0.2.1')).status).toBe(200);
    await seedFailures([{ email: 'sprayed-last@example.com', client_ip: '192.0.2.1' }]);
    expect(await login('burst@example.com', PASSWORD, '192.0.2.1')).toEqual({ status: 429, code: 'rate_limit' });
    expect((await login('burst@example.com', PASSWORD, '192.0.2.2')).status).toBe(200);
  });
});
