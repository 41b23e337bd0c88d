import type { AccountTotals } from './accounts.js';
import { accountKeyString } from './accounts.js';
import type { Transfer, TransferRequest, TransferResult } from './transfer.js';
import { accountDeltas, planBatch, toTransfer, transferKey } from './transfer.js';

/**
 * The ledger in memory, with the SQL store's exact semantics (both post through `planBatch`): the
 * reference model that property tests run random histories against, and compare the store with.
 */
export class LedgerBook {
  readonly transfers = new Map<string, Transfer>();
  readonly accounts = new Map<string, AccountTotals>();

  post(requests: readonly TransferRequest[]): TransferResult[] {
    const has_limits = requests.some((r) => (r.limits ?? []).length > 0);
    const plan = planBatch(requests, this.transfers, has_limits ? this.accounts : null);
    if (!has_limits) {
      for (const delta of accountDeltas(plan.accepted)) {
        const key = accountKeyString(delta);
        const current = this.accounts.get(key) ?? { ...delta, debits_posted: 0, credits_posted: 0 };
        this.accounts.set(key, {
          ...current,
          debits_posted: current.debits_posted + delta.debits_posted,
          credits_posted: current.credits_posted + delta.credits_posted,
        });
      }
    }
    for (const request of plan.accepted) this.transfers.set(transferKey(request), toTransfer(request));
    return plan.results;
  }

  kindsOf(merchant_id: string, source_id: string): Set<Transfer['kind']> {
    const kinds = new Set<Transfer['kind']>();
    for (const transfer of this.transfers.values()) if (transfer.merchant_id === merchant_id && transfer.source_id === source_id) kinds.add(transfer.kind);
    return kinds;
  }
}
