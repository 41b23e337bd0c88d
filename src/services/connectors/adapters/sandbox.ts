/**
 * The bundled sandbox processor: Stripe's test cards decide the outcome (sandbox-decisions.ts), and
 * the processor's records live in PostgreSQL (schema `sandbox`), as a real processor keeps its own.
 * That record is what makes retried calls safe, across restarts and across API processes: a repeated
 * authorize, capture or refund returns the first answer instead of moving money twice, and a status
 * inquiry tells what became of an attempt whose answer was lost. Records hold no card data.
 *
 * Every call is one atomic statement (or a conditional write followed by a read that only explains a
 * refusal), so concurrent calls from any number of processes cannot authorize an attempt twice,
 * capture it twice, or refund beyond what was captured.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { assert, AssertionError } from '../../../kernel/assert.js';
import type { Clock } from '../../../kernel/clock.js';
import { systemClock } from '../../../kernel/clock.js';
import type { Pool } from '../../../platform/db.js';
import { isUniqueViolation, joinSql, run, sql } from '../../../platform/db.js';
import type {
  AttemptStatus,
  AuthorizeRequest,
  AuthorizeResult,
  CaptureResult,
  Connector,
  NotificationHandler,
  RefundResult,
  RefundStatus,
  VerifyRequest,
} from '../domain/port.js';
import type { AttemptRecord } from '../domain/sandbox-decisions.js';
import { sandboxSettlementReport } from './sandbox-settlement.js';
import { authenticate, captureRefusal, decide, disputeFor, fundsFor, isMovableAmount, refundRefusal } from '../domain/sandbox-decisions.js';
import { deliverSandboxNotifications, notifyDisputeOnCapture } from './sandbox-notifications.js';
import { AttemptRecorder } from './sandbox-attempts.js';

export interface SandboxOptions {
  /** The platform's pool; the sandbox reads and writes only its own schema, `sandbox`. */
  pool: Pool;
  /** Simulated network and processing time added to every processor call, before it reaches the record. */
  latency_ms?: number;
  /** Attempts and refunds older than this are purged (see `purge`). */
  retention_days?: number;
  clock?: Clock;
}

const DEFAULT_LATENCY_MS = 0;
export const DEFAULT_RETENTION_DAYS = 90;
/** Rows deleted per purge statement, so a purge never holds many row locks or a long transaction. */
export const PURGE_BATCH_SIZE = 1_000;
/** Batches per `purge` call; whatever remains is left for the next call. */
export const PURGE_MAX_BATCHES = 100;
const DAY_MS = 86_400_000;

export class SandboxProcessor implements Connector {
  readonly name = 'sandbox';
  private readonly pool: Pool;
  private readonly latency_ms: number;
  private readonly retention_ms: number;
  private readonly clock: Clock;
  private readonly attempts: AttemptRecorder;

  constructor(options: SandboxOptions) {
    this.pool = options.pool;
    this.latency_ms = options.latency_ms ?? DEFAULT_LATENCY_MS;
    const retention_days = options.retention_days ?? DEFAULT_RETENTION_DAYS;
    this.clock = options.clock ?? systemClock;
    this.attempts = new AttemptRecorder(this.pool);
    assert(Number.isInteger(this.latency_ms) && this.latency_ms >= 0, 'latency_ms must be a non-negative integer');
    assert(Number.isInteger(retention_days) && retention_days > 0, 'retention_days must be a positive integer');
    this.retention_ms = retention_days * DAY_MS;
  }

  /**
   * Decides a new attempt, or returns the stored first answer for a repeat (whatever card it carries).
   * One statement (shared with concurrent calls, see sandbox-attempts.ts): of concurrent calls for one
   * attempt id, from any process, one inserts and the rest wait on its row and get its answer. Each
   * call increments the attempt's `authorize_calls`.
   */
  async authorize(request: AuthorizeRequest): Promise<AuthorizeResult> {
    await this.simulateLatency();
    const set_up = request.off_session === true && request.initial_attempt_id ? await this.wasAuthorized(request.initial_attempt_id) : false;
    const decision = decide(request, set_up);
    // A dispute card's dispute is decided with the attempt and raised once money is captured.
    const dispute = decision.result.outcome === 'authorized' ? disputeFor(request.card.number) : null;
    return this.attempts.record({
      attempt_id: request.attempt_id,
      merchant_id: request.merchant_id,
      amount: request.amount,
      currency: request.currency,
      capture_requested: request.capture,
      cvc_check: decision.cvc_check,
      result: decision.result,
      amount_captured: decision.amount_captured,
      dispute,
      funds: fundsFor(request.card.number),
      created_at_ms: this.clock.now_ms(),
    });
  }

  /** A zero-amount authorization, recorded like any attempt: the customer is present, so 3-D Secure may be asked. */
  verify(request: VerifyRequest): Promise<AuthorizeResult> {
    return this.authorize({ ...request, amount: 0, capture: false });
  }

  /** Whether a stored credential names an attempt this processor authorized (a verification or a payment). */
  private async wasAuthorized(attempt_id: string): Promise<boolean> {
    const record = await this.attempt(attempt_id);
    return record?.result.outcome === 'authorized';
  }

  async completeAuthentication(attempt_id: string, authenticated: boolean): Promise<AuthorizeResult> {
    await this.simulateLatency();
    const record = await this.attempt(attempt_id);
    assert(record !== undefined, `no sandbox attempt ${attempt_id}`);
    if (record.result.outcome !== 'requires_action') return record.result;
    assert(!record.voided, `attempt ${attempt_id} was voided before authentication finished`);
    const decision = authenticate(record, authenticated);
    const completed = await run<{ result: AuthorizeResult }>(
      this.pool,
      sql`
      UPDATE sandbox.attempts SET result = ${JSON.stringify(decision.result)}::jsonb, amount_captured = ${decision.amount_captured},
        captured_at_ms = CASE WHEN ${decision.amount_captured}::bigint > 0 THEN ${this.clock.now_ms()}::bigint END
      WHERE attempt_id = ${attempt_id} AND outcome = 'requires_action' AND NOT voided
      RETURNING result`,
    );
    if (completed.rows[0]) return completed.rows[0].result;
    // A concurrent call settled or voided the attempt first; a settled answer stands.
    const settled = await this.attempt(attempt_id);
    assert(settled !== undefined && settled.result.outcome !== 'requires_action', `attempt ${attempt_id} was voided before authentication finished`);
    return settled.result;
  }

  async capture(attempt_id: string, amount: number): Promise<CaptureResult> {
    await this.simulateLatency();
    if (isMovableAmount(amount)) {
      const captured = await run(
        this.pool,
        joinSql(
          [
            sql`
        WITH attempt AS (
          UPDATE sandbox.attempts SET amount_captured = ${amount}, captured_at_ms = ${this.clock.now_ms()}
          WHERE attempt_id = ${attempt_id} AND outcome = 'authorized' AND NOT capture_requested
            AND amount_captured = 0 AND NOT voided AND amount >= ${amount}
          RETURNING *),`,
            notifyDisputeOnCapture(this.clock.now_ms()),
            sql`
        SELECT attempt_id FROM attempt`,
          ],
          ' ',
        ),
      );
      if (captured.rowCount === 1) return { outcome: 'captured', amount_captured: amount };
    }
    // Nothing moved: say why, or repeat the first capture's answer.
    return captureRefusal(await this.attempt(attempt_id));
  }

  /** Releases an uncaptured authorization; a second void is a no-op. */
  async void(attempt_id: string): Promise<void> {
    await this.simulateLatency();
    const voided = await run(
      this.pool,
      sql`
      UPDATE sandbox.attempts SET voided = true
      WHERE attempt_id = ${attempt_id} AND outcome <> 'declined' AND amount_captured = 0 AND NOT voided
      RETURNING attempt_id`,
    );
    if (voided.rowCount === 1) return;
    // Otherwise there is nothing to release (unknown, declined, already voided) unless money was captured.
    const record = await this.attempt(attempt_id);
    if (record && record.amount_captured > 0) throw new AssertionError(`attempt ${attempt_id} is captured; refund it instead`);
  }

  /** Refunds part of the captured amount once per refund id; a repeat returns the first answer. */
  async refund(refund_id: string, attempt_id: string, amount: number): Promise<RefundResult> {
    await this.simulateLatency();
    const earlier = await this.storedRefund(refund_id);
    if (earlier) return earlier;
    if (isMovableAmount(amount)) {
      const refunded = await this.refundIfCovered(refund_id, attempt_id, amount);
      if (refunded) return refunded;
    }
    return this.recordRefusal(refund_id, attempt_id);
  }

  /** Status inquiry: the record of an attempt, changing nothing. */
  async attemptStatus(attempt_id: string): Promise<AttemptStatus> {
    await this.simulateLatency();
    const record = await this.attempt(attempt_id);
    if (!record) return { found: false };
    const { result, amount_captured, amount_refunded, voided } = record;
    return { found: true, result, amount_captured, amount_refunded, voided };
  }

  /** Status inquiry for a refund, changing nothing. */
  async refundStatus(refund_id: string): Promise<RefundStatus> {
    await this.simulateLatency();
    const result = await this.storedRefund(refund_id);
    return result ? { found: true, ...result } : { found: false };
  }

  /** The day's settlement report, from the sandbox's records (adapters/sandbox-settlement.ts); see the port. */
  settlementReport(batch_date: string): Promise<AsyncIterable<string> | null> {
    return sandboxSettlementReport(this.pool, batch_date);
  }

  /** Hands the sandbox's unacknowledged notifications (disputes) to `handle`; see the port. */
  deliverNotifications(handle: NotificationHandler, limit: number): Promise<number> {
    return deliverSandboxNotifications(this.pool, this.name, handle, limit, this.clock.now_ms());
  }

  /** Attempts decided (stored); repeats of an attempt id do not count. Read from the shared record. */
  async authorizations(): Promise<number> {
    const counted = await run<{ attempts: number }>(this.pool, sql`SELECT count(*) AS attempts FROM sandbox.attempts`);
    return onlyRow(counted.rows).attempts;
  }

  /** How many authorize calls an attempt id received, repeats included; 0 when none. */
  async authorizeCalls(attempt_id: string): Promise<number> {
    const found = await run<{ authorize_calls: number }>(
      this.pool,
      sql`
      SELECT authorize_calls FROM sandbox.attempts WHERE attempt_id = ${attempt_id}`,
    );
    return found.rows[0]?.authorize_calls ?? 0;
  }

  /**
   * Deletes attempts and refunds older than the retention, in batches of `batch_size` rows, at most
   * PURGE_MAX_BATCHES per call; returns the rows deleted. Nothing schedules it yet: the caller does.
   * A purged attempt is forgotten, so an authorize repeated after the retention would be decided anew.
   */
  async purge(now_ms: number, batch_size = PURGE_BATCH_SIZE): Promise<number> {
    assert(Number.isInteger(batch_size) && batch_size >= 1 && batch_size <= PURGE_BATCH_SIZE, 'purge batch size out of range');
    const cutoff_ms = now_ms - this.retention_ms;
    let deleted = 0;
    for (let batch = 0; batch < PURGE_MAX_BATCHES; batch += 1) {
      const attempts = await run(
        this.pool,
        sql`DELETE FROM sandbox.attempts WHERE attempt_id IN (
        SELECT attempt_id FROM sandbox.attempts WHERE created_at_ms < ${cutoff_ms} LIMIT ${batch_size})`,
      );
      const refunds = await run(
        this.pool,
        sql`DELETE FROM sandbox.refunds WHERE refund_id IN (
        SELECT refund_id FROM sandbox.refunds WHERE created_at_ms < ${cutoff_ms} LIMIT ${batch_size})`,
      );
      const attempts_deleted = attempts.rowCount ?? 0;
      const refunds_deleted = refunds.rowCount ?? 0;
      deleted += attempts_deleted + refunds_deleted;
      if (attempts_deleted < batch_size && refunds_deleted < batch_size) break;
    }
    return deleted;
  }

  /**
   * Moves the refund and records it in one statement, if the unrefunded amount covers it. The row lock
   * on the attempt orders concurrent refunds, and each re-checks what remains after the one before.
   */
  private async refundIfCovered(refund_id: string, attempt_id: string, amount: number): Promise<RefundResult | undefined> {
    try {
      const refunded = await run(
        this.pool,
        sql`
        WITH covered AS (
          UPDATE sandbox.attempts SET amount_refunded = amount_refunded + ${amount}
          WHERE attempt_id = ${attempt_id} AND amount_captured - amount_refunded >= ${amount}
          RETURNING merchant_id)
        INSERT INTO sandbox.refunds (refund_id, attempt_id, merchant_id, outcome, amount, created_at_ms)
        SELECT ${refund_id}::text, ${attempt_id}::text, merchant_id, 'succeeded', ${amount}::bigint, ${this.clock.now_ms()}::bigint
        FROM covered
        RETURNING refund_id`,
      );
      return refunded.rowCount === 1 ? { outcome: 'succeeded' } : undefined;
    } catch (error) {
      // A concurrent call with this refund id recorded first; this statement, refund included, rolled back.
      if (isUniqueViolation(error)) return this.recordedRefund(refund_id);
      throw error;
    }
  }

  /** Records why a refund moved nothing, unless a concurrent call with this refund id answered first. */
  private async recordRefusal(refund_id: string, attempt_id: string): Promise<RefundResult> {
    const record = await this.attempt(attempt_id);
    const refusal = refundRefusal(record);
    const recorded = await run(
      this.pool,
      sql`
      INSERT INTO sandbox.refunds (refund_id, attempt_id, merchant_id, outcome, failure_message, created_at_ms)
      VALUES (${refund_id}, ${attempt_id}, ${record?.merchant_id ?? null}, 'failed', ${refusal.message}, ${this.clock.now_ms()})
      ON CONFLICT (refund_id) DO NOTHING
      RETURNING refund_id`,
    );
    return recorded.rowCount === 1 ? refusal : this.recordedRefund(refund_id);
  }

  private async attempt(attempt_id: string): Promise<AttemptRecord | undefined> {
    const found = await run<AttemptRecord>(
      this.pool,
      sql`
      SELECT merchant_id, amount, currency, capture_requested, cvc_check, result, amount_captured, amount_refunded, voided, funds
      FROM sandbox.attempts WHERE attempt_id = ${attempt_id}`,
    );
    return found.rows[0];
  }

  private async storedRefund(refund_id: string): Promise<RefundResult | undefined> {
    const found = await run<{ outcome: 'succeeded' | 'failed'; failure_message: string | null }>(
      this.pool,
      sql`
      SELECT outcome, failure_message FROM sandbox.refunds WHERE refund_id = ${refund_id}`,
    );
    const row = found.rows[0];
    if (!row) return undefined;
    return row.outcome === 'succeeded' ? { outcome: 'succeeded' } : { outcome: 'failed', message: row.failure_message ?? '' };
  }

  /** A refund another call has just recorded: it must be there. */
  private async recordedRefund(refund_id: string): Promise<RefundResult> {
    const result = await this.storedRefund(refund_id);
    assert(result !== undefined, `refund ${refund_id} conflicted but is not recorded`);
    return result;
  }

  private async simulateLatency(): Promise<void> {
    if (this.latency_ms > 0) await sleep(this.latency_ms);
  }
}

function onlyRow<R>(rows: readonly R[]): R {
  const row = rows[0];
  assert(rows.length === 1 && row !== undefined, 'expected exactly one row');
  return row;
}
