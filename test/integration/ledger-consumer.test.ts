import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/platform/db.js';
import { withTransaction } from '../../src/platform/db.js';
import { createLogger } from '../../src/platform/logger.js';
import type { ConsumedEvent } from '../../src/services/events/app/consumer.js';
import { consumerLag } from '../../src/services/events/app/consumer-status.js';
import { balanceOf } from '../../src/services/ledger/domain/accounts.js';
import type { LedgerEvent, MerchantTerms } from '../../src/services/ledger/domain/flows.js';
import { DAY_S } from '../../src/services/ledger/domain/flows.js';
import type { Step } from '../../src/services/ledger/domain/simulation.js';
import { PaymentsSimulator, expectedMerchantBalances, stepFrom } from '../../src/services/ledger/domain/simulation.js';
import { accountsOf } from '../../src/services/ledger/adapters/store.js';
import { LEDGER_CONSUMER_NAME, ledgerConsumer } from '../../src/services/ledger/app/consumer.js';
import { setMerchantTerms } from '../../src/services/ledger/app/terms.js';
import { verifyLedger } from '../../src/services/ledger/app/verify.js';
import type { LedgerWorker } from '../../src/services/ledger/app/worker.js';
import { startLedgerWorker } from '../../src/services/ledger/app/worker.js';
import { createMigratedPool } from '../support/database.js';
import { ledgerRecords } from '../../src/services/payments/index.js';

let pool: Pool;
let drop: () => Promise<void>;
const T0 = 1_700_000_000;
const clock = { now_s: T0, now_ms: () => clock.now_s * 1000 };
let worker: LedgerWorker;

beforeAll(async () => {
  ({ pool, drop } = await createMigratedPool(10));
  worker = startLedgerWorker({ pool, clock, logger: createLogger('silent') }, { poll: false });
});
afterAll(async () => {
  await worker.stop();
  await drop();
});

/** Writes events to the outbox as payments does: one transaction per change. */
async function emit(events: readonly LedgerEvent[]): Promise<void> {
  if (events.length === 0) return;
  await withTransaction(pool, async (tx) => {
    for (const e of events) {
      await tx.query(`INSERT INTO events.outbox (id, merchant_id, type, created, object_id, data, request) VALUES ($1, $2, $3, $4, $5, $6::json, '{}'::json)`, [
        e.id,
        e.merchant_id,
        e.type,
        e.created,
        String(e.data.object.id),
        JSON.stringify(e.data),
      ]);
    }
  });
}

/** Runs the worker (consumer, then releases) until it has nothing left. */
/**
 * Until every event is posted. 'idle' alone is not enough: the consumer never passes an event that an
 * older transaction still open on the server (another test file's, on the shared PostgreSQL) could yet
 * precede, so it may be idle with events waiting behind that horizon for a moment.
 */
async function drain(): Promise<void> {
  const deadline = Date.now() + DRAIN_DEADLINE_MS;
  while (Date.now() < deadline) {
    if ((await worker.step()) !== 'idle') continue;
    if ((await consumerLag(pool, LEDGER_CONSUMER_NAME, clock.now_s)).events_behind === 0) return;
    await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
  }
  throw new Error('ledger worker did not post every event in time');
}
const DRAIN_DEADLINE_MS = 15_000;
const DRAIN_POLL_MS = 10;

/** Mirrors the simulator's final charges and refunds into payments' tables, for reconciliation. */
async function writePaymentsRows(sim: PaymentsSimulator): Promise<void> {
  for (const c of sim.charges) {
    await pool.query(
      `INSERT INTO payments.charges (merchant_id, id, payment_intent_id, status, amount, amount_captured, amount_refunded, currency, created, version, state)
      VALUES ($1, $2, 'pi_sim', $3, $4, $5, $6, 'usd', $7, 1, '{}')`,
      [sim.merchant_id, c.id, c.status, c.amount, c.amount_captured, c.amount_refunded, c.created],
    );
  }
  for (const r of sim.refunds) {
    await pool.query(
      `INSERT INTO payments.refunds (merchant_id, id, charge_id, payment_intent_id, status, amount, currency, created, state)
      VALUES ($1, $2, $3, 'pi_sim', $4, $5, 'usd', $6, '{}')`,
      [sim.merchant_id, r.id, r.charge, r.status, r.amount, r.created],
    );
  }
}

async function merchantBalances(merchant_id: string): Promise<{ available: number; pending: number; fees: number }> {
  const accounts = await accountsOf(pool, merchant_id);
  const of = (code: string) => {
    const a = accounts.find((x) => x.code === code);
    return a ? balanceOf(a) : 0;
  };
  return { available: of('merchant_available'), pending: of('merchant_pending'), fees: of('platform_fees') };
}

const stepArbitrary: fc.Arbitrary<Step> = fc.tuple(fc.nat(), fc.nat(), fc.nat(), fc.nat()).map(([k, a, b, c]) => stepFrom(k, a, b, c));
let run_id = 0;

describe('the ledger posting from the outbox', () => {
  it('applies random payment histories exactly once, even with duplicate deliveries, and verify finds nothing wrong', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(stepArbitrary, { minLength: 1, maxLength: 40 }),
        fc.record({ percent_bps: fc.integer({ min: 0, max: 1000 }), fixed: fc.integer({ min: 0, max: 60 }) }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 1, max: 6 }),
        async (steps, fee, delay_days, drain_every) => {
          run_id += 1;
          const sim = new PaymentsSimulator(clock.now_s, `acct_run${run_id}`, 'usd', `r${run_id}x`);
          const terms: MerchantTerms = { fee, settlement_delay_s: delay_days * DAY_S };
          await setMerchantTerms(pool, sim.merchant_id, terms);
          for (const [i, step] of steps.entries()) {
            const events = sim.apply(step);
            clock.now_s = sim.now_s;
            if (step.kind === 'redeliver') {
              // A duplicate delivery past the inbox (as a replaying bus might): transfer ids absorb it.
              await withTransaction(pool, (tx) => ledgerConsumer().handle(events.map(asConsumed), tx));
            } else {
              await emit(events);
            }
            if (i % drain_every === 0) await drain();
          }
          await drain();
          expect(await merchantBalances(sim.merchant_id)).toEqual(expectedMerchantBalances(sim, terms));
          await writePaymentsRows(sim);
          const report = await verifyLedger(pool, clock.now_s, ledgerRecords);
          expect(report.problems).toEqual([]);
          expect(report.in_flight).toBe(0);
          expect(report.releases_due).toBe(0);
        },
      ),
      { numRuns: 12 },
    );
    expect((await consumerLag(pool, LEDGER_CONSUMER_NAME, clock.now_s)).events_behind).toBe(0);
  });

  it('parks a malformed event, keeps posting the rest, and verify names it', async () => {
    clock.now_s += 10;
    const good = new PaymentsSimulator(clock.now_s, 'acct_poison', 'usd', 'poison');
    await emit([
      {
        id: 'evt_poison_1',
        merchant_id: 'acct_poison',
        type: 'charge.captured',
        created: clock.now_s,
        data: { object: { id: 'ch_broken', amount_captured: 'lots' } },
      },
    ]);
    await emit(good.apply({ kind: 'pay', amount: 1000, manual: false, declined: false }));
    for (let i = 0; i < 20; i++) await worker.step().catch(() => 'failed');
    await drain();
    expect((await merchantBalances('acct_poison')).pending).toBe(1000 - 59);
    await writePaymentsRows(good);
    const report = await verifyLedger(pool, clock.now_s, ledgerRecords);
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toMatch(/event evt_poison_1 \(charge\.captured\) was parked by the ledger consumer: MalformedEvent: .*amount_captured/);
    await pool.query(`DELETE FROM events.dead_letters WHERE event_id = 'evt_poison_1'`);
  });

  it('verify names a captured charge the ledger never posted, and a transfer without its payment', async () => {
    clock.now_s += 10;
    await pool.query(
      `INSERT INTO payments.charges (merchant_id, id, payment_intent_id, status, amount, amount_captured, amount_refunded, currency, created, version, state)
      VALUES ('acct_gap', 'ch_unposted', 'pi_x', 'succeeded', 500, 500, 0, 'usd', $1, 1, '{}')`,
      [clock.now_s],
    );
    const sim = new PaymentsSimulator(clock.now_s, 'acct_gap', 'usd', 'gap');
    await emit(sim.apply({ kind: 'pay', amount: 700, manual: false, declined: false })); // posted, but no payments row
    await drain();
    const report = await verifyLedger(pool, clock.now_s, ledgerRecords);
    expect(report.problems).toEqual([
      expect.stringMatching(/charge ch_unposted \(acct_gap\) captured 500 but has no capture transfer/),
      expect.stringMatching(/captures 700 for charge ch_gap\d+, which payments has no record of/),
    ]);
    // A charge whose event the consumer has not reached yet is in flight, not a problem.
    await pool.query(`UPDATE payments.charges SET amount_captured = 0, amount = 500 WHERE id = 'ch_unposted'`);
    await writePaymentsRows(sim);
    const pending = new PaymentsSimulator(clock.now_s, 'acct_gap', 'usd', 'gap2');
    const events = pending.apply({ kind: 'pay', amount: 800, manual: false, declined: false });
    await emit(events);
    await writePaymentsRows(pending);
    const during = await verifyLedger(pool, clock.now_s, ledgerRecords);
    expect(during.problems).toEqual([]);
    expect(during.in_flight).toBe(1);
  });
});

describe('ledger verify against tampering', () => {
  it('names an account whose totals no longer match its postings', async () => {
    await pool.query(`UPDATE ledger.accounts SET credits_posted = credits_posted + 1 WHERE merchant_id = 'acct_poison' AND code = 'merchant_pending'`);
    const report = await verifyLedger(pool, clock.now_s, ledgerRecords);
    expect(report.problems.some((p) => /account merchant_pending of acct_poison in usd records debits \d+ \/ credits \d+, its postings sum to/.test(p))).toBe(
      true,
    );
    await pool.query(`UPDATE ledger.accounts SET credits_posted = credits_posted - 1 WHERE merchant_id = 'acct_poison' AND code = 'merchant_pending'`);
  });
});

function asConsumed(event: LedgerEvent): ConsumedEvent {
  return { ...event, object_id: String(event.data.object.id), position: { xid: '0', seq: 0 } };
}
