import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/platform/db.js';
import { numbered } from '../../src/platform/db.js';
import { createLogger } from '../../src/platform/logger.js';
import { notifyCommit } from '../../src/platform/write/commit-signal.js';
import { UlidGenerator } from '../../src/kernel/ids.js';
import { outboxInsert } from '../../src/services/events/adapters/outbox.js';
import type { JetStreamHandle, NatsSettings } from '../../src/services/events/adapters/nats/jetstream.js';
import { connectJetStream, ensureStream } from '../../src/services/events/adapters/nats/jetstream.js';
import { NatsRelay } from '../../src/services/events/adapters/nats/relay.js';
import { fixedSource } from '../../src/services/events/adapters/nats/link.js';
import { natsSettingsFor } from '../../src/services/events/app/runtime.js';
import { createMigratedPool } from '../support/database.js';

/**
 * The outbox relay, caught up and waiting a minute, publishes an event at once when this process
 * commits it (the commit signal), against real PostgreSQL and NATS (NATS_URL; CI sets it, and
 * nats-relay.test.ts fails the run when it is missing).
 */

const NATS_URL = process.env.NATS_URL;
const IDLE_WAIT_MS = 60_000;
const PUBLISHED_WITHIN_MS = 10_000;
/** A woken round reads only events older than every open transaction on the shared server: commit again then. */
const NUDGE_EVERY_MS = 500;

describe.runIf(NATS_URL)('the NATS relay, woken by commits', () => {
  let pool: Pool;
  let drop: () => Promise<void>;
  let settings: NatsSettings;
  let nats: JetStreamHandle;
  const ids = new UlidGenerator();

  beforeAll(async () => {
    ({ pool, drop } = await createMigratedPool(5));
    const suffix = randomBytes(4).toString('hex');
    settings = await natsSettingsFor(pool, NATS_URL!, {
      stream: `PAYRAIL_TEST_${suffix}`,
      subject_prefix: `payrailtest.${suffix}`,
    });
    nats = await connectJetStream(settings, 'payrail-test');
    await ensureStream(nats.jsm, settings);
  });
  afterAll(async () => {
    await nats?.jsm.streams.delete(settings.stream).catch(() => false);
    await nats?.close();
    await drop?.();
  });

  async function commitEvent(): Promise<void> {
    const fragment = outboxInsert(ids, 'acct_wake', Math.floor(Date.now() / 1000), { id: null, idempotency_key: null }, [
      { type: 'payment_intent.created', object: { id: 'pi_wake' } },
    ]);
    await pool.query({ text: numbered(fragment), values: fragment.values as unknown[] });
    notifyCommit();
  }

  async function streamed(): Promise<number> {
    return (await nats.jsm.streams.info(settings.stream)).state.messages;
  }

  it('publishes a committed event long before its idle wait would end', async () => {
    const idle = { idle_ms: IDLE_WAIT_MS, idle_max_ms: IDLE_WAIT_MS, wake_gap_ms: settings.relay_idle_ms };
    const relay = new NatsRelay({ pool, nats: fixedSource(nats), settings, logger: createLogger('silent'), idle });
    relay.start();
    try {
      // Its first round registers the offset and finds nothing: from then on it waits a minute unless woken.
      await expect.poll(() => pool.query('SELECT 1 FROM events.consumer_offsets WHERE consumer = $1', [relay.offset_name]).then((r) => r.rowCount)).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const started = Date.now();
      await commitEvent();
      let nudged = Date.now();
      while ((await streamed()) === 0) {
        expect(Date.now() - started).toBeLessThan(PUBLISHED_WITHIN_MS);
        if (Date.now() - nudged >= NUDGE_EVERY_MS) {
          await commitEvent();
          nudged = Date.now();
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } finally {
      await relay.stop();
    }
  });
});
