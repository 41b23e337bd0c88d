import { createHash } from 'node:crypto';

/**
 * The hash chain of the security audit log, recomputed outside the database: each row's hash covers
 * the previous row's hash and every field of the row (the same text as `audit.entry_text` in the
 * migration). A row edited, deleted or moved changes a hash or breaks a link from there on.
 */

/** Who did it: an API key (its id), an operator at the CLI, the admin API, a dashboard user (their `usr_` id), or the platform itself. */
export interface Actor {
  type: 'api_key' | 'admin_api' | 'cli' | 'dashboard_user' | 'system';
  id?: string | null | undefined;
  request_id?: string | null | undefined;
  client_ip?: string | null | undefined;
}

export interface ChainRow {
  seq: string;
  at_ms: string;
  merchant_id: string | null;
  type: string;
  object_id: string | null;
  actor_type: string;
  actor_id: string | null;
  request_id: string | null;
  client_ip: string | null;
  data: string;
  prev_hash: string;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);
const SEPARATOR = '\x1f';

export function entryHash(row: Omit<ChainRow, 'hash'>): string {
  const text = [
    row.prev_hash,
    row.seq,
    row.at_ms,
    row.merchant_id ?? '',
    row.type,
    row.object_id ?? '',
    row.actor_type,
    row.actor_id ?? '',
    row.request_id ?? '',
    row.client_ip ?? '',
    row.data,
  ].join(SEPARATOR);
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export interface ChainFinding {
  seq: string;
  problem: string;
}

/** Where the chain is still being checked: the hash and number the next row must follow. */
export interface ChainCursor {
  seq: bigint;
  hash: string;
}

export const CHAIN_START: ChainCursor = { seq: 0n, hash: GENESIS_HASH };

/** Checks a batch of rows (in `seq` order) following `cursor`; returns what is wrong and where the next batch starts. */
export function checkRows(rows: readonly ChainRow[], cursor: ChainCursor): { findings: ChainFinding[]; cursor: ChainCursor } {
  const findings: ChainFinding[] = [];
  let { seq, hash } = cursor;
  for (const row of rows) {
    const row_seq = BigInt(row.seq);
    if (row_seq !== seq + 1n) findings.push({ seq: row.seq, problem: `follows row ${seq}: rows ${seq + 1n} to ${row_seq - 1n} are missing or moved` });
    if (row.prev_hash !== hash) findings.push({ seq: row.seq, problem: 'does not link to the row before it (deleted, inserted or reordered rows)' });
    if (entryHash(row) !== row.hash) findings.push({ seq: row.seq, problem: 'its contents do not match its hash (edited)' });
    seq = row_seq;
    hash = row.hash;
  }
  return { findings, cursor: { seq, hash } };
}
