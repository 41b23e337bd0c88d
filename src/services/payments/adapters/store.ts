import type { Db, SqlFragment } from '../../../platform/db.js';
import { joinSql, run, sql } from '../../../platform/db.js';
import { statementName } from '../../../platform/statement-cache.js';
import { leaseAlive } from '../../../platform/write/lease.js';
import type { RowsWrite } from '../../../platform/row-writes.js';
import { insertShape, rowsWrite, updateShape } from '../../../platform/row-writes.js';
import { PayrailError } from '../../../kernel/errors.js';
import { assert } from '../../../kernel/assert.js';
import type { PaymentIntent } from '../domain/intent.js';
import { checkIntent } from '../domain/intent.js';
import type { Charge, Refund } from '../domain/charge.js';
import { checkCharge } from '../domain/charge.js';
import type { Customer } from '../domain/customer.js';

/** SQL for the payments schema. Writes are fragments, so a use case can commit them together. */

const INTENT_COLUMNS = {
  customer_id: 'text',
  status: 'text',
  amount: 'bigint',
  amount_received: 'bigint',
  currency: 'text',
  version: 'int',
  state: 'json',
} as const;
const INSERT_INTENT = insertShape('payments.payment_intents', { merchant_id: 'text', id: 'text', created: 'bigint', ...INTENT_COLUMNS });
const UPDATE_INTENT = updateShape('payments.payment_intents', { set: INTENT_COLUMNS, key: { merchant_id: 'text', id: 'text' }, expected: { version: 'int' } });

const intentColumns = (intent: PaymentIntent) =>
  [intent.customer, intent.status, intent.amount, intent.amount_received, intent.currency, intent.version, JSON.stringify(intent)] as const;

export function insertIntent(intent: PaymentIntent): RowsWrite {
  checkIntent(intent);
  return rowsWrite(INSERT_INTENT, [[intent.merchant_id, intent.id, intent.created, ...intentColumns(intent)]]);
}

/** Affects no row unless the stored version is still the one `intent` was derived from. */
export function updateIntent(intent: PaymentIntent, previous_version: number): RowsWrite {
  checkIntent(intent);
  return rowsWrite(UPDATE_INTENT, [[...intentColumns(intent), intent.merchant_id, intent.id, previous_version]]);
}

const INSERT_CHARGE = insertShape('payments.charges', {
  merchant_id: 'text',
  id: 'text',
  payment_intent_id: 'text',
  customer_id: 'text',
  status: 'text',
  amount: 'bigint',
  amount_captured: 'bigint',
  amount_refunded: 'bigint',
  currency: 'text',
  created: 'bigint',
  version: 'int',
  state: 'json',
});

export function insertCharge(charge: Charge): RowsWrite {
  checkCharge(charge);
  const { merchant_id, id, payment_intent, customer, status, amount, amount_captured, amount_refunded, currency, created, version } = charge;
  return rowsWrite(INSERT_CHARGE, [
    [merchant_id, id, payment_intent, customer, status, amount, amount_captured, amount_refunded, currency, created, version, JSON.stringify(charge)],
  ]);
}

export function updateCharge(charge: Charge, previous_version: number): SqlFragment {
  checkCharge(charge);
  return sql`UPDATE payments.charges SET status = ${charge.status}, amount_captured = ${charge.amount_captured}, amount_refunded = ${charge.amount_refunded},
    customer_id = ${charge.customer}, version = ${charge.version}, state = ${JSON.stringify(charge)}::json
    WHERE merchant_id = ${charge.merchant_id} AND id = ${charge.id} AND version = ${previous_version}`;
}

export function insertRefund(refund: Refund): SqlFragment {
  return sql`INSERT INTO payments.refunds (merchant_id, id, charge_id, payment_intent_id, status, amount, currency, created, state)
    VALUES (${refund.merchant_id}, ${refund.id}, ${refund.charge}, ${refund.payment_intent}, ${refund.status}, ${refund.amount}, ${refund.currency}, ${refund.created}, ${JSON.stringify(refund)}::json)`;
}

/**
 * Only a pending refund may be answered: a second answer (a retry racing the sweeper) fails the guard.
 * Only the answer's fields are written, so metadata changed meanwhile (`POST /v1/refunds/:id`) stays.
 */
export function answerRefund(refund: Refund): SqlFragment {
  return sql`UPDATE payments.refunds SET status = ${refund.status},
    state = (state::jsonb || jsonb_build_object('status', ${refund.status}::text, 'failure_reason', ${refund.failure_reason}::text))::json
    WHERE merchant_id = ${refund.merchant_id} AND id = ${refund.id} AND status = 'pending'`;
}

/** Affects no row unless the metadata is still what the change was derived from (refunds carry no version). */
export function updateRefundMetadata(refund: Refund, previous_metadata: Record<string, string>): SqlFragment {
  return sql`UPDATE payments.refunds SET state = (state::jsonb || jsonb_build_object('metadata', ${JSON.stringify(refund.metadata)}::jsonb))::json
    WHERE merchant_id = ${refund.merchant_id} AND id = ${refund.id} AND state::jsonb -> 'metadata' = ${JSON.stringify(previous_metadata)}::jsonb`;
}

export type ProcessorCallKind = 'authorize' | 'refund';

/** Journals a call to the processor before it is made (see migration payments/002). */
export interface ProcessorCall {
  merchant_id: string;
  /** The charge id of an authorization, the refund id of a refund: the id the processor knows. */
  id: string;
  kind: ProcessorCallKind;
  payment_intent_id: string;
}

const INSERT_PROCESSOR_CALL = insertShape(
  'payments.processor_calls',
  { merchant_id: 'text', id: 'text', kind: 'text', payment_intent_id: 'text', holder_lease: 'int', created_ms: 'bigint' },
  { status: "'pending'" },
);

export function insertProcessorCall(call: ProcessorCall, holder_lease: number | null, now_ms: number): RowsWrite {
  return rowsWrite(INSERT_PROCESSOR_CALL, [[call.merchant_id, call.id, call.kind, call.payment_intent_id, holder_lease, now_ms]]);
}

/**
 * Hands a pending call to the sweeper at once: after a throw its outcome is unknown and its request has
 * given up, so no live holder is left to wait for (lease key 0 is never taken: keys start at 1).
 */
export function orphanProcessorCall(merchant_id: string, id: string): SqlFragment {
  return sql`UPDATE payments.processor_calls SET holder_lease = 0 WHERE merchant_id = ${merchant_id} AND id = ${id} AND status = 'pending'`;
}

// The expected status is a value, not a constant: the partial index of pending calls (whose entries
// stay until vacuum) then never looks like the way to find a call.
const ANSWER_PROCESSOR_CALL = updateShape('payments.processor_calls', {
  set: {},
  set_constants: { status: "'answered'" },
  key: { merchant_id: 'text', id: 'text' },
  expected: { status: 'text' },
});

/**
 * Affects no row unless the call is still pending: exactly one answer is ever recorded. The sweeper
 * passes the holder it found, so its answer loses to a retry that took the call over meanwhile.
 */
export function answerProcessorCall(merchant_id: string, id: string, seen_holder?: number | null): SqlFragment {
  if (seen_holder === undefined) return rowsWrite(ANSWER_PROCESSOR_CALL, [[merchant_id, id, 'pending']]);
  return sql`UPDATE payments.processor_calls SET status = 'answered'
    WHERE merchant_id = ${merchant_id} AND id = ${id} AND status = 'pending' AND holder_lease IS NOT DISTINCT FROM ${seen_holder}::int`;
}

/**
 * Takes a pending call over for a request about to send it again (or ask again), or puts an answered
 * call back in flight (3-D Secure completion): from then on the sweeper leaves it to this holder.
 */
export function takeProcessorCall(merchant_id: string, id: string, holder_lease: number | null, now_ms: number, from: 'pending' | 'answered'): SqlFragment {
  return sql`UPDATE payments.processor_calls SET status = 'pending', holder_lease = ${holder_lease}, created_ms = ${now_ms}
    WHERE merchant_id = ${merchant_id} AND id = ${id} AND status = ${from}`;
}

/**
 * Pending calls nobody waits for any more: their caller's process is gone (its lease ended) and they
 * are older than `settle_after_ms`, or they are older than `abandon_after_ms` whoever holds them.
 */
/** Seconds since the oldest call still waiting for its answer to be recorded; 0 when there is none. */
export async function oldestUnsettledCallAge(db: Db, now_ms: number): Promise<number> {
  const result = await run<{ oldest_ms: number | null }>(db, sql`SELECT min(created_ms) AS oldest_ms FROM payments.processor_calls WHERE status = 'pending'`);
  const oldest_ms = result.rows[0]?.oldest_ms ?? null;
  return oldest_ms === null ? 0 : Math.max(0, Math.floor((now_ms - oldest_ms) / 1000));
}

export interface OrphanedCall extends ProcessorCall {
  created_ms: number;
  holder_lease: number | null;
}

export async function orphanedCalls(
  db: Db,
  now_ms: number,
  limits: { settle_after_ms: number; abandon_after_ms: number; batch: number },
  own: { lease: number | null; in_flight: readonly string[]; refused: readonly string[] },
): Promise<OrphanedCall[]> {
  const result = await run<OrphanedCall>(
    db,
    joinSql(
      [
        sql`SELECT merchant_id, id, kind, payment_intent_id, created_ms, holder_lease FROM payments.processor_calls
      WHERE status = 'pending' AND created_ms <= ${now_ms - limits.settle_after_ms}
        AND (created_ms <= ${now_ms - limits.abandon_after_ms}
          OR (holder_lease = ${own.lease} OR id = ANY(${own.refused}::text[])) AND NOT (id = ANY(${own.in_flight}::text[]))
          OR holder_lease IS NOT NULL AND NOT`,
        leaseAlive('holder_lease'),
        sql`) ORDER BY created_ms LIMIT ${limits.batch}`,
      ],
      ' ',
    ),
  );
  return result.rows;
}

/** One authorization journaled as pending whose caller is gone (a lost answer): what a processor's notification may settle at once. */
export async function orphanedAuthorization(db: Db, merchant_id: string, id: string): Promise<OrphanedCall | undefined> {
  const result = await run<OrphanedCall>(
    db,
    joinSql(
      [
        sql`SELECT merchant_id, id, kind, payment_intent_id, created_ms, holder_lease FROM payments.processor_calls
      WHERE merchant_id = ${merchant_id} AND id = ${id} AND kind = 'authorize' AND status = 'pending' AND holder_lease IS NOT NULL AND NOT`,
        leaseAlive('holder_lease'),
      ],
      ' ',
    ),
  );
  return result.rows[0];
}

export function insertCustomer(customer: Customer): SqlFragment {
  return sql`INSERT INTO payments.customers (merchant_id, id, email, deleted, test_clock, created, version, state)
    VALUES (${customer.merchant_id}, ${customer.id}, ${customer.email}, false, ${customer.test_clock ?? null}, ${customer.created}, ${customer.version},
      ${JSON.stringify(customer)}::json)`;
}

export function updateCustomer(customer: Customer, previous_version: number, deleted = false): SqlFragment {
  return sql`UPDATE payments.customers SET email = ${customer.email}, deleted = ${deleted}, version = ${customer.version}, state = ${JSON.stringify(customer)}::json
    WHERE merchant_id = ${customer.merchant_id} AND id = ${customer.id} AND version = ${previous_version} AND NOT deleted`;
}

const TABLES = {
  payment_intent: 'payments.payment_intents',
  charge: 'payments.charges',
  refund: 'payments.refunds',
  customer: 'payments.customers',
} as const;

type Kind = keyof typeof TABLES;

/** Each kind's read by key. Prepared: its one plan (the primary key) fits every id, and planning it each time cost more than running it. */
const LOAD_STATE_TEXTS = Object.fromEntries(
  Object.entries(TABLES).map(([kind, table]) => [
    kind,
    `SELECT state${kind === 'refund' ? '' : ', version'} FROM ${table} WHERE merchant_id = $1 AND id = $2${kind === 'customer' ? ' AND NOT deleted' : ''}`,
  ]),
) as Record<Kind, string>;

/** No row locks: writers check versions instead, so nothing is ever held across a call to the outside. */
async function loadState<T>(db: Db, kind: Kind, merchant_id: string, id: string): Promise<T | undefined> {
  const text = LOAD_STATE_TEXTS[kind];
  const result = await db.query<{ state: T & { version?: number }; version?: number }>({ name: statementName(text), text, values: [merchant_id, id] });
  const row = result.rows[0];
  if (!row) return undefined;
  if (row.version !== undefined) assert(row.state.version === row.version, `${kind} ${id}: stored state and version column disagree`);
  return row.state;
}

function missing(kind: Kind, id: string, param: string | undefined): PayrailError {
  return new PayrailError('resource_missing', { param, message: `No such ${kind}: '${id.slice(0, 64)}'` });
}

export async function getIntent(db: Db, merchant_id: string, id: string, param?: string): Promise<PaymentIntent> {
  const intent = await loadState<PaymentIntent>(db, 'payment_intent', merchant_id, id);
  if (!intent) throw missing('payment_intent', id, param);
  return checkIntent(intent);
}

/** The charge, or undefined when no attempt with this id was ever answered. */
export async function findCharge(db: Db, merchant_id: string, id: string): Promise<Charge | undefined> {
  const charge = await loadState<Charge>(db, 'charge', merchant_id, id);
  return charge && checkCharge(charge);
}

export async function getCharge(db: Db, merchant_id: string, id: string, param?: string): Promise<Charge> {
  const charge = await loadState<Charge>(db, 'charge', merchant_id, id);
  if (!charge) throw missing('charge', id, param);
  return checkCharge(charge);
}

export async function getRefund(db: Db, merchant_id: string, id: string): Promise<Refund> {
  const refund = await findRefund(db, merchant_id, id);
  if (!refund) throw missing('refund', id, undefined);
  return refund;
}

export function findRefund(db: Db, merchant_id: string, id: string): Promise<Refund | undefined> {
  return loadState<Refund>(db, 'refund', merchant_id, id);
}

/** The intent, or undefined when there is none (a request that died before creating it). */
export async function findIntent(db: Db, merchant_id: string, id: string): Promise<PaymentIntent | undefined> {
  const intent = await loadState<PaymentIntent>(db, 'payment_intent', merchant_id, id);
  return intent && checkIntent(intent);
}

export async function getCustomer(db: Db, merchant_id: string, id: string, param?: string): Promise<Customer> {
  const customer = await loadState<Customer>(db, 'customer', merchant_id, id);
  if (!customer) throw missing('customer', id, param);
  return customer;
}

/** True for a customer that existed and was deleted (Stripe still answers with a `deleted` stub). */
export async function customerWasDeleted(db: Db, merchant_id: string, id: string): Promise<boolean> {
  const result = await run(db, sql`SELECT 1 FROM payments.customers WHERE merchant_id = ${merchant_id} AND id = ${id} AND deleted`);
  return result.rowCount === 1;
}

export async function chargesOfIntent(db: Db, merchant_id: string, intent_id: string): Promise<Charge[]> {
  const result = await run<{ state: Charge }>(
    db,
    sql`SELECT state FROM payments.charges WHERE merchant_id = ${merchant_id} AND payment_intent_id = ${intent_id} ORDER BY id DESC LIMIT 100`,
  );
  return result.rows.map((row) => checkCharge(row.state));
}

export async function refundsOfCharge(db: Db, merchant_id: string, charge_id: string, limit: number): Promise<Refund[]> {
  const result = await run<{ state: Refund }>(
    db,
    sql`SELECT state FROM payments.refunds WHERE merchant_id = ${merchant_id} AND charge_id = ${charge_id} ORDER BY id DESC LIMIT ${limit}`,
  );
  return result.rows.map((row) => row.state);
}
