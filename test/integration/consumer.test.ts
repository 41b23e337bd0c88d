import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/platform/db.js';
import { numbered, run, sql } from '../../src/platform/db.js';
import { UlidGenerator } from '../../src/kernel/ids.js';
import { outboxInsert } from '../../src/services/events/adapters/outbox.js';
import type { ConsumedEvent, Consumer } from '../../src/services/events/app/consumer.js';
import { OutboxConsumerRunner } from '../../src/services/events/app/consumer-runner.js';
import { consumerLag, deadLetters } from '../../src/services/events/app/consumer-status.js';
import { createMigratedPool } from '../support/database.js';

let pool: Pool;
let url: string;
let drop: () => Promise<void>;
const ids = new UlidGenerator();
const request = { id: null, idempotency_key: null };

beforeAll(async () => {
  ({ pool, url, drop } = await createMigratedPool(10));
  await pool.query('CREATE TABLE public.effects (consumer text NOT NULL, event_id text NOT NULL)');
});
afterAll(async () => {
  await drop();
});

let consumer_count = 0;
/** A consumer that records one effect row per event it is handed, in the batch's transaction. */
function recorder(options: { fail_on?: (event: ConsumedEvent) => boolean; types?: string[] } = {}): Consumer & { seen: string[] } {
  consumer_count += 1;
  const seen: string[] = [];
  return {
    name: `test_${consumer_count}`,
    types: options.types ?? ['thing.happened', 'thing.poisoned'],
    seen,
    async handle(batch, tx) {
      for (const event of batch) {
        if (options.fail_on?.(event)) throw new Error(`cannot apply ${event.id}`);
        await run(tx, sql`INSERT INTO public.effects (consumer, event_id) VALUES (${this.name}, ${event.id})`);
      }
      seen.push(...batch.map((e) => e.id));
    },
  };
}

/** Inserts one event through the outbox's own write; returns its id. */
async function emit(db: pg.ClientBase | Pool, type = 'thing.happened'): Promise<string> {
  const fragment = outboxInsert(ids, 'acct_test', Math.floor(Date.now() / 1000), request, [{ type, object: { id: 'obj_x' } }]);
  const result = await db.query<{ id: string }>({ text: `${numbered(fragment)} RETURNING id`, values: fragment.values as unknown[] });
  return result.rows[0]!.id;
}

async function effects(name: string): Promise<string[]> {
  const result = await pool.query<{ event_id: string }>('SELECT event_id FROM public.effects WHERE consumer = $1', [name]);
  return result.rows.map((r) => r.event_id);
}

/**
 * Until nothing is left. 'caught_up' alone is not enough: the runner never passes an event that an
 * older transaction still open on the server (another test file's, on the shared PostgreSQL) could
 * yet precede, so it may report caught up with events waiting behind that horizon for a moment.
 */
async function drain(runner: OutboxConsumerRunner, max_rounds = 50): Promise<void> {
  const deadline = Date.now() + HORIZON_WAIT_MS;
  for (let i = 0; i < max_rounds || Date.now() < deadline; i++) {
    const result = await runner.runOnce();
    if (result.kind !== 'caught_up') continue;
    if ((await runner.lag(Math.floor(Date.now() / 1000))).events_behind === 0) return;
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('consumer did not catch up');
}
const HORIZON_WAIT_MS = 10_000;

/** Rounds until the runner says it is caught up, whatever may still wait behind an open transaction. */
async function untilCaughtUp(runner: OutboxConsumerRunner, max_rounds = 50): Promise<void> {
  for (let i = 0; i < max_rounds; i++) if ((await runner.runOnce()).kind === 'caught_up') return;
  throw new Error('consumer did not catch up');
}

/** Runs rounds until one answers `kind` (other servers' open transactions can hold events back a moment). */
async function roundUntil(runner: OutboxConsumerRunner, kind: string): Promise<Awaited<ReturnType<OutboxConsumerRunner['runOnce']>>> {
  const deadline = Date.now() + HORIZON_WAIT_MS;
  for (;;) {
    const result = await runner.runOnce();
    if (result.kind === kind || Date.now() > deadline) return result;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function connect(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

describe('the embedded consumer runner', () => {
  it('delivers committed events, in order, and never rolled-back ones', async () => {
    const consumer = recorder();
    const runner = new OutboxConsumerRunner(pool, consumer);
    await drain(runner); // skip whatever earlier tests left behind
    consumer.seen.length = 0;

    const first = await emit(pool);
    const client = await connect();
    try {
      await client.query('BEGIN');
      const rolled_back = await emit(client);
      await client.query('ROLLBACK');
      const second = await emit(pool);
      await drain(runner);
      expect(consumer.seen).toEqual([first, second]);
      expect(consumer.seen).not.toContain(rolled_back);
    } finally {
      await client.end();
    }
  });

  it('does not skip an event whose transaction commits late with a lower seq', async () => {
    const consumer = recorder();
    const runner = new OutboxConsumerRunner(pool, consumer);
    await drain(runner);
    consumer.seen.length = 0;

    const a = await connect();
    const b = await connect();
    try {
      await a.query('BEGIN');
      const early_seq_late_commit = await emit(a); // lower seq, still open
      await b.query('BEGIN');
      const later_seq = await emit(b);
      await b.query('COMMIT');

      // B is committed and visible, but A (older) is still running: reading past B now could skip A.
      await untilCaughtUp(runner);
      expect(consumer.seen).toEqual([]);

      await a.query('COMMIT');
      await drain(runner);
      expect(consumer.seen).toEqual([early_seq_late_commit, later_seq]);
    } finally {
      await a.end();
      await b.end();
    }
  });

  it('does not skip an event from an older transaction that writes its event last', async () => {
    const consumer = recorder();
    const runner = new OutboxConsumerRunner(pool, consumer);
    await drain(runner);
    consumer.seen.length = 0;

    const a = await connect();
    const b = await connect();
    try {
      await a.query('BEGIN');
      await a.query('SELECT pg_current_xact_id()'); // A takes its transaction id first
      await b.query('BEGIN');
      const b_event = await emit(b);
      await b.query('COMMIT');
      const a_event = await emit(a); // higher seq, lower xid
      await untilCaughtUp(runner);
      expect(consumer.seen).toEqual([]);
      await a.query('COMMIT');
      await drain(runner);
      expect(consumer.seen).toEqual([a_event, b_event]);
    } finally {
      await a.end();
      await b.end();
    }
  });

  it('applies a redelivered event only once (inbox), and passes over other types without handing them out', async () => {
    const consumer = recorder({ types: ['thing.happened'] });
    const runner = new OutboxConsumerRunner(pool, consumer);
    await drain(runner);
    const before = (await effects(consumer.name)).length;

    const wanted = await emit(pool);
    const other = await emit(pool, 'thing.ignored');
    await drain(runner);
    expect(await effects(consumer.name)).toHaveLength(before + 1);
    expect(consumer.seen).toContain(wanted);
    expect(consumer.seen).not.toContain(other);

    // Rewind the offset to the start, as a replaying bus would: every event is delivered again.
    await pool.query(`UPDATE events.consumer_offsets SET xid = '0', seq = 0 WHERE consumer = $1`, [consumer.name]);
    const seen_before = consumer.seen.length;
    await drain(runner);
    expect(consumer.seen).toHaveLength(seen_before); // nothing handed out twice
    expect(await effects(consumer.name)).toHaveLength(before + 1);
  });

  it('redoes a batch exactly once when its connection dies mid-batch', async () => {
    let kill_next = true;
    const consumer: Consumer = {
      name: `test_crash_${++consumer_count}`,
      types: ['thing.happened'],
      async handle(batch, tx) {
        for (const event of batch) await run(tx, sql`INSERT INTO public.effects (consumer, event_id) VALUES (${this.name}, ${event.id})`);
        if (kill_next) {
          kill_next = false;
          // The process "dies" after writing effects and before the commit.
          await pool.query('SELECT pg_terminate_backend($1)', [(tx as unknown as { processID: number }).processID]);
          await tx.query('SELECT 1');
        }
      },
    };
    const runner = new OutboxConsumerRunner(pool, consumer);
    const emitted = [await emit(pool), await emit(pool), await emit(pool)];
    await expect(runner.runOnce()).rejects.toThrow();
    expect(await effects(consumer.name)).toEqual([]);
    await drain(runner);
    const applied = await effects(consumer.name);
    for (const id of emitted) expect(applied.filter((e) => e === id)).toHaveLength(1);
    expect(new Set(applied).size).toBe(applied.length);
  });

  it('parks an event that keeps failing, with its error, and moves on', async () => {
    const consumer = recorder({ fail_on: (event) => event.type === 'thing.poisoned' });
    const runner = new OutboxConsumerRunner(pool, consumer, { attempts_max: 3 });
    await drain(runner);
    consumer.seen.length = 0;

    const good_before = await emit(pool);
    const poison = await emit(pool, 'thing.poisoned');
    const good_after = await emit(pool);

    const first = await runner.runOnce();
    expect(first).toMatchObject({ kind: 'retry_later', event_id: poison, attempts: 1 });
    expect(consumer.seen).toEqual([good_before]); // what came before the poison is applied
    expect(await runner.runOnce()).toMatchObject({ kind: 'retry_later', attempts: 2 });
    expect(await runner.runOnce()).toMatchObject({ kind: 'applied', parked: 1 });
    expect(consumer.seen).toEqual([good_before, good_after]);

    const parked = await deadLetters(pool, consumer.name, 10);
    expect(parked).toEqual([{ event_id: poison, type: 'thing.poisoned', attempts: 3, error: `Error: cannot apply ${poison}` }]);
    const attempts = await pool.query('SELECT * FROM events.consumer_attempts WHERE consumer = $1', [consumer.name]);
    expect(attempts.rows).toEqual([]);
    await drain(runner);
    const applied = await effects(consumer.name);
    expect(applied.filter((id) => id === good_before || id === good_after)).toEqual([good_before, good_after]);
    expect(applied).not.toContain(poison);
  });

  it("passes over what commits while it wants none, dropping a failing event's attempts, and reads again once it wants", async () => {
    await pool.query('CREATE TABLE IF NOT EXISTS public.wanting (consumer text PRIMARY KEY)');
    const base = recorder({ fail_on: (event) => event.type === 'thing.poisoned' });
    const consumer = Object.assign(base, { wants_none_if: sql`NOT EXISTS (SELECT 1 FROM public.wanting WHERE consumer = ${base.name})` });
    const runner = new OutboxConsumerRunner(pool, consumer);
    await pool.query('INSERT INTO public.wanting (consumer) VALUES ($1)', [consumer.name]);
    await drain(runner);
    consumer.seen.length = 0;

    const poison = await emit(pool, 'thing.poisoned');
    expect(await roundUntil(runner, 'retry_later')).toMatchObject({ kind: 'retry_later', event_id: poison, attempts: 1 });
    await pool.query('DELETE FROM public.wanting WHERE consumer = $1', [consumer.name]);
    const unwanted = await emit(pool);
    expect(await roundUntil(runner, 'passed_over')).toEqual({ kind: 'passed_over' });
    await drain(runner);
    expect(consumer.seen).toEqual([]);
    expect((await pool.query('SELECT 1 FROM events.consumer_attempts WHERE consumer = $1', [consumer.name])).rows).toEqual([]);
    expect(
      (await pool.query('SELECT 1 FROM events.consumer_inbox WHERE consumer = $1 AND event_id = ANY($2)', [consumer.name, [poison, unwanted]])).rows,
    ).toEqual([]);

    await pool.query('INSERT INTO public.wanting (consumer) VALUES ($1)', [consumer.name]);
    const wanted = await emit(pool);
    await drain(runner);
    expect(consumer.seen).toEqual([wanted]);
  });

  it('reports its lag in events and seconds, and lets one runner at a time work', async () => {
    const consumer = recorder();
    const runner = new OutboxConsumerRunner(pool, consumer, { batch_size: 2 });
    await drain(runner);
    const now_s = Math.floor(Date.now() / 1000);
    expect(await consumerLag(pool, consumer.name, now_s)).toEqual({ events_behind: 0, seconds_behind: 0 });
    for (let i = 0; i < 5; i++) await emit(pool);
    const lag = await consumerLag(pool, consumer.name, now_s + 7);
    expect(lag.events_behind).toBe(5);
    expect(lag.seconds_behind).toBeGreaterThanOrEqual(6);

    // Two runners of one consumer: the advisory lock lets one in; the other reports busy.
    const holder = await pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`payrail.consumer:${consumer.name}`]);
      expect(await roundUntil(runner, 'busy')).toEqual({ kind: 'busy' });
      await holder.query('COMMIT');
    } finally {
      holder.release();
    }
    expect(await runner.runOnce()).toMatchObject({ kind: 'applied', read: 2, full: true });
    await drain(runner);
    expect((await consumerLag(pool, consumer.name, now_s)).events_behind).toBe(0);
  });
});
