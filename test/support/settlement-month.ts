import type { Pool } from '../../src/platform/db.js';
import { withTransaction } from '../../src/platform/db.js';
import { ManualClock } from '../../src/kernel/clock.js';
import { UlidGenerator } from '../../src/kernel/ids.js';
import type { LedgerEvent } from '../../src/services/ledger/domain/flows.js';
import { DEFAULT_TERMS, transfersForEvent } from '../../src/services/ledger/domain/flows.js';
import type { TransferRequest } from '../../src/services/ledger/domain/transfer.js';
import { postTransfers } from '../../src/services/ledger/adapters/store.js';

/**
 * A month of money movement, written straight into the tables a month of API traffic would leave:
 * payments' charges and refunds, the ledger's transfers (through the ledger's own flows and store),
 * and the sandbox processor's records its settlement reports are read from. Tens of thousands of
 * payments in seconds, where as many HTTP calls would take minutes. Deterministic from its seed.
 */

export interface MonthPlan {
  first_day: string;
  days: number;
  payments_per_day: number;
  merchants: readonly string[];
  seed: number;
}

export interface MonthFacts {
  charges: number;
  declined: number;
  refunds: number;
  failed_refunds: number;
  transfers: number;
}

const DAY_MS = 86_400_000;
/** Payments stay a minute clear of midnight: a capture's ledger time and the sandbox's differ by milliseconds. */
const EDGE_MS = 60_000;

interface ChargeRow {
  merchant_id: string;
  id: string;
  pi: string;
  status: string;
  amount: number;
  captured: number;
  refunded: number;
  currency: string;
  at_ms: number;
}
interface RefundRow {
  merchant_id: string;
  id: string;
  charge: ChargeRow;
  status: 'succeeded' | 'failed';
  amount: number;
  at_ms: number;
}

/** A small, fast, seeded generator (mulberry32): the same month for the same seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function writeMonth(pool: Pool, plan: MonthPlan): Promise<MonthFacts> {
  const next = random(plan.seed);
  const clock = new ManualClock(0);
  const ids = new UlidGenerator(clock);
  const start_ms = Date.parse(`${plan.first_day}T00:00:00Z`);
  const charges: ChargeRow[] = [];
  const refunds: RefundRow[] = [];
  for (let day = 0; day < plan.days; day++) {
    const times = Array.from({ length: plan.payments_per_day }, () => start_ms + day * DAY_MS + EDGE_MS + Math.floor(next() * (DAY_MS - 2 * EDGE_MS))).sort(
      (a, b) => a - b,
    );
    for (const at_ms of times) {
      clock.advance(at_ms - clock.now_ms());
      const amount = 100 + Math.floor(next() * 50_000);
      const declined = next() < 0.05;
      const charge: ChargeRow = {
        merchant_id: plan.merchants[Math.floor(next() * plan.merchants.length)] ?? '',
        id: ids.next('charge'),
        pi: ids.next('payment_intent'),
        status: declined ? 'failed' : 'succeeded',
        amount,
        captured: declined ? 0 : amount,
        refunded: 0,
        currency: next() < 0.8 ? 'usd' : 'eur',
        at_ms,
      };
      charges.push(charge);
      if (!declined && next() < 0.15) refunds.push(refundOf(charge, next, start_ms + plan.days * DAY_MS));
    }
  }
  // Ids carry their creation time and a generator never goes back in time: refunds get theirs in time order.
  const refund_clock = new ManualClock(0);
  const refund_ids = new UlidGenerator(refund_clock);
  for (const refund of refunds.sort((a, b) => a.at_ms - b.at_ms)) {
    refund_clock.advance(refund.at_ms - refund_clock.now_ms());
    refund.id = refund_ids.next('refund');
  }
  await insertPayments(pool, charges, refunds);
  await insertSandbox(pool, charges, refunds);
  const transfers = await postLedger(pool, charges, refunds);
  return {
    charges: charges.length,
    declined: charges.filter((c) => c.status === 'failed').length,
    refunds: refunds.length,
    failed_refunds: refunds.filter((r) => r.status === 'failed').length,
    transfers,
  };
}

/** A refund hours to days after its charge, within the month and clear of midnight; one in five partial, 3% failing. */
function refundOf(charge: ChargeRow, next: () => number, month_end_ms: number): RefundRow {
  const day_start = Math.floor(charge.at_ms / DAY_MS) * DAY_MS;
  const days_later = Math.min(Math.floor(next() * 4), Math.floor((month_end_ms - day_start) / DAY_MS) - 1);
  const at_ms = Math.max(charge.at_ms + 1, day_start + days_later * DAY_MS + EDGE_MS + Math.floor(next() * (DAY_MS - 2 * EDGE_MS)));
  const amount = next() < 0.2 ? Math.max(1, Math.floor(charge.captured / 2)) : charge.captured;
  const status = next() < 0.03 ? 'failed' : 'succeeded';
  if (status === 'succeeded') charge.refunded = amount;
  return { merchant_id: charge.merchant_id, id: '', charge, status, amount, at_ms };
}

async function insertPayments(pool: Pool, charges: readonly ChargeRow[], refunds: readonly RefundRow[]): Promise<void> {
  await pool.query(
    `INSERT INTO payments.charges (merchant_id, id, payment_intent_id, status, amount, amount_captured, amount_refunded, currency, created, version, state)
     SELECT m, i, p, s, a, c, r, cur, t, 1, '{}'::json FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::text[], $9::bigint[])
       AS x(m, i, p, s, a, c, r, cur, t)`,
    [
      charges.map((c) => c.merchant_id),
      charges.map((c) => c.id),
      charges.map((c) => c.pi),
      charges.map((c) => c.status),
      charges.map((c) => c.amount),
      charges.map((c) => c.captured),
      charges.map((c) => c.refunded),
      charges.map((c) => c.currency),
      charges.map((c) => Math.floor(c.at_ms / 1000)),
    ],
  );
  await pool.query(
    `INSERT INTO payments.refunds (merchant_id, id, charge_id, payment_intent_id, status, amount, currency, created, state)
     SELECT m, i, c, p, s, a, cur, t, '{}'::json FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::bigint[])
       AS x(m, i, c, p, s, a, cur, t)`,
    [
      refunds.map((r) => r.merchant_id),
      refunds.map((r) => r.id),
      refunds.map((r) => r.charge.id),
      refunds.map((r) => r.charge.pi),
      refunds.map((r) => r.status),
      refunds.map((r) => r.amount),
      refunds.map((r) => r.charge.currency),
      refunds.map((r) => Math.floor(r.at_ms / 1000)),
    ],
  );
}

/** The sandbox processor's own records: what its settlement reports are written from. */
async function insertSandbox(pool: Pool, charges: readonly ChargeRow[], refunds: readonly RefundRow[]): Promise<void> {
  const authorized = JSON.stringify({ outcome: 'authorized', captured: true, cvc_check: 'pass' });
  const declined = JSON.stringify({
    outcome: 'declined',
    code: 'card_declined',
    decline_code: 'generic_decline',
    message: 'Your card was declined.',
    cvc_check: 'pass',
  });
  await pool.query(
    `INSERT INTO sandbox.attempts (attempt_id, merchant_id, amount, currency, capture_requested, cvc_check, result, amount_captured, amount_refunded, created_at_ms)
     SELECT i, m, a, cur, true, 'pass', res::jsonb, c, r, t FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[])
       AS x(i, m, a, cur, res, c, r, t)`,
    [
      charges.map((c) => c.id),
      charges.map((c) => c.merchant_id),
      charges.map((c) => c.amount),
      charges.map((c) => c.currency),
      charges.map((c) => (c.status === 'failed' ? declined : authorized)),
      charges.map((c) => c.captured),
      charges.map((c) => c.refunded),
      charges.map((c) => c.at_ms),
    ],
  );
  await pool.query(
    `INSERT INTO sandbox.refunds (refund_id, attempt_id, merchant_id, outcome, amount, failure_message, created_at_ms)
     SELECT i, a, m, o, amt, f, t FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::bigint[]) AS x(i, a, m, o, amt, f, t)`,
    [
      refunds.map((r) => r.id),
      refunds.map((r) => r.charge.id),
      refunds.map((r) => r.merchant_id),
      refunds.map((r) => r.status),
      refunds.map((r) => (r.status === 'succeeded' ? r.amount : null)),
      refunds.map((r) => (r.status === 'failed' ? 'Refund failed at the card network.' : null)),
      refunds.map((r) => r.at_ms),
    ],
  );
}

/** The ledger's transfers, derived by its own flows from the events payments would have emitted. */
async function postLedger(pool: Pool, charges: readonly ChargeRow[], refunds: readonly RefundRow[]): Promise<number> {
  const events: LedgerEvent[] = [
    ...charges
      .filter((c) => c.captured > 0)
      .map((c) =>
        event(c.merchant_id, 'charge.succeeded', c.at_ms, {
          id: c.id,
          amount_captured: c.captured,
          captured: true,
          currency: c.currency,
          created: Math.floor(c.at_ms / 1000),
        }),
      ),
    ...refunds.map((r) =>
      event(r.merchant_id, 'refund.created', r.at_ms, {
        id: r.id,
        amount: r.amount,
        currency: r.charge.currency,
        created: Math.floor(r.at_ms / 1000),
        status: r.status,
      }),
    ),
  ];
  const transfers: TransferRequest[] = events.flatMap((e) => transfersForEvent(e, DEFAULT_TERMS, () => new Set()));
  for (let i = 0; i < transfers.length; i += 5_000) {
    const chunk = transfers.slice(i, i + 5_000);
    await withTransaction(pool, async (tx) => {
      const results = await postTransfers(tx, chunk);
      const refused = results.find((r) => r.result !== 'ok');
      if (refused) throw new Error(`ledger refused ${refused.id}: ${refused.result}`);
    });
  }
  return transfers.length;
}

let event_seq = 0;
function event(merchant_id: string, type: string, at_ms: number, object: Record<string, unknown>): LedgerEvent {
  event_seq += 1;
  return { id: `evt_month${String(event_seq).padStart(10, '0')}`, merchant_id, type, created: Math.floor(at_ms / 1000), data: { object } };
}
