import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';

/** What must hold after the chaos run, checked against the database and the sandbox processor's own record. */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DELIVERY_WAIT_MS = 90_000;
const POLL_MS = 500;

/** Acknowledged payments (the SDK got a succeeded intent) that the database does not hold as succeeded. */
export async function lostPayments(pool, payments) {
  const acknowledged = payments.filter((payment) => payment.status === 'succeeded').map((payment) => payment.id);
  const { rows } = await pool.query(`SELECT id FROM payments.payment_intents WHERE id = ANY ($1::text[]) AND status = 'succeeded'`, [acknowledged]);
  return { acknowledged: acknowledged.length, lost: acknowledged.length - rows.length };
}

/**
 * Idempotency keys (one per customer payment) that reached the processor as more than one charge: more
 * than one intent carries the key, or the sandbox processor authorized more than one attempt for it.
 */
export async function chargedTwice(pool) {
  const { rows } = await pool.query(
    `SELECT pi.state::jsonb -> 'metadata' ->> 'chaos_key' AS key,
            count(DISTINCT pi.id) AS intents,
            count(sa.attempt_id) FILTER (WHERE sa.outcome = 'authorized' AND NOT sa.voided) AS authorized
       FROM payments.payment_intents pi
       LEFT JOIN payments.charges c ON c.merchant_id = pi.merchant_id AND c.payment_intent_id = pi.id
       LEFT JOIN sandbox.attempts sa ON sa.attempt_id = c.id
      WHERE pi.state::jsonb -> 'metadata' ? 'chaos_key'
      GROUP BY 1`,
  );
  const twice = rows.filter((row) => Number(row.intents) > 1 || Number(row.authorized) > 1);
  const processor = await pool.query(`SELECT count(*)::int AS attempts FROM sandbox.attempts WHERE outcome = 'authorized'`);
  return { keys: rows.length, twice: twice.length, examples: twice.slice(0, 3).map((row) => row.key), processor_authorized: processor.rows[0].attempts };
}

/** `payrail ledger verify` against the topology's database: exit 0 is clean. */
export async function ledgerVerify(settings) {
  try {
    await promisify(execFile)(process.execPath, [join(ROOT, 'bin', 'payrail.js'), 'ledger', 'verify'], {
      cwd: ROOT,
      env: { ...process.env, ...settings, LOG_LEVEL: 'error' },
      timeout: 120_000,
    });
    return { clean: true, output: '' };
  } catch (error) {
    return { clean: false, output: `${error.stdout ?? ''}${error.stderr ?? ''}`.trim().slice(0, 2_000) };
  }
}

/** The outbox's last position: events after it are the ones the webhook endpoint must receive. */
export async function outboxPosition(pool) {
  const { rows } = await pool.query(`SELECT coalesce(max(seq), 0)::bigint AS seq FROM events.outbox`);
  return rows[0].seq;
}

/** Waits until every event written after `after_seq` reached the receiver at least once; reports what did not. */
export async function eventsDelivered(pool, after_seq, receiver) {
  const deadline = Date.now() + DELIVERY_WAIT_MS;
  for (;;) {
    const { rows } = await pool.query(`SELECT id FROM events.outbox WHERE seq > $1 ORDER BY seq`, [after_seq]);
    const missing = rows.filter((row) => !receiver.deliveries.has(row.id)).map((row) => row.id);
    if (missing.length === 0 || Date.now() > deadline) {
      const expected = new Set(rows.map((row) => row.id));
      const redelivered = [...receiver.deliveries.values()].filter((count) => count > 1).length;
      const unexpected = receiver.applied.filter((id) => !expected.has(id)).length;
      return { expected: rows.length, missing: missing.length, examples: missing.slice(0, 3), applied: receiver.applied.length, redelivered, unexpected };
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

export function openPool(settings) {
  return new pg.Pool({ connectionString: settings.DATABASE_URL, max: 2 });
}

/** How long a restarted NATS node may take to catch up with the stream before the check fails. */
const REPLICA_CATCH_UP_MS = 30_000;

/** The events stream's replication as the NATS cluster reports it, once every replica is current (or the wait ends). */
export async function streamReplication(monitor_urls) {
  const deadline = Date.now() + REPLICA_CATCH_UP_MS;
  for (;;) {
    const state = await replicationNow(monitor_urls);
    if (state.current === state.replicas || Date.now() > deadline) return state;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * Only the stream's leader knows whether each follower is current (followers report stale flags), so the
 * answer is the best view among the nodes: the leader's, once it has caught every replica up.
 */
async function replicationNow(monitor_urls) {
  let best = { stream: undefined, replicas: 0, current: 0 };
  for (const url of monitor_urls) {
    const body = await fetch(`${url}/jsz?streams=true&config=true`).then(
      (response) => response.json(),
      () => undefined,
    );
    const stream = body?.account_details?.flatMap((account) => account.stream_detail ?? []).find((entry) => entry.config !== undefined);
    if (!stream) continue;
    const current = 1 + (stream.cluster?.replicas ?? []).filter((peer) => peer.current).length;
    if (current > best.current) best = { stream: stream.name, replicas: stream.config.num_replicas, current };
  }
  return best;
}
