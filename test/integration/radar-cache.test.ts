import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MigratedDatabase } from '../support/database.js';
import { createMigratedPool } from '../support/database.js';
import { ManualClock } from '../../src/kernel/clock.js';
import { UlidGenerator } from '../../src/kernel/ids.js';
import { addRule, openRadarRules } from '../../src/services/risk/index.js';

/**
 * The in-process copy of a merchant's compiled rules: a verdict on a cached merchant reads nothing
 * from the database, the cache holds a bounded number of merchants, trusts a copy for its TTL only,
 * and never keeps a copy read before a change it was told about.
 */

let db: MigratedDatabase;
let queries = 0;
const clock = new ManualClock(1_700_000_000_000);
const attributes = { risk_level: 'normal', risk_score: 80, amount_in_usd: 10 };

beforeAll(async () => {
  db = await createMigratedPool(4);
  // Counts what the rules read, through the real pool.
  const query = db.pool.query.bind(db.pool) as (...args: unknown[]) => unknown;
  (db.pool as { query: unknown }).query = (...args: unknown[]) => {
    queries++;
    return query(...args);
  };
  const store = { pool: db.pool, ids: new UlidGenerator(clock) };
  for (const merchant_id of ['acct_cacheA', 'acct_cacheB', 'acct_cacheC']) {
    await addRule(store, merchant_id, 'Block if :risk_score: > 75', { now_ms: clock.now_ms(), actor: { type: 'system' } });
  }
}, 60_000);
afterAll(async () => {
  await db?.drop();
});

async function readsFor(work: () => Promise<unknown>): Promise<number> {
  const before = queries;
  await work();
  return queries - before;
}

describe('the compiled rules cache', () => {
  it('answers a cached merchant without reading the database', async () => {
    const rules = openRadarRules({ pool: db.pool, clock, ttl_ms: 60_000 });
    expect(await readsFor(() => rules.verdict('acct_cacheA', attributes))).toBeGreaterThan(0);
    expect(await readsFor(() => rules.verdict('acct_cacheA', attributes))).toBe(0);
    expect((await rules.verdict('acct_cacheA', attributes)).action).toBe('block');
    await rules.close();
  });

  it('keeps at most max_merchants, dropping the least recently loaded', async () => {
    const rules = openRadarRules({ pool: db.pool, clock, ttl_ms: 60_000, max_merchants: 2 });
    for (const merchant of ['acct_cacheA', 'acct_cacheB', 'acct_cacheC']) await rules.verdict(merchant, attributes);
    expect(await readsFor(() => rules.verdict('acct_cacheC', attributes))).toBe(0);
    expect(await readsFor(() => rules.verdict('acct_cacheB', attributes))).toBe(0);
    expect(await readsFor(() => rules.verdict('acct_cacheA', attributes))).toBeGreaterThan(0);
    await rules.close();
  });

  it('reads a merchant again once its copy is older than the TTL', async () => {
    const rules = openRadarRules({ pool: db.pool, clock, ttl_ms: 1_000 });
    await rules.verdict('acct_cacheB', attributes);
    clock.advance(999);
    expect(await readsFor(() => rules.verdict('acct_cacheB', attributes))).toBe(0);
    clock.advance(1);
    expect(await readsFor(() => rules.verdict('acct_cacheB', attributes))).toBeGreaterThan(0);
    await rules.close();
  });

  it('does not keep a copy whose read began before a change was announced', async () => {
    const rules = openRadarRules({ pool: db.pool, clock, ttl_ms: 60_000 });
    const loading = rules.verdict('acct_cacheC', attributes);
    rules.forget('acct_cacheC');
    await loading;
    expect(await readsFor(() => rules.verdict('acct_cacheC', attributes))).toBeGreaterThan(0);
    expect(await readsFor(() => rules.verdict('acct_cacheC', attributes))).toBe(0);
    await rules.close();
  });

  it('drops a copy when the database announces a change, with no TTL to wait for', async () => {
    const rules = openRadarRules({ pool: db.pool, clock, ttl_ms: 3_600_000, database_url: db.url });
    // Listening first: the copy cached next can only be dropped by the change's announcement.
    await rules.listening();
    expect((await rules.verdict('acct_cacheA', { ...attributes, risk_score: 10, amount_in_usd: 900 })).action).toBeNull();
    await addRule({ pool: db.pool, ids: new UlidGenerator(clock) }, 'acct_cacheA', 'Review if :amount_in_usd: > 500', {
      now_ms: clock.now_ms(),
      actor: { type: 'system' },
    });
    const deadline = Date.now() + 5_000;
    let action: string | null = null;
    while (action !== 'review' && Date.now() < deadline) {
      action = (await rules.verdict('acct_cacheA', { ...attributes, risk_score: 10, amount_in_usd: 900 })).action;
      if (action !== 'review') await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(action).toBe('review');
    await rules.close();
  });
});
