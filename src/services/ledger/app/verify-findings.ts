import type { Db } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import { LEDGER_CONSUMER_NAME } from './consumer.js';

export const VERIFY_LIMITS = {
  /** Problems listed; more are counted. */
  problems_max: 100,
  page_size: 1_000,
  /** 10^9 objects per side at most: a bound, not a plan. */
  pages_max: 1_000_000,
  /** Objects whose mismatch may just be consumer lag, checked against the outbox at the end. */
  suspects_max: 10_000,
} as const;

/** Problems, deduplicated and bounded, plus suspects that may only be consumer lag. */
export class Findings {
  readonly listed: string[] = [];
  private readonly seen = new Set<string>();
  count = 0;
  private readonly suspects = new Map<string, { merchant_id: string; object_id: string; problem: string }>();

  add(problem: string): void {
    if (this.seen.has(problem)) return;
    this.seen.add(problem);
    this.count += 1;
    if (this.listed.length < VERIFY_LIMITS.problems_max) this.listed.push(problem);
  }

  suspect(merchant_id: string, object_id: string, problem: string): void {
    if (this.suspects.size >= VERIFY_LIMITS.suspects_max) return this.add(problem);
    this.suspects.set(`${merchant_id}\u0000${object_id}\u0000${problem}`, { merchant_id, object_id, problem });
  }

  /** Suspects with an event still ahead of the ledger consumer are in flight; the rest are problems. */
  async settleSuspects(db: Db): Promise<number> {
    const suspects = [...this.suspects.values()];
    if (suspects.length === 0) return 0;
    // Only the events past the ledger's offset are scanned (LATERAL: the offset bounds the index range).
    const pending = await run<{ merchant_id: string; object_id: string }>(
      db,
      sql`
      SELECT DISTINCT ahead.merchant_id, ahead.object_id
      FROM (SELECT coalesce((SELECT xid FROM events.consumer_offsets WHERE consumer = ${LEDGER_CONSUMER_NAME}), '0'::xid8) AS xid,
                   coalesce((SELECT seq FROM events.consumer_offsets WHERE consumer = ${LEDGER_CONSUMER_NAME}), 0) AS seq) o
      CROSS JOIN LATERAL (
        SELECT e.merchant_id, e.object_id FROM events.outbox e
        WHERE (e.xid, e.seq) > (o.xid, o.seq) AND e.object_id = ANY(${suspects.map((s) => s.object_id)}::text[])) ahead`,
    );
    const ahead = new Set(pending.rows.map((r) => `${r.merchant_id}\u0000${r.object_id}`));
    let in_flight = 0;
    const counted = new Set<string>();
    for (const s of suspects) {
      const key = `${s.merchant_id}\u0000${s.object_id}`;
      if (!ahead.has(key)) this.add(s.problem);
      else if (!counted.has(key)) {
        counted.add(key);
        in_flight += 1;
      }
    }
    return in_flight;
  }
}
