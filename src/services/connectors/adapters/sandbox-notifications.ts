/**
 * The sandbox processor's notifications: a dispute (or an early fraud warning) on a captured attempt
 * is recorded in the same
 * statement as the capture (so a crash cannot capture without it), in `sandbox.notifications`, and
 * handed to Payrail by `deliverNotifications` until Payrail acknowledges it, as a processor's webhook
 * is retried until answered.
 */
import type { Pool, SqlFragment } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { NotificationHandler, ProcessorNotification } from '../domain/port.js';

/** The processor's notification id for the dispute on an attempt: one dispute per attempt, so one id. */
export function disputeNotificationId(attempt_id: string): string {
  return `sbxn_dispute_${attempt_id}`;
}

/**
 * A CTE (`notified`) that records the dispute of the rows in CTE `attempt`, when one was decided for
 * its card and money was captured. A repeat finds the notification recorded and adds nothing.
 */
export function notifyDisputeOnCapture(now_ms: number): SqlFragment {
  return sql`notified AS (
    INSERT INTO sandbox.notifications (id, attempt_id, merchant_id, type, data, created_at_ms)
    SELECT CASE WHEN dispute->>'fraud_warning' IS NULL THEN 'sbxn_dispute_' ELSE 'sbxn_efw_' END || attempt_id, attempt_id, merchant_id,
      CASE WHEN dispute->>'fraud_warning' IS NULL THEN 'dispute.opened' ELSE 'fraud_warning.issued' END,
      dispute || jsonb_build_object('amount', amount_captured, 'currency', currency), ${now_ms}::bigint
    FROM attempt WHERE dispute IS NOT NULL AND amount_captured > 0
    ON CONFLICT (id) DO NOTHING)`;
}

interface NotificationRow {
  id: string;
  attempt_id: string;
  merchant_id: string;
  type: ProcessorNotification['type'];
  data: { amount: number; currency: string; reason?: string; inquiry?: boolean; fraud_warning?: string };
  created_at_ms: string | number;
}

function notificationOf(row: NotificationRow, processor: string): ProcessorNotification {
  const base = { id: row.id, processor, attempt_id: row.attempt_id, merchant_id: row.merchant_id, created_ms: Number(row.created_at_ms) };
  const { amount, currency, reason, inquiry, fraud_warning } = row.data;
  if (row.type === 'fraud_warning.issued') return { ...base, type: row.type, fraud_warning: { fraud_type: fraud_warning ?? 'misc' } };
  return { ...base, type: row.type, dispute: { amount, currency, reason: reason ?? 'general', inquiry: inquiry === true } };
}

/** A notification `handle` rejected is handed again after 1 s, doubling to at most an hour, as a processor retries a webhook. */
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 3_600_000;

export function retryDelayMs(attempts: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.min(attempts, 30));
}

/**
 * Hands due, unacknowledged notifications to `handle`, oldest first; each it resolves for is
 * acknowledged. One that fails waits its retry delay, so a notification that keeps failing (its charge
 * not yet recorded) never holds back the others; the first failure is rethrown after they had their turn.
 */
export async function deliverSandboxNotifications(pool: Pool, processor: string, handle: NotificationHandler, limit: number, now_ms: number): Promise<number> {
  const pending = await run<NotificationRow & { attempts: number }>(
    pool,
    sql`SELECT id, attempt_id, merchant_id, type, data, created_at_ms, attempts FROM sandbox.notifications
    WHERE acknowledged_at_ms IS NULL AND deliver_after_ms <= ${now_ms} ORDER BY deliver_after_ms, created_at_ms, id LIMIT ${limit}`,
  );
  let acknowledged = 0;
  let failure: Error | undefined;
  for (const row of pending.rows) {
    const notification = notificationOf(row, processor);
    try {
      await handle(notification);
    } catch (error) {
      failure ??= error instanceof Error ? error : new Error(String(error));
      await run(
        pool,
        sql`UPDATE sandbox.notifications SET attempts = attempts + 1, deliver_after_ms = ${now_ms + retryDelayMs(row.attempts)}
        WHERE id = ${row.id} AND acknowledged_at_ms IS NULL`,
      );
      continue;
    }
    await run(pool, sql`UPDATE sandbox.notifications SET acknowledged_at_ms = ${now_ms} WHERE id = ${row.id} AND acknowledged_at_ms IS NULL`);
    acknowledged += 1;
  }
  if (failure !== undefined) throw failure;
  return acknowledged;
}
