import { stringify } from 'csv-stringify/sync';
import { assert } from '../../../kernel/assert.js';
import { currencyInfo } from '../../../kernel/money.js';
import type { Pool, SqlFragment } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { ProcessorFees } from '../domain/sandbox-settlement.js';
import { NO_FEES, batchDay, creationDate, sandboxCaptureFees, sandboxRefundFees, totalFees } from '../domain/sandbox-settlement.js';
import { SETTLEMENT_REPORT_COLUMNS } from '../domain/settlement-report-columns.js';

/**
 * The sandbox's settlement report for one day, read from its own records (captures by their capture
 * time, succeeded refunds by theirs, chargebacks by the time the sandbox raised the dispute; inquiries
 * move no money and have no line), written as Adyen's Settlement details report CSV: the format a
 * real Adyen connector would pass through unchanged. The settlement service parses it
 * (src/services/settlement) and a test checks that this writer and that reader agree.
 */
export const SANDBOX_COMPANY_ACCOUNT = 'PayrailSandbox';
/** Records read per query, and written per chunk: a busy day streams without being held in memory. */
const PAGE_SIZE = 2_000;

interface Movement {
  kind: 'capture' | 'refund' | 'chargeback';
  id: string;
  attempt_id: string;
  merchant_id: string;
  currency: string;
  amount: number;
  at_ms: number;
}

/** The report for `batch_date`, or null when the sandbox moved no money that day. */
export async function sandboxSettlementReport(pool: Pool, batch_date: string): Promise<AsyncIterable<string> | null> {
  const day = batchDay(batch_date);
  assert(day !== undefined, `batch date ${batch_date} must be YYYY-MM-DD`);
  const any = await run<{ any: boolean }>(
    pool,
    sql`SELECT EXISTS (SELECT 1 FROM sandbox.attempts WHERE captured_at_ms >= ${day.start_ms} AND captured_at_ms < ${day.end_ms})
      OR EXISTS (SELECT 1 FROM sandbox.refunds WHERE outcome = 'succeeded' AND created_at_ms >= ${day.start_ms} AND created_at_ms < ${day.end_ms})
      OR EXISTS (SELECT 1 FROM sandbox.notifications WHERE type = 'dispute.opened' AND coalesce((data->>'inquiry')::boolean, false) = false
        AND created_at_ms >= ${day.start_ms} AND created_at_ms < ${day.end_ms}) AS any`,
  );
  if (any.rows[0]?.any !== true) return null;
  return reportChunks(pool, day.start_ms, day.end_ms, day.batch_number);
}

async function* reportChunks(pool: Pool, start_ms: number, end_ms: number, batch_number: number): AsyncGenerator<string> {
  yield stringify([SETTLEMENT_REPORT_COLUMNS]);
  // Net per merchant account and currency, for the payout lines that close the batch.
  const nets = new Map<string, { merchant_id: string; currency: string; net: number; at_ms: number }>();
  for (const kind of ['capture', 'refund', 'chargeback'] as const) {
    for await (const page of movements(pool, kind, start_ms, end_ms)) {
      const records = page.map((movement) => {
        const fees = kind === 'capture' ? sandboxCaptureFees(movement.amount) : kind === 'refund' ? sandboxRefundFees() : NO_FEES;
        const net = kind === 'capture' ? movement.amount - totalFees(fees) : -(movement.amount + totalFees(fees));
        const key = `${movement.merchant_id}\u0000${movement.currency}`;
        const total = nets.get(key) ?? { merchant_id: movement.merchant_id, currency: movement.currency, net: 0, at_ms: 0 };
        nets.set(key, { ...total, net: total.net + net, at_ms: Math.max(total.at_ms, movement.at_ms) });
        return movementRecord(movement, fees, net, batch_number);
      });
      yield stringify(records);
    }
  }
  const payouts = [...nets.values()].sort((a, b) =>
    a.merchant_id < b.merchant_id ? -1 : a.merchant_id > b.merchant_id ? 1 : a.currency < b.currency ? -1 : 1,
  );
  yield stringify(payouts.map((payout) => payoutRecord(payout, batch_number)));
}

/** A capture (Settled), a refund (Refunded) or a chargeback, as Adyen writes them: gross and net in separate debit and credit columns. */
function movementRecord(movement: Movement, fees: ProcessorFees, net: number, batch_number: number): string[] {
  const money = (minor: number) => major(minor, movement.currency);
  const currency = movement.currency.toUpperCase();
  const settled = movement.kind === 'capture';
  return [
    SANDBOX_COMPANY_ACCOUNT,
    movement.merchant_id,
    movement.attempt_id,
    movement.attempt_id,
    'card',
    creationDate(movement.at_ms),
    'UTC',
    settled ? 'Settled' : movement.kind === 'refund' ? 'Refunded' : 'Chargeback',
    movement.id,
    currency,
    settled ? '' : money(movement.amount),
    settled ? money(movement.amount) : '',
    '1',
    currency,
    net < 0 ? money(-net) : '',
    net >= 0 ? money(net) : '',
    money(fees.commission),
    fees.markup > 0 ? money(fees.markup) : '',
    fees.scheme_fees > 0 ? money(fees.scheme_fees) : '',
    fees.interchange > 0 ? money(fees.interchange) : '',
    'card',
    settled ? movement.attempt_id : movement.id,
    String(batch_number),
  ];
}

/**
 * The batch's net paid into the bank (Net Debit: it leaves the processor), or, when refunds and fees
 * exceeded the day's captures, collected from it (Net Credit).
 */
function payoutRecord(payout: { merchant_id: string; currency: string; net: number; at_ms: number }, batch_number: number): string[] {
  const money = (minor: number) => major(minor, payout.currency);
  const currency = payout.currency.toUpperCase();
  const blank = (n: number) => Array<string>(n).fill('');
  return [
    SANDBOX_COMPANY_ACCOUNT,
    payout.merchant_id,
    ...blank(3),
    creationDate(payout.at_ms),
    'UTC',
    'MerchantPayout',
    ...blank(5),
    currency,
    payout.net >= 0 ? money(payout.net) : '',
    payout.net < 0 ? money(-payout.net) : '',
    ...blank(6),
    String(batch_number),
  ];
}

async function* movements(pool: Pool, kind: Movement['kind'], start_ms: number, end_ms: number): AsyncGenerator<Movement[]> {
  let after: [number, string] = [start_ms - 1, ''];
  for (;;) {
    const page = await run<Movement>(pool, movementQuery(kind, end_ms, after));
    if (page.rows.length > 0) yield page.rows;
    const last = page.rows[page.rows.length - 1];
    if (!last || page.rows.length < PAGE_SIZE) return;
    after = [last.at_ms, last.id];
  }
}

/** One page of a day's movements of one kind, in time order, after the keyset `after`. */
function movementQuery(kind: Movement['kind'], end_ms: number, after: [number, string]): SqlFragment {
  if (kind === 'capture')
    return sql`
      SELECT 'capture' AS kind, attempt_id AS id, attempt_id, merchant_id, currency, amount_captured AS amount, captured_at_ms AS at_ms
      FROM sandbox.attempts
      WHERE captured_at_ms < ${end_ms} AND (captured_at_ms, attempt_id) > (${after[0]}, ${after[1]})
      ORDER BY captured_at_ms, attempt_id LIMIT ${PAGE_SIZE}`;
  if (kind === 'refund')
    return sql`
      SELECT 'refund' AS kind, r.refund_id AS id, r.attempt_id, a.merchant_id, a.currency, r.amount, r.created_at_ms AS at_ms
      FROM sandbox.refunds r JOIN sandbox.attempts a ON a.attempt_id = r.attempt_id
      WHERE r.outcome = 'succeeded' AND r.created_at_ms < ${end_ms} AND (r.created_at_ms, r.refund_id) > (${after[0]}, ${after[1]})
      ORDER BY r.created_at_ms, r.refund_id LIMIT ${PAGE_SIZE}`;
  // A chargeback takes the disputed amount back at once; an inquiry moves no money.
  return sql`
    SELECT 'chargeback' AS kind, id, attempt_id, merchant_id, data->>'currency' AS currency, (data->>'amount')::bigint AS amount, created_at_ms AS at_ms
    FROM sandbox.notifications
    WHERE type = 'dispute.opened' AND coalesce((data->>'inquiry')::boolean, false) = false
      AND created_at_ms < ${end_ms} AND (created_at_ms, id) > (${after[0]}, ${after[1]})
    ORDER BY created_at_ms, id LIMIT ${PAGE_SIZE}`;
}

function major(minor: number, currency: string): string {
  const exponent = currencyInfo(currency)?.exponent ?? 2;
  if (exponent === 0) return String(minor);
  const digits = String(minor).padStart(exponent + 1, '0');
  return `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}
