import type { DisputeMoney } from '../domain/dispute-flows.js';
import { disputeTransfer } from '../domain/dispute-flows.js';
import { toTransfer } from '../domain/transfer.js';
import { renderBalanceTransaction } from './render.js';

/**
 * A dispute's `balance_transactions`, as the ledger posts them: the withdrawal once funds were
 * withdrawn (`withdrawn_at`), the reinstatement once they were returned. Built from the same flow
 * the ledger consumer posts, so the ids, amounts and fees shown on the dispute (and in its events,
 * written before the ledger has posted) are those `GET /v1/balance_transactions` shows a moment later.
 */
export function disputeBalanceTransactions(
  dispute: DisputeMoney & { withdrawn_at: number | null; reinstated_at: number | null },
  now_s: number,
): Record<string, unknown>[] {
  const moves: ['dispute' | 'dispute_reversal', number | null][] = [
    ['dispute', dispute.withdrawn_at],
    ['dispute_reversal', dispute.reinstated_at],
  ];
  return moves.flatMap(([kind, at]) => {
    if (at === null) return [];
    const transfer = toTransfer(disputeTransfer(dispute, kind, at, { event_id: 'render', type: 'render' }));
    return [renderBalanceTransaction({ ...transfer, source_id: dispute.id }, now_s)];
  });
}
