import type { Logger } from '../../../platform/logger.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { WriteDeps } from '../../../platform/write/pipeline.js';
import { execute } from '../../../platform/write/pipeline.js';
import type { OrphanedCall } from '../adapters/store.js';
import { findIntent, findRefund, oldestUnsettledCallAge, orphanedAuthorization, orphanedCalls } from '../adapters/store.js';
import type { PaymentsDeps } from './deps.js';
import type { WhenUnknown } from './attempt.js';
import { AttemptStillOpen } from './attempt.js';
import { settleOpenAttempt } from './open-attempts.js';
import { settleOpenRefund } from './charges.js';
import { callsInFlight, forgetHandOver, refusedHandOvers } from './calls-in-flight.js';

/**
 * The sweeper: settles processor calls whose caller is gone (a crash, a lost connection) and that no
 * retry has settled, by asking the processor — so an authorization the processor made is recorded
 * (charge, ledger, webhooks) even when the client never comes back, and one it never made is failed.
 */
export const ORPHAN_LIMITS = {
  /** A call younger than this may still be answered by its own request (a dead holder's lease ends at once). */
  settle_after_ms: 2_000,
  /** Past this even a live holder is presumed stuck: longer than any processor call may take. */
  abandon_after_ms: 10 * 60 * 1000,
  /**
   * How long a call the processor never heard of is left for the client's retry to send again (the
   * SDKs retry within seconds) before the sweeper records it as failed.
   */
  resend_window_ms: 30_000,
  /** Calls settled per sweep; the next sweep takes the rest. */
  batch: 200,
} as const;

export interface SweepResult {
  settled: number;
  /** Unknown to the processor and still inside the resend window. */
  waiting: number;
  failed: number;
}

export async function settleOrphanedCalls(deps: PaymentsDeps, write: WriteDeps, logger: Logger): Promise<SweepResult> {
  const now_ms = write.clock.now_ms();
  // Read before the query: a call that starts after it is too young to be swept anyway.
  const own = { lease: write.lease.key, in_flight: callsInFlight(), refused: refusedHandOvers(now_ms, ORPHAN_LIMITS.abandon_after_ms) };
  const calls = await orphanedCalls(deps.reader, now_ms, ORPHAN_LIMITS, own);
  const result: SweepResult = { settled: 0, waiting: 0, failed: 0 };
  for (const call of calls) {
    const when_unknown: WhenUnknown = call.created_ms <= now_ms - ORPHAN_LIMITS.resend_window_ms ? 'fail' : 'wait';
    try {
      await execute(
        write,
        { merchant_id: call.merchant_id, request_id: null },
        { reserves: [], run: (ctx) => settleCall(deps, ctx, call, when_unknown) },
        undefined,
      );
      result.settled += 1;
      forgetHandOver(call.id);
    } catch (error) {
      if (error instanceof AttemptStillOpen) {
        result.waiting += 1;
        continue;
      }
      // Another process or a retry settled it first (lock_timeout), or the processor is down: the next sweep tries again.
      result.failed += 1;
      logger.warn({ err: error, call_id: call.id, kind: call.kind }, 'could not settle an orphaned processor call yet');
    }
  }
  return result;
}

/**
 * A processor's notification says how an attempt ended: settles it at once, by the sweeper's own path
 * (a status inquiry, which now finds the notified outcome), if its answer is still unknown and its
 * caller gone. Whichever of the sweeper and the notification commits first wins: the other finds the
 * call answered (or loses the lock) and changes nothing. Returns whether this call settled it.
 */
export async function settleNotifiedAttempt(deps: PaymentsDeps, write: WriteDeps, merchant_id: string, attempt_id: string): Promise<boolean> {
  const call = await orphanedAuthorization(deps.reader, merchant_id, attempt_id);
  if (!call) return false;
  try {
    await execute(write, { merchant_id, request_id: null }, { reserves: [], run: (ctx) => settleIfStillOpen(deps, ctx, call) }, undefined);
    return true;
  } catch (error) {
    if (error instanceof AttemptStillOpen || error instanceof SettledMeanwhile) return false;
    throw error;
  }
}

class SettledMeanwhile extends Error {}

async function settleIfStillOpen(deps: PaymentsDeps, ctx: OperationContext, call: OrphanedCall): Promise<Outcome> {
  const intent = await findIntent(ctx.reader, call.merchant_id, call.payment_intent_id);
  if (!intent || intent.status !== 'processing' || intent.pending_attempt !== call.id) throw new SettledMeanwhile(`attempt ${call.id} is settled already`);
  return settleOpenAttempt(deps, ctx, intent, 'wait', call.holder_lease);
}

async function settleCall(deps: PaymentsDeps, ctx: OperationContext, call: OrphanedCall, when_unknown: WhenUnknown): Promise<Outcome> {
  if (call.kind === 'refund') {
    const refund = await findRefund(ctx.reader, call.merchant_id, call.id);
    if (!refund || refund.status !== 'pending') throw new Error(`refund ${call.id}: journaled as pending, stored as ${refund?.status ?? 'missing'}`);
    return settleOpenRefund(deps, ctx, refund, when_unknown, call.holder_lease);
  }
  const intent = await findIntent(ctx.reader, call.merchant_id, call.payment_intent_id);
  if (!intent || intent.status !== 'processing' || intent.pending_attempt !== call.id) {
    throw new Error(`attempt ${call.id}: journaled as pending, but intent ${call.payment_intent_id} is ${intent?.status ?? 'missing'}`);
  }
  return settleOpenAttempt(deps, ctx, intent, when_unknown, call.holder_lease);
}

/** The scheduler job that runs the sweeper, and how often: one indexed query when there is nothing to settle. */
export const ORPHAN_SWEEP_JOB = 'payments-orphan-sweep';
export const ORPHAN_SWEEP_INTERVAL_MS = 1_000;
/**
 * A sweep whose process died blocks the next one this long (plus the scheduler's 15 s maintenance):
 * short, so a crash leaves payments `processing` for seconds, not minutes. A sweep that runs past it
 * is safe beside the next one: each call is settled under its own lock.
 */
export const ORPHAN_SWEEP_TIMEOUT_MS = 15_000;

/** For the `payrail_processor_calls_unsettled_seconds` gauge: how long the oldest answer has been unknown. */
export function unsettledCallAge(deps: PaymentsDeps, now_ms: number): Promise<number> {
  return oldestUnsettledCallAge(deps.reader, now_ms);
}
