import type { Db } from '../../../platform/db.js';
import type { DisputeFacts } from '../domain/dispute-reconcile.js';
import { disputeProblem } from '../domain/dispute-reconcile.js';
import type { Reconciliation } from './reconciliation.js';

/**
 * The disputes service's side of reconciliation, read through its port (the ledger never reads
 * another service's tables), on verify's one read-only snapshot.
 */
export interface DisputeRecords {
  /** Disputes whose funds moved (withdrawn, or withdrawn and reinstated), in (merchant_id, id) order after `after`. */
  readonly withFunds: (db: Db, after: readonly [string, string], limit: number) => Promise<DisputeFacts[]>;
  readonly byIds: (db: Db, sources: readonly { merchant_id: string; source_id: string }[]) => Promise<DisputeFacts[]>;
}

export function disputesSide(disputes: DisputeRecords): Reconciliation<DisputeFacts> {
  return { name: 'disputes', kinds: ['dispute', 'dispute_reversal'], page: disputes.withFunds, byIds: disputes.byIds, problem: disputeProblem };
}
