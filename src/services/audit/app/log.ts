import type { Db, Pool, SqlFragment } from '../../../platform/db.js';
import type { OperationContext } from '../../../platform/write/operation.js';
import { run, sql } from '../../../platform/db.js';
import type { Actor, ChainFinding, ChainRow } from '../domain/chain.js';
import { CHAIN_START, checkRows } from '../domain/chain.js';

/**
 * The security audit log's writers and its verification. Other services call `securityEvent` and
 * commit the write with the change it records (one statement, or one transaction), so the log can
 * neither miss a change nor record one that rolled back.
 */

export interface SecurityEvent {
  /** `api_key.created`, `webhook_endpoint.deleted`, `refund.created`, `payout.created`, `risk_rule.updated`, … */
  type: string;
  merchant_id: string | null;
  object_id: string | null;
  actor: Actor;
  at_ms: number;
  /** What changed, without secrets: never a key, a webhook secret or a card number. */
  data?: Record<string, unknown>;
}

/** The write that appends `event` to the chain (the database numbers and hashes it). */
export function securityEvent(event: SecurityEvent): SqlFragment {
  return sql`INSERT INTO audit.security_events (at_ms, merchant_id, type, object_id, actor_type, actor_id, request_id, client_ip, data)
    VALUES (${event.at_ms}, ${event.merchant_id}, ${event.type}, ${event.object_id}, ${event.actor.type}, ${event.actor.id ?? null},
      ${event.actor.request_id ?? null}, ${event.actor.client_ip ?? null}, ${JSON.stringify(event.data ?? {})})`;
}

/** Who ran an operation of the write pipeline: its API key over HTTP, an operator at the CLI, else the platform itself (a job, the sweeper). */
export function operationActor(ctx: Pick<OperationContext, 'actor' | 'request'>): Actor {
  const { api_key_id, client_ip, operator } = ctx.actor;
  const type = api_key_id ? 'api_key' : operator ? 'cli' : 'system';
  return { type, id: api_key_id, request_id: ctx.request.id, client_ip };
}

/** The event recording a change `ctx` makes, to commit with the change's own writes. */
export function auditedChange(ctx: OperationContext, change: { type: string; object_id: string; data?: Record<string, unknown> }): SqlFragment {
  return securityEvent({ ...change, merchant_id: ctx.merchant_id, actor: operationActor(ctx), at_ms: ctx.now_ms });
}

/** A URL as the log keeps it: scheme, host and path, without credentials or a query that may carry tokens. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}

/** Appends one event in a transaction of its own (for changes that are not themselves a database write). */
export async function recordSecurityEvent(db: Db, event: SecurityEvent): Promise<void> {
  await run(db, securityEvent(event));
}

const VERIFY_BATCH = 5_000;

export interface VerifyReport {
  rows: number;
  head: { seq: string; hash: string };
  findings: ChainFinding[];
}

/** A head printed by an earlier verify and kept elsewhere: the chain must still pass through it. */
export interface ChainAnchor {
  seq: string;
  hash: string;
}

/**
 * Recomputes the whole chain, in batches, and compares its end with the recorded head and, when given,
 * the anchor: a chain rewritten consistently from the start still fails there.
 */
export async function verifyAuditLog(pool: Pool, anchor?: ChainAnchor): Promise<VerifyReport> {
  let cursor = CHAIN_START;
  let after = -1n;
  let rows = 0;
  const findings: ChainFinding[] = [];
  for (;;) {
    const batch = await run<ChainRow>(
      pool,
      sql`SELECT seq::text, at_ms::text, merchant_id, type, object_id, actor_type, actor_id, request_id, client_ip, data, prev_hash, hash
        FROM audit.security_events e WHERE e.seq > ${after.toString()} ORDER BY e.seq LIMIT ${VERIFY_BATCH}`,
    );
    const checked = checkRows(batch.rows, cursor);
    findings.push(...checked.findings);
    cursor = checked.cursor;
    rows += batch.rows.length;
    const last = batch.rows.at(-1);
    if (!last || batch.rows.length < VERIFY_BATCH) break;
    after = BigInt(last.seq);
  }
  const head = (await run<{ seq: string; hash: string }>(pool, sql`SELECT seq::text, hash FROM audit.chain_head`)).rows[0];
  if (!head) throw new Error('audit.chain_head has no row: the audit migration did not run');
  if (BigInt(head.seq) !== cursor.seq || head.hash !== cursor.hash) {
    findings.push({ seq: head.seq, problem: `the chain ends at row ${cursor.seq} but its head says ${head.seq} (rows at the end deleted or edited)` });
  }
  if (anchor) findings.push(...(await checkAnchor(pool, anchor)));
  return { rows, head, findings };
}

async function checkAnchor(pool: Pool, anchor: ChainAnchor): Promise<ChainFinding[]> {
  const row = (await run<{ hash: string }>(pool, sql`SELECT hash FROM audit.security_events WHERE seq = ${anchor.seq}`)).rows[0];
  if (!row) return [{ seq: anchor.seq, problem: 'the anchored row is gone' }];
  if (row.hash !== anchor.hash) return [{ seq: anchor.seq, problem: 'the anchored row has another hash: the chain was rewritten up to it' }];
  return [];
}

export interface Detokenization {
  merchant_id: string;
  payment_method_id: string;
  purpose: string;
  /** The charge or other object the card number is for. */
  reference_id: string;
  actor: Actor;
  at_ms: number;
}

/**
 * Records a detokenization in a transaction of its own, before the card number is used: the row
 * stays whatever happens to the payment after. Not chained: one per payment would make every
 * payment wait for the chain's lock.
 */
export async function recordDetokenization(pool: Pool, entry: Detokenization): Promise<void> {
  await run(
    pool,
    sql`INSERT INTO audit.detokenizations (at_ms, merchant_id, payment_method_id, purpose, reference_id, actor_type, actor_id, request_id, client_ip)
      VALUES (${entry.at_ms}, ${entry.merchant_id}, ${entry.payment_method_id}, ${entry.purpose}, ${entry.reference_id}, ${entry.actor.type},
        ${entry.actor.id ?? null}, ${entry.actor.request_id ?? null}, ${entry.actor.client_ip ?? null})`,
  );
}
