import { disputeFee } from './dispute-flows.js';
import type { LedgerEntry } from './reconcile.js';
import type { TransferKind } from './transfer.js';

/**
 * What the ledger must hold for each dispute, as a pure check (see reconcile.ts for payments): a
 * dispute whose funds were withdrawn has one `dispute` transfer taking amount and fee; one whose
 * funds were reinstated (won) has one `dispute_reversal` returning both; nothing else, and no
 * transfer names a dispute the disputes service does not have in that state.
 */
export interface DisputeFacts {
  merchant_id: string;
  id: string;
  amount: number;
  currency: string;
  withdrawn: boolean;
  reinstated: boolean;
}

const DISPUTE_KINDS: readonly TransferKind[] = ['dispute', 'dispute_reversal'];

export function disputeProblem(dispute: DisputeFacts | undefined, source_id: string, entries: readonly LedgerEntry[]): string | null {
  const stray = entries.filter((e) => !DISPUTE_KINDS.includes(e.kind));
  if (stray.length > 0) return `dispute ${source_id}: unexpected ${stray.map((e) => `${e.kind} ${e.id}`).join(', ')}`;
  if (!dispute)
    return entries.length > 0
      ? `dispute ${source_id}: ${entries.map((e) => `${e.kind} ${e.id}`).join(', ')} for a dispute the disputes service has no record of`
      : null;
  const fee = disputeFee(dispute.currency);
  const expect = (kind: TransferKind, wanted: boolean, net: number, fee_moved: number): string | null => {
    const entry = entries.find((e) => e.kind === kind);
    if (!wanted) return entry ? `dispute ${dispute.id}: ${kind} ${entry.id} posted, but the dispute's funds did not move that way` : null;
    if (!entry) return `dispute ${dispute.id} (${dispute.merchant_id}) has no ${kind} transfer`;
    if (entry.net !== net || entry.fee !== fee_moved)
      return `dispute ${dispute.id}: ${kind} ${entry.id} moves net ${entry.net} and fee ${entry.fee}; the dispute calls for ${net} and ${fee_moved}`;
    return null;
  };
  return expect('dispute', dispute.withdrawn, -(dispute.amount + fee), fee) ?? expect('dispute_reversal', dispute.reinstated, dispute.amount + fee, -fee);
}
