import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import { openRiskScorer } from '../../src/services/risk/index.js';
import { EmbeddedWindowStore } from '../../src/services/risk/adapters/embedded-window-store.js';
import { RedisWindowStore } from '../../src/services/risk/adapters/redis-window-store.js';
import type { WindowQuery, WindowWrite } from '../../src/services/risk/domain/windows.js';
import { Random } from '../../src/services/risk/training/random.js';
import { generateTransactions } from '../../src/services/risk/training/index.js';
import { riskSignals } from '../support/risk-signals.js';

/**
 * The velocity windows give the same answers in Redis and in the embedded store: the same sequence of
 * writes and reads goes into both and every answer is compared, first at the store (trimming by ttl,
 * first-seen, the member cap with Redis's tie order, the amount statistics bit for bit), then through
 * two whole scorers replaying synthetic traffic. Runs when REDIS_URL is set; under CI a missing
 * REDIS_URL fails instead of skipping.
 */
const REDIS_URL = process.env.REDIS_URL;
const PREFIX = `payrail-test-${randomUUID()}:`;
const START_MS = Date.UTC(2026, 10, 3, 9, 0, 0);
/** These tests compare answers, not speed: a loaded machine must not turn a slow reply into a fallback. */
const PATIENT_MS = 5_000;

if (!REDIS_URL && process.env.CI === 'true') {
  describe('risk windows in Redis', () => {
    it('needs REDIS_URL (.ci/run sets it)', () => {
      throw new Error('CI=true but REDIS_URL is not set: the Redis window tests cannot run');
    });
  });
}

describe.runIf(REDIS_URL)('risk windows in Redis', () => {
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(REDIS_URL!);
  });
  afterAll(async () => {
    const keys = await admin.keys(`${PREFIX}*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
  });

  it('answers every query of a random sequence exactly as the embedded store does', async () => {
    const errors: Error[] = [];
    const redis = new RedisWindowStore(REDIS_URL!, `${PREFIX}store:`, (error) => errors.push(error), PATIENT_MS);
    await redis.ready();
    const embedded = new EmbeddedWindowStore();
    const random = new Random(42);
    // Each window has one ttl, and queries look back at most that far (the stores' contract).
    const ttls: Record<string, number> = { a: 60_000, b: 3_600_000, c: 86_400_000, first: 86_400_000 };
    const keys = Object.keys(ttls);
    const members = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'];
    let now = START_MS;
    try {
      for (let step = 0; step < 400; step += 1) {
        now += random.pick([0, 0, 1_000, 30_000, 600_000, 3_600_000]);
        const writes: WindowWrite[] = Array.from({ length: 1 + random.int(3) }, () => {
          const key = random.pick(keys);
          return { key, member: random.pick(members), ttl_ms: ttls[key] ?? 0, keep_first: key === 'first' };
        });
        const amount = random.chance(0.5) ? { stats_key: 'amounts', x: Math.log1p(random.logNormal(4000, 1)) } : null;
        await Promise.all([redis.write(writes, now, amount), embedded.write(writes, now, amount)]);
        const back = (key: string): number => now - (ttls[key] ?? 0) / random.pick([1, 2, 60]);
        const queries: WindowQuery[] = keys.flatMap((key) => [
          { kind: 'count', key, since_ms: [back(key), back(key)] },
          { kind: 'distinct', key, since_ms: [back(key), back(key), back(key)], member: random.pick(members) },
          { kind: 'score', key, member: random.pick(members), since_ms: [back(key)] },
        ]);
        const [from_redis, from_embedded] = await Promise.all([redis.read(queries, 'amounts'), embedded.read(queries, 'amounts', now)]);
        expect(from_redis, `step ${step}`).toEqual(from_embedded);
      }
      expect((await embedded.read([], 'amounts', now)).stats.n).toBeGreaterThan(100);
    } finally {
      await redis.close();
    }
    expect(errors).toEqual([]);
  });

  it('caps a window at 1024 members in the same order, ties broken by member as Redis sorts them', async () => {
    const redis = new RedisWindowStore(REDIS_URL!, `${PREFIX}cap:`, () => undefined, PATIENT_MS);
    await redis.ready();
    const embedded = new EmbeddedWindowStore();
    try {
      // 1100 members in batches sharing a time: eviction must pick the lowest member among equal times.
      for (let batch = 0; batch < 110; batch += 1) {
        const writes = Array.from({ length: 10 }, (_, i) => ({
          key: 'busy',
          member: `m${(i * 7919 + batch) % 1000}-${batch}`,
          ttl_ms: 3_600_000,
          keep_first: false,
        }));
        await Promise.all([redis.write(writes, START_MS + batch, null), embedded.write(writes, START_MS + batch, null)]);
      }
      const probes: WindowQuery[] = [{ kind: 'count', key: 'busy', since_ms: [0] }];
      for (let batch = 0; batch < 10; batch += 1) {
        for (let i = 0; i < 10; i += 1) probes.push({ kind: 'score', key: 'busy', member: `m${(i * 7919 + batch) % 1000}-${batch}`, since_ms: [0] });
      }
      const [from_redis, from_embedded] = await Promise.all([redis.read(probes, 'none'), embedded.read(probes, 'none', START_MS + 200)]);
      expect(from_redis.values[0]).toBe(1024);
      expect(from_redis).toEqual(from_embedded);
      expect(from_redis.values.filter((v) => v === -1).length).toBe(1100 - 1024);
    } finally {
      await redis.close();
    }
  });

  it('two scorers, one on Redis and one embedded, give the same scores for the same traffic', async () => {
    const world = { seed: 77, days: 2, merchants: 6, payments_per_day: 400, start_ms: START_MS - (START_MS % 86_400_000) };
    const transactions = generateTransactions(world);
    const clock_redis = new ManualClock(world.start_ms);
    const clock_embedded = new ManualClock(world.start_ms);
    const errors: Error[] = [];
    const shared = await openRiskScorer({
      clock: clock_redis,
      redis_url: REDIS_URL,
      redis_prefix: `${PREFIX}scorer:`,
      redis_command_timeout_ms: PATIENT_MS,
      instance_id: 'same',
      on_store_error: (e) => errors.push(e),
    });
    const local = await openRiskScorer({ clock: clock_embedded, instance_id: 'same' });
    let fraud_flagged = 0;
    try {
      expect(transactions.length).toBeGreaterThan(800);
      for (const transaction of transactions) {
        for (const clock of [clock_redis, clock_embedded]) clock.advance(transaction.created_ms - clock.now_ms());
        const [a, b] = await Promise.all([shared.score(transaction.signals), local.score(transaction.signals)]);
        expect(a).toEqual(b);
        if (transaction.fraud && a.level !== 'normal') fraud_flagged += 1;
        await Promise.all([shared.record(transaction.signals, transaction.result), local.record(transaction.signals, transaction.result)]);
      }
    } finally {
      await shared.close();
      await local.close();
    }
    expect(errors).toEqual([]);
    expect(fraud_flagged).toBeGreaterThan(10); // the sequence exercised the windows, not only empty ones
  });

  it('answers from the embedded windows while Redis cannot be reached, and says so', async () => {
    const errors: Error[] = [];
    const clock = new ManualClock(START_MS);
    const scorer = await openRiskScorer({ clock, redis_url: 'redis://127.0.0.1:1', instance_id: 'down', on_store_error: (e) => errors.push(e) });
    try {
      await scorer.record(riskSignals(), 'declined');
      const score = await scorer.score(riskSignals());
      expect(score.attributes.declined_charges_per_card_number_hourly).toBe(1);
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      await scorer.close();
    }
  });
});
