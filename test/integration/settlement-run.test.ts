import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import type { Connector } from '../../src/services/connectors/index.js';
import { settleDay, settleDueDays } from '../../src/services/settlement/index.js';
import type { MigratedDatabase } from '../support/database.js';
import { createMigratedPool } from '../support/database.js';

/**
 * The daily run settles each day once it is over, catching up on missed days, and waits while the
 * ledger has not yet posted an event of the day (a capture still in the outbox at midnight).
 */
const DAY_MS = 86_400_000;
const DAY0_MS = Date.UTC(2026, 8, 1);
let db: MigratedDatabase;

beforeAll(async () => {
  db = await createMigratedPool(4);
});
afterAll(async () => {
  await db?.drop();
});

/** A processor that settled nothing on any day, and records which days it was asked for. */
function quietProcessor(asked: string[]): Connector {
  return {
    name: 'quiet',
    settlementReport: (batch_date: string) => {
      asked.push(batch_date);
      return Promise.resolve(null);
    },
  } as Partial<Connector> as Connector;
}

describe('the daily settlement run', () => {
  it('starts with yesterday, catches up on missed days, and never settles a day twice', async () => {
    const asked: string[] = [];
    const clock = new ManualClock(DAY0_MS + 10 * 3_600_000);
    const deps = { pool: db.pool, clock, connector: quietProcessor(asked) };
    expect((await settleDueDays(deps)).map((d) => d.batch_date)).toEqual(['2026-08-31']);
    expect(await settleDueDays(deps)).toEqual([]);
    clock.advance(3 * DAY_MS);
    expect((await settleDueDays(deps)).map((d) => d.batch_date)).toEqual(['2026-09-01', '2026-09-02', '2026-09-03']);
    expect(asked).toEqual(['2026-08-31', '2026-09-01', '2026-09-02', '2026-09-03']);
  });

  it('waits for the ledger to post the events of a day before settling it', async () => {
    const asked: string[] = [];
    const clock = new ManualClock(DAY0_MS + 4 * DAY_MS + 10 * 3_600_000); // 5 September, 10:00
    const deps = { pool: db.pool, clock, connector: quietProcessor(asked) };
    // An event of 4 September the ledger has not consumed.
    const event_s = (DAY0_MS + 3 * DAY_MS + 23 * 3_600_000) / 1000;
    await db.pool.query(
      `INSERT INTO events.outbox (merchant_id, id, type, created, object_id, data, request) VALUES ('acct_1', 'evt_late', 'charge.succeeded', $1, 'ch_1', '{}', '{}')`,
      [event_s],
    );
    expect(await settleDueDays(deps)).toEqual([]);
    expect(asked).toEqual([]);
    // The ledger consumes it: the day settles.
    await db.pool.query(`INSERT INTO events.consumer_offsets (consumer, xid, seq) SELECT 'ledger', xid, seq FROM events.outbox WHERE id = 'evt_late'
      ON CONFLICT (consumer) DO UPDATE SET xid = EXCLUDED.xid, seq = EXCLUDED.seq`);
    expect((await settleDueDays(deps)).map((d) => d.batch_date)).toEqual(['2026-09-04']);
  });
});

describe('settling one day by hand', () => {
  it('refuses a day that is not over yet, asking nothing and recording nothing', async () => {
    const asked: string[] = [];
    const clock = new ManualClock(DAY0_MS + 20 * DAY_MS + 10 * 3_600_000); // 21 September, 10:00
    const deps = { pool: db.pool, clock, connector: quietProcessor(asked) };
    // Today and a later day: settling them now would close their batch before their last capture.
    await expect(settleDay(deps, '2026-09-21')).rejects.toThrow(/not over/);
    await expect(settleDay(deps, '2026-10-30')).rejects.toThrow(/not over/);
    expect(asked).toEqual([]);
    const recorded = await db.pool.query(`SELECT 1 FROM settlement.days WHERE connector = 'quiet' AND batch_date >= '2026-09-21'`);
    expect(recorded.rowCount).toBe(0);
    // Yesterday is over: it settles.
    expect((await settleDay(deps, '2026-09-20')).batch_date).toBe('2026-09-20');
    expect(asked).toEqual(['2026-09-20']);
  });
});
