import { assert } from '../../../kernel/assert.js';
import type { ReportLine } from './reconciliation.js';

/**
 * The report against itself: each merchant account's MerchantPayout line in a currency must pay out
 * exactly the net of that account's other lines in that currency (what the settlement import put in
 * settlement_cash line by line). Streams: one running net per merchant account and currency.
 */

export const PAYOUT_CHECK_LIMITS = { accounts_max: 200_000 } as const;

export interface PayoutDifference {
  line: ReportLine;
  merchant_account: string;
  currency: string;
  /** The net of the account's lines, and what its payout line pays. */
  expected: number;
  paid: number;
}

export class PayoutCheck {
  private readonly nets = new Map<string, number>();

  /** Adds a line; for a payout line, returns how it differs from the net so far, or null. */
  add(line: ReportLine): PayoutDifference | null {
    const key = `${line.merchant_account}\u0000${line.net_currency}`;
    if (line.type !== 'MerchantPayout') {
      if (!this.nets.has(key)) assert(this.nets.size < PAYOUT_CHECK_LIMITS.accounts_max, 'more merchant accounts in one report than reconciliation holds');
      this.nets.set(key, (this.nets.get(key) ?? 0) + (line.net_credit ?? 0) - (line.net_debit ?? 0));
      return null;
    }
    // Net Debit pays the batch into the bank; Net Credit collects from it when refunds and fees exceeded captures.
    const paid = (line.net_debit ?? 0) - (line.net_credit ?? 0);
    const expected = this.nets.get(key) ?? 0;
    return paid === expected ? null : { line, merchant_account: line.merchant_account, currency: line.net_currency, expected, paid };
  }
}
