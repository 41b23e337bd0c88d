import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/platform/db.js';
import { combineWrites, createPool, isGuardFailure, run, sql } from '../../src/platform/db.js';
import { migrate } from '../../src/platform/migrations.js';
import { ALL_MIGRATIONS } from '../../src/migrations.js';
import { UlidGenerator } from '../../src/kernel/ids.js';
import { PayrailError } from '../../src/kernel/errors.js';
import * as Idempotency from '../../src/platform/write/idempotency.js';
import type { ProcessLease } from '../../src/platform/write/lease.js';
import { takeProcessLease } from '../../src/platform/write/lease.js';
import { withMerchant } from '../../src/platform/merchant-scope.js';
import { execute } from '../../src/platform/write/pipeline.js';
import type { WriteDeps } from '../../src/platform/write/pipeline.js';
import { outboxInsert } from '../../src/services/events/adapters/outbox.js';
import { systemClock } from '../../src/kernel/clock.js';
import { createMigratedPool } from '../support/database.js';

let pool: Pool;
let url: string;
let drop: () => Promise<void>;
let live: ProcessLease;
const ids = new UlidGenerator();
const RESERVES = ['payment_intent', 'charge'] as const;

beforeAll(async () => {
  ({ pool, url, drop } = await createMigratedPool(30));
  live = await takeProcessLease(url, () => {});
  await pool.query('CREATE TABLE public.scratch (id text PRIMARY KEY, n int NOT NULL)');
});
afterAll(async () => {
  await live.stop();
  await drop();
});

/** Takes the key as a request of the process holding `holder` would. */
function acquire(merchant_id: string, key: string, hash: string, now_ms: number, holder = live.key) {
  return Idempotency.acquire(pool, ids, { merchant_id, key, hash, now_ms, reserves: RESERVES, holder });
}

async function count(table: string): Promise<number> {
  return (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]?.n ?? -1;
}

describe('combined writes', () => {
  it('commit together when every write affects a row', async () => {
    await run(pool, combineWrites([sql`INSERT INTO public.scratch VALUES (${'a'}, ${1})`, sql`INSERT INTO public.scratch VALUES (${'b'}, ${2})`]));
    expect(await count('public.scratch')).toBe(2);
  });

  it('write nothing when one write affects no row (a stale version, a lost lock)', async () => {
    const before = await count('public.scratch');
    const attempt = run(
      pool,
      combineWrites([sql`INSERT INTO public.scratch VALUES (${'c'}, ${3})`, sql`UPDATE public.scratch SET n = 9 WHERE id = ${'missing'}`]),
    );
    await expect(attempt).rejects.toSatisfy(isGuardFailure);
    expect(await count('public.scratch')).toBe(before);
  });
});

describe('the database itself refuses impossible money', () => {
  it('rejects a charge refunded above its captured amount, whatever code writes it', async () => {
    const insert = `INSERT INTO payments.charges (merchant_id, id, payment_intent_id, status, amount, amount_captured, amount_refunded, currency, created, version, state)
      VALUES ('acct_1', $1, 'pi_1', 'succeeded', 1000, $2, $3, 'usd', 1, 1, '{}')`;
    await pool.query(insert, ['ch_ok', 1000, 400]);
    await expect(pool.query(insert, ['ch_bad', 1000, 1001])).rejects.toThrow(/check constraint/);
    await expect(pool.query(insert, ['ch_bad2', 1000, -1])).rejects.toThrow(/check constraint/);
    await expect(pool.query(`UPDATE payments.charges SET amount_refunded = 1200 WHERE id = 'ch_ok'`)).rejects.toThrow(/check constraint/);
    await expect(pool.query(`UPDATE payments.charges SET amount_captured = 2000 WHERE id = 'ch_ok'`)).rejects.toThrow(/check constraint/);
  });
});

describe('idempotency locks', () => {
  it('let exactly one of many concurrent requests with one key proceed', async () => {
    const results = await Promise.allSettled(Array.from({ length: 25 }, () => acquire('acct_race', 'key-1', 'hash-1', Date.now())));
    const acquired = results.filter((r) => r.status === 'fulfilled' && r.value.kind === 'acquired');
    const in_use = results.filter((r) => r.status === 'rejected' && (r.reason as PayrailError).code === 'idempotency_key_in_use');
    expect(acquired).toHaveLength(1);
    expect(in_use).toHaveLength(24);
  });

  it('replay the stored response, refuse different parameters, and hand a stale lock over with the same ids', async () => {
    const now_ms = Date.now();
    const first = await acquire('acct_1', 'key-2', 'hash-a', now_ms);
    if (first.kind !== 'acquired') throw new Error('expected the lock');
    await expect(acquire('acct_1', 'key-2', 'hash-b', now_ms)).rejects.toMatchObject({ code: 'idempotency_error' });

    const later_ms = now_ms + Idempotency.IDEMPOTENCY_LOCK_STALE_MS + 1;
    const takeover = await acquire('acct_1', 'key-2', 'hash-a', later_ms);
    if (takeover.kind !== 'acquired') throw new Error('expected the stale lock to be taken over');
    expect(takeover.lock.reserved).toEqual(first.lock.reserved);

    // The first holder's completion now affects no row, so its whole write would fail.
    await expect(run(pool, combineWrites([Idempotency.completion(first.lock, { status: 200, body: '{}' })]))).rejects.toSatisfy(isGuardFailure);
    await run(pool, combineWrites([Idempotency.completion(takeover.lock, { status: 200, body: '{"id":"x"}' })]));
    const replay = await acquire('acct_1', 'key-2', 'hash-a', later_ms);
    expect(replay).toEqual({ kind: 'replay', response: { status: 200, body: '{"id":"x"}' } });
  });

  it('hand a lock over at once when the process holding it is gone, never while it lives', async () => {
    const other = await takeProcessLease(url, () => {});
    const now_ms = Date.now();
    const first = await acquire('acct_lease', 'key-lease', 'h', now_ms, other.key);
    if (first.kind !== 'acquired') throw new Error('expected the lock');
    const row = await pool.query<{ holder_lease: number | null }>('SELECT holder_lease FROM gateway.idempotency_keys WHERE key = $1', ['key-lease']);
    expect(row.rows[0]?.holder_lease).toBe(other.key);
    await expect(acquire('acct_lease', 'key-lease', 'h', now_ms + 1)).rejects.toMatchObject({ code: 'idempotency_key_in_use' });
    await other.stop(); // the holder's process dies: its database session, and so its lease, end
    const takeover = await acquire('acct_lease', 'key-lease', 'h', now_ms + 2);
    if (takeover.kind !== 'acquired') throw new Error('expected the orphaned lock to be taken over');
    expect(takeover.lock.first_attempt).toBe(false);
    expect(takeover.lock.reserved).toEqual(first.lock.reserved);
  });

  it('taken together by concurrent requests of one merchant, each stored whole, and a key asked for twice goes to one of them', async () => {
    const scoped = createPool(url, 4, undefined, { merchant_scoped: true });
    try {
      const now_ms = Date.now();
      const keys = [...Array.from({ length: 24 }, (_, i) => `together-${i}`), 'together-3'];
      const results = await withMerchant('acct_together', () =>
        Promise.allSettled(
          keys.map((key) =>
            Idempotency.acquire(scoped, ids, { merchant_id: 'acct_together', key, hash: `h-${key}`, now_ms, reserves: RESERVES, holder: live.key }),
          ),
        ),
      );
      const acquired = results.flatMap((r) => (r.status === 'fulfilled' && r.value.kind === 'acquired' ? [r.value.lock] : []));
      expect(acquired).toHaveLength(24);
      const refused = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as PayrailError).code] : []));
      expect(refused).toEqual(['idempotency_key_in_use']);
      const stored_rows = await pool.query<{
        key: string;
        request_hash: string;
        lock_token: string;
        holder_lease: number;
        reserved_ids: Record<string, string>;
      }>(`SELECT key, request_hash, lock_token, holder_lease, reserved_ids FROM gateway.idempotency_keys WHERE merchant_id = 'acct_together'`);
      expect(stored_rows.rows).toHaveLength(24);
      for (const lock of acquired) {
        const row = stored_rows.rows.find((r) => r.key === lock.key);
        expect(row).toEqual({ key: lock.key, request_hash: `h-${lock.key}`, lock_token: lock.token, holder_lease: live.key, reserved_ids: lock.reserved });
      }
    } finally {
      await scoped.end();
    }
  });

  it('are kept for 24 hours, then purged; in-flight ones are never purged', async () => {
    const old_ms = Date.now() - Idempotency.IDEMPOTENCY_RETENTION_MS - 1000;
    const done = await acquire('acct_purge', 'old-done', 'h', old_ms);
    if (done.kind !== 'acquired') throw new Error('expected the lock');
    await run(pool, combineWrites([Idempotency.completion(done.lock, { status: 200, body: '{}' })]));
    await acquire('acct_purge', 'old-in-flight', 'h', old_ms);
    await acquire('acct_purge', 'recent', 'h', Date.now());
    await Idempotency.purgeExpired(pool, Date.now());
    const keys = (await pool.query<{ key: string }>(`SELECT key FROM gateway.idempotency_keys WHERE merchant_id = 'acct_purge' ORDER BY key`)).rows.map(
      (r) => r.key,
    );
    expect(keys).toEqual(['old-in-flight', 'recent']);
  });
});

describe("a stored response equal to an event's object", () => {
  const deps = (): WriteDeps => ({
    pool,
    reader: pool,
    ids,
    clock: systemClock,
    lease: live,
    hash_key: Buffer.alloc(32, 7),
    render_error: (error) => ({ error: { message: error.message } }),
  });
  /** A use case answering with `object`, committed with an event holding it, written for `events_for`. */
  const answering = (events_for: string, object: { id: string } & Record<string, unknown>) => ({
    reserves: [],
    run: async (ctx: Parameters<Parameters<typeof execute>[2]['run']>[0]) => {
      const outcome = { ok: object };
      await ctx.commit([outboxInsert(ctx.ids, events_for, ctx.now_s, ctx.request, [{ type: 'test.answered', object }])], outcome);
      return outcome;
    },
  });
  const stored = async (merchant_id: string, key: string) =>
    (
      await pool.query<{ response_body: string | null; response_event: string | null; event_merchant: string | null }>(
        `SELECT k.response_body, k.response_event, o.merchant_id AS event_merchant
           FROM gateway.idempotency_keys k LEFT JOIN events.outbox o ON o.id = k.response_event
          WHERE k.merchant_id = $1 AND k.key = $2`,
        [merchant_id, key],
      )
    ).rows[0];

  it.each([
    ["its own merchant's event, as a reference to it", 'acct_answers', true],
    ["another merchant's event, as text: the replay reads events in the key's merchant scope", 'acct_other', false],
  ])('is stored, when %s', async (_, events_for, referenced) => {
    const object = { id: `obj_${events_for}`, object: 'test', amount: 1200 };
    const request = { merchant_id: 'acct_answers', request_id: null, idempotency: { key: `key-${events_for}`, method: 'POST', path: '/v1/test', params: {} } };
    const first = await execute(deps(), request, answering(events_for, object), {});
    expect(first).toEqual({ response: { status: 200, body: JSON.stringify(object) }, replayed: false });
    const { response_event, ...text_and_owner } = (await stored('acct_answers', `key-${events_for}`)) ?? {};
    expect(text_and_owner).toEqual(
      referenced ? { response_body: null, event_merchant: 'acct_answers' } : { response_body: JSON.stringify(object), event_merchant: null },
    );
    expect(response_event ?? 'none').toMatch(referenced ? /^evt_/ : /^none$/);
    const replay = await execute(deps(), request, answering(events_for, { id: 'never_run' }), {});
    expect(replay).toEqual({ response: { status: 200, body: JSON.stringify(object) }, replayed: true });
  });
});

describe('migrations', () => {
  it('can run concurrently and again without applying anything twice', async () => {
    const runs = await Promise.all([migrate(pool, ALL_MIGRATIONS), migrate(pool, ALL_MIGRATIONS)]);
    expect(runs.flat()).toEqual([]);
  });
});

describe('the pool use cases read through', () => {
  it('is read-only in the database itself: a write around the pipeline fails', async () => {
    const reader = createPool(url, 1, undefined, { read_only: true });
    try {
      expect((await reader.query<{ n: number }>('SELECT count(*)::int AS n FROM public.scratch')).rows[0]?.n).toBeGreaterThanOrEqual(0);
      await expect(reader.query(`INSERT INTO public.scratch VALUES ('from-reader', 1)`)).rejects.toMatchObject({ code: '25006' });
      expect(await count(`public.scratch WHERE id = 'from-reader'`)).toBe(0);
    } finally {
      await reader.end();
    }
  });
});

describe('the process lease', () => {
  it('is taken again under a new key when its session ends, and stamps nothing meanwhile', async () => {
    const lease = await takeProcessLease(url, () => {});
    try {
      const first = lease.key;
      expect(first).not.toBeNull();
      await pool.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'payrail-lease' AND datname = current_database()
        AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1::oid AND objsubid = 2)`,
        [first],
      );
      const deadline = Date.now() + 10_000;
      while ((lease.key === first || lease.key === null) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(lease.key).not.toBeNull();
      expect(lease.key).not.toBe(first);
      const alive = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = $1::oid AND objsubid = 2`,
        [lease.key],
      );
      expect(alive.rows[0]?.n).toBe(1);
    } finally {
      await lease.stop();
    }
  });
});
