import { describe, expect, it } from 'vitest';
import { createPool } from '../../src/platform/db.js';
import { migrate } from '../../src/platform/migrations.js';
import { ALL_MIGRATIONS } from '../../src/migrations.js';
import { createTestDatabase } from '../support/database.js';

/**
 * events/005_jetstream_continuity on a database that already has JetStream positions: each existing
 * position gets the outbox position of the last event its consumer recorded in its inbox (so nothing
 * it has not applied is skipped), and the relay's offsets start at replay generation 0.
 */

describe('events/005_jetstream_continuity on an existing database', () => {
  it('starts existing JetStream positions after the last event in their consumer inbox', async () => {
    const database = await createTestDatabase();
    const pool = createPool(database.url, 2);
    try {
      const before = ALL_MIGRATIONS.findIndex((migration) => migration.id === 'events/004_jetstream');
      expect(before).toBeGreaterThan(0);
      await migrate(pool, ALL_MIGRATIONS.slice(0, before + 1));
      // One transaction each, as payments write them: three xids in order.
      for (const id of ['evt_1', 'evt_2', 'evt_3']) {
        await pool.query(
          `INSERT INTO events.outbox (merchant_id, id, type, created, object_id, data, request)
          VALUES ('acct_m', $1, 'charge.succeeded', 1, 'ch_1', '{}', '{}')`,
          [id],
        );
      }
      await pool.query(
        `INSERT INTO events.consumer_inbox (consumer, event_id, merchant_id) VALUES ('webhooks', 'evt_1', 'acct_m'), ('webhooks', 'evt_2', 'acct_m')`,
      );
      await pool.query(`INSERT INTO events.jetstream_positions (consumer, stream, stream_seq) VALUES ('webhooks', 'S', 2), ('idle', 'S', 7)`);
      await pool.query(`INSERT INTO events.consumer_offsets (consumer, xid, seq) SELECT 'nats_relay.s', xid, seq FROM events.outbox WHERE id = 'evt_3'`);

      await migrate(pool, ALL_MIGRATIONS);

      const positions = await pool.query<{ consumer: string; stream_seq: number; stream_created: string | null; at: string | null }>(`
        SELECT p.consumer, p.stream_seq, p.stream_created, o.id AS at FROM events.jetstream_positions p
        LEFT JOIN events.outbox o ON (o.xid, o.seq) = (p.outbox_xid, p.outbox_seq) ORDER BY p.consumer`);
      expect(positions.rows).toEqual([
        { consumer: 'idle', stream_seq: 7, stream_created: null, at: null },
        { consumer: 'webhooks', stream_seq: 2, stream_created: null, at: 'evt_2' },
      ]);
      const zero = await pool.query<{ xid: string; seq: number }>(
        `SELECT outbox_xid::text AS xid, outbox_seq AS seq FROM events.jetstream_positions WHERE consumer = 'idle'`,
      );
      expect(zero.rows).toEqual([{ xid: '0', seq: 0 }]);
      const relay = await pool.query<{ generation: number }>(`SELECT generation FROM events.consumer_offsets WHERE consumer = 'nats_relay.s'`);
      expect(relay.rows).toEqual([{ generation: 0 }]);
    } finally {
      await pool.end();
      await database.drop();
    }
  }, 60_000);
});
