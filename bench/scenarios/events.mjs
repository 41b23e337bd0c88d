// Events: the outbox relayed to NATS JetStream, and the lag from commit to consumer.
//  1. relay throughput: a backlog of outbox rows (payment-sized events) relayed to a fresh stream,
//     beside a raw JetStream publish of the same payloads (msg id set, same window) in the same run;
//  2. lag: events committed one per transaction at a steady rate while the relay and a durable
//     JetStream consumer run in the background; lag = consumer's handle() time − commit time;
//  3. the same lag on the embedded binding (consumer reading the outbox table), for comparison.
// Needs NATS_URL; without it the block says so and reports nothing.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { formatNumber, percentile } from '../lib.mjs';

const BACKLOG_EVENTS = 20_000;
const LIVE_RATE_PER_S = 1_000;
const LIVE_DURATION_S = 5;
const LIVE_INSERTERS = 8;
const DRAIN_TIMEOUT_MS = 60_000;
const MERCHANT = 'acct_bench';
const TYPE = 'payment_intent.succeeded';

export const events = {
  name: 'events',
  title: 'Events: outbox → NATS JetStream relay, commit → consumer lag',

  async run(ctx) {
    const nats_url = process.env.NATS_URL;
    if (!nats_url) {
      return { metrics: null, problems: [], rows: [['skipped', 'NATS_URL is not set (the JetStream binding needs a NATS server)']] };
    }
    const dist = (path) => import(pathToFileURL(join(ctx.root_dir, 'dist', path)).href);
    const [
      { createPool, numbered },
      { migrate },
      { ALL_MIGRATIONS },
      { createLogger },
      { UlidGenerator },
      { outboxInsert },
      { connectJetStream, ensureStream },
      { NatsRelay },
      { JetStreamConsumerWorker },
      { natsSettingsFor },
      { OutboxConsumerRunner, startPolling },
      { fixedSource },
    ] = await Promise.all([
      dist('platform/db.js'),
      dist('platform/migrations.js'),
      dist('migrations.js'),
      dist('platform/logger.js'),
      dist('kernel/ids.js'),
      dist('services/events/adapters/outbox.js'),
      dist('services/events/adapters/nats/jetstream.js'),
      dist('services/events/adapters/nats/relay.js'),
      dist('services/events/adapters/nats/consumer.js'),
      dist('services/events/app/runtime.js'),
      dist('services/events/index.js'),
      dist('services/events/adapters/nats/link.js'),
    ]);
    const logger = createLogger(
      'error',
      new Writable({
        write(_c, _e, done) {
          done();
        },
      }),
    );
    const pool = createPool(ctx.database.url, ctx.config.db_pool_max);
    ctx.cleanup.add('close events bench pool', () => pool.end());
    await migrate(pool, ALL_MIGRATIONS);

    const suffix = randomBytes(4).toString('hex');
    const settings = await natsSettingsFor(pool, nats_url, { stream: `PAYRAIL_BENCH_${suffix}`, subject_prefix: `payrailbench.${suffix}` });
    const raw_settings = { ...settings, stream: `PAYRAIL_BENCH_RAW_${suffix}`, subject_prefix: `payrailbench.${suffix}raw` };
    const nats = await connectJetStream(settings, 'payrail-bench');
    ctx.cleanup.add('close NATS', () => nats.close());
    const source = fixedSource(nats); // the relay and consumers take a JetStream source, connected here up front
    for (const s of [settings, raw_settings]) {
      await ensureStream(nats.jsm, s);
      ctx.cleanup.add(`delete stream ${s.stream}`, () => nats.jsm.streams.delete(s.stream).catch(() => false));
    }
    const payload_object = await samplePaymentIntent(pool);
    const problems = [];

    // 1. Backlog: bulk-insert, then time the relay draining the whole outbox (earlier scenarios' events too).
    const ids = new UlidGenerator();
    await insertBacklog(pool, ids, outboxInsert, numbered, payload_object);
    const backlog = (await pool.query('SELECT count(*)::int AS n FROM events.outbox')).rows[0].n;
    const relay = new NatsRelay({ pool, nats: source, settings, logger });
    const relay_started = performance.now();
    let relayed = 0;
    for (;;) {
      const round = await relay.step();
      if (round.kind === 'published') relayed += round.read;
      else if (relayed >= backlog) break;
      else if (performance.now() - relay_started > DRAIN_TIMEOUT_MS) {
        problems.push(`events: relay drained only ${relayed} of ${backlog}`);
        break;
      }
    }
    const relay_s = (performance.now() - relay_started) / 1000;
    const stream_count = (await nats.jsm.streams.info(settings.stream)).state.messages;
    if (stream_count !== backlog) problems.push(`events: stream holds ${stream_count} messages, the outbox ${backlog} events`);

    // Raw baseline: the same payloads published straight to JetStream, windows of the relay's batch size.
    const payloads = (
      await pool.query(
        `SELECT id, json_build_object('id', id, 'merchant_id', merchant_id, 'type', type, 'created', created, 'object_id', object_id, 'data', data, 'request', request)::text AS payload FROM events.outbox`,
      )
    ).rows;
    const raw_started = performance.now();
    for (let i = 0; i < payloads.length; i += settings.relay_batch_size) {
      const window = payloads.slice(i, i + settings.relay_batch_size);
      await Promise.all(
        window.map((row) => nats.js.publish(`${raw_settings.subject_prefix}.${MERCHANT}.payment_intent.succeeded`, row.payload, { msgID: row.id })),
      );
    }
    const raw_s = (performance.now() - raw_started) / 1000;

    // 2. Lag through NATS: relay + durable consumer in the background, live inserts.
    await relay.stop();
    const live_from_seq = (await nats.jsm.streams.info(settings.stream)).state.last_seq + 1;
    const nats_lag = await measureLag({
      pool,
      ids,
      outboxInsert,
      numbered,
      payload_object,
      start: async (consumer) => {
        const live_relay = new NatsRelay({ pool, nats: source, settings, logger });
        const worker = new JetStreamConsumerWorker({ pool, nats: source, settings, logger, consumer });
        // Catch up on the backlog first (not timed): only this phase's events count.
        const caught_up_by = performance.now() + DRAIN_TIMEOUT_MS;
        while (performance.now() < caught_up_by) {
          const round = await worker.step();
          if (round.kind !== 'applied' && (await worker.lag()).events_behind === 0) break;
        }
        live_relay.start();
        worker.start();
        return async () => {
          await live_relay.stop();
          await worker.stop();
        };
      },
      name: 'bench_nats',
    });
    // 3. The embedded binding under the same load.
    const embedded_lag = await measureLag({
      pool,
      ids,
      outboxInsert,
      numbered,
      payload_object,
      start: async (consumer) => {
        const runner = new OutboxConsumerRunner(pool, consumer);
        // Start past the backlog and the NATS phase: only this phase's events are timed.
        while ((await runner.runOnce()).kind !== 'caught_up');
        const polling = startPolling(async () => ((await runner.runOnce()).kind === 'applied' ? 'more' : 'idle'), {
          idle_ms: 20,
          backoff_ms: 100,
          backoff_max_ms: 1_000,
        });
        return () => polling.stop();
      },
      name: 'bench_embedded',
    });
    // Where the NATS lag goes: commit → stored in the stream (relay), stored → handled (consumer).
    const stored_ms = new Map();
    const last_seq = (await nats.jsm.streams.info(settings.stream)).state.last_seq;
    for (let seq = live_from_seq; seq <= last_seq; seq++) {
      const message = await nats.jsm.streams.getMessage(settings.stream, { seq });
      if (message) stored_ms.set(JSON.parse(Buffer.from(message.data).toString('utf8')).id, message.time.getTime());
    }
    const split = (from, to) =>
      [...nats_lag.timeline]
        .filter(([id]) => stored_ms.has(id))
        .map(([id, t]) => Math.max(0, (to === 'stored' ? stored_ms.get(id) : t.handled_wall) - (from === 'committed' ? t.committed_wall : stored_ms.get(id))))
        .sort((a, b) => a - b);
    const relay_split = split('committed', 'stored');
    const consumer_split = split('stored', 'handled');
    for (const { label, lag } of [
      { label: 'NATS', lag: nats_lag },
      { label: 'embedded', lag: embedded_lag },
    ]) {
      if (lag.missing > 0) problems.push(`events (${label}): ${lag.missing} of ${lag.inserted} committed events never reached the consumer`);
    }

    const metrics = {
      relay_events_per_s: backlog / relay_s,
      raw_publish_per_s: payloads.length / raw_s,
      nats_lag_p50_ms: nats_lag.p50,
      nats_lag_p99_ms: nats_lag.p99,
      embedded_lag_p50_ms: embedded_lag.p50,
      embedded_lag_p99_ms: embedded_lag.p99,
    };
    return {
      metrics,
      problems,
      rows: [
        [
          'event size',
          `${formatNumber(payloads.reduce((sum, row) => sum + Buffer.byteLength(row.payload), 0) / Math.max(1, payloads.length))} bytes on average (event JSON as relayed)`,
        ],
        [
          'relay events/s',
          `${formatNumber(metrics.relay_events_per_s)} (${formatNumber(backlog)} outbox rows → stream in ${formatNumber(relay_s, 2)} s, batches of ${settings.relay_batch_size})`,
        ],
        [
          'raw JetStream publish/s',
          `${formatNumber(metrics.raw_publish_per_s)} (same payloads and msg ids, windows of ${settings.relay_batch_size}, no database)`,
        ],
        ['ratio relay/raw', formatNumber(metrics.relay_events_per_s / metrics.raw_publish_per_s, 2)],
        [
          'lag via NATS p50 / p99 ms',
          `${formatNumber(nats_lag.p50, 1)} / ${formatNumber(nats_lag.p99, 1)} (max ${formatNumber(nats_lag.max, 1)}; ${formatNumber(nats_lag.inserted)} events at ${formatNumber(nats_lag.rate)}/s, commit → consumer handle)`,
        ],
        [
          '  of which relay p50 / p99',
          `${formatNumber(percentile(relay_split, 0.5), 1)} / ${formatNumber(percentile(relay_split, 0.99), 1)} ms (commit → stored in the stream; JetStream's store time, ms resolution)`,
        ],
        [
          '  of which consumer p50 / p99',
          `${formatNumber(percentile(consumer_split, 0.5), 1)} / ${formatNumber(percentile(consumer_split, 0.99), 1)} ms (stored → handle() in its transaction)`,
        ],
        [
          'lag embedded p50 / p99 ms',
          `${formatNumber(embedded_lag.p50, 1)} / ${formatNumber(embedded_lag.p99, 1)} (max ${formatNumber(embedded_lag.max, 1)}; same load, consumer polling the outbox every 20 ms)`,
        ],
      ],
    };
  },
};

async function samplePaymentIntent(pool) {
  const found = await pool.query(`SELECT data FROM events.outbox WHERE type = 'payment_intent.succeeded' LIMIT 1`);
  if (found.rows[0]) return found.rows[0].data.object;
  return { id: 'pi_sample', object: 'payment_intent', amount: 2000, currency: 'usd', status: 'succeeded', metadata: {}, padding: 'x'.repeat(1500) };
}

async function insertBacklog(pool, ids, outboxInsert, numbered, object) {
  const per_statement = 500;
  for (let i = 0; i < BACKLOG_EVENTS; i += per_statement) {
    const drafts = Array.from({ length: Math.min(per_statement, BACKLOG_EVENTS - i) }, (_, j) => ({
      type: TYPE,
      object: { ...object, id: `pi_backlog${(i + j) % 997}` },
    }));
    const fragment = outboxInsert(ids, MERCHANT, Math.floor(Date.now() / 1000), { id: null, idempotency_key: null }, drafts);
    await pool.query({ text: numbered(fragment), values: fragment.values });
  }
}

/** Commits events one per transaction at LIVE_RATE_PER_S for LIVE_DURATION_S; times each from commit to handle(). */
async function measureLag({ pool, ids, outboxInsert, numbered, payload_object, start, name }) {
  const committed_at = new Map();
  const handled_at = new Map();
  const wall = new Map();
  const consumer = {
    name,
    types: [TYPE],
    handle: async (batch) => {
      const now = performance.now();
      const now_wall = Date.now();
      for (const event of batch) {
        if (handled_at.has(event.id)) continue;
        handled_at.set(event.id, now);
        const entry = wall.get(event.id);
        if (entry) entry.handled_wall = now_wall;
        else wall.set(event.id, { handled_wall: now_wall });
      }
    },
  };
  const stop = await start(consumer);
  const total = LIVE_RATE_PER_S * LIVE_DURATION_S;
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: LIVE_INSERTERS }, async (_, inserter) => {
      for (let k = inserter; k < total; k += LIVE_INSERTERS) {
        const due = started + (k / LIVE_RATE_PER_S) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const fragment = outboxInsert(ids, MERCHANT, Math.floor(Date.now() / 1000), { id: null, idempotency_key: null }, [
          { type: TYPE, object: { ...payload_object, id: `pi_live${next++ % 97}` } },
        ]);
        const result = await pool.query({ text: `${numbered(fragment)} RETURNING id`, values: fragment.values });
        committed_at.set(result.rows[0].id, performance.now());
        const entry = wall.get(result.rows[0].id);
        if (entry) entry.committed_wall = Date.now();
        else wall.set(result.rows[0].id, { committed_wall: Date.now() });
      }
    }),
  );
  const deadline = performance.now() + DRAIN_TIMEOUT_MS;
  while ([...committed_at.keys()].some((id) => !handled_at.has(id)) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  await stop();
  const lags = [...committed_at]
    .filter(([id]) => handled_at.has(id))
    .map(([id, at]) => Math.max(0, handled_at.get(id) - at))
    .sort((a, b) => a - b);
  return {
    inserted: committed_at.size,
    missing: committed_at.size - lags.length,
    rate: LIVE_RATE_PER_S,
    p50: percentile(lags, 0.5),
    p99: percentile(lags, 0.99),
    max: lags.at(-1) ?? NaN,
    /** Wall-clock commit and handle times per event, to compare with JetStream's store times. */
    timeline: [...wall].filter(([, t]) => t.committed_wall !== undefined && t.handled_wall !== undefined),
  };
}
