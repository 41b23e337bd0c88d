import type { Db } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import { assert } from '../../../kernel/assert.js';
import { PAYOUT_FAILURE_CODES, TEST_ACCOUNT_NUMBERS } from '../domain/bank-account.js';
import type { PayoutFailureCode } from '../domain/bank-account.js';
import type { BankAnswer, BankRail, BankTransferRequest } from '../domain/bank-port.js';

/**
 * The sandbox bank: answers at once, as Stripe's test mode does, with Stripe's test account numbers
 * deciding the outcome (any other number is paid). It keeps its own book, one row per payout id, so
 * a payout asked about twice is paid once; tests count its rows to prove it.
 */
export class SandboxBank implements BankRail {
  constructor(private readonly db: Db) {}

  async send(request: BankTransferRequest): Promise<BankAnswer> {
    const decided = TEST_ACCOUNT_NUMBERS[request.account_number] ?? 'paid';
    await run(
      this.db,
      sql`INSERT INTO settlement.sandbox_bank_transfers (payout_id, merchant_id, amount, currency, account_last4, outcome)
        VALUES (${request.payout_id}, ${request.merchant_id}, ${request.amount}, ${request.currency}, ${request.account_number.slice(-4)}, ${decided})
        ON CONFLICT (payout_id) DO NOTHING`,
    );
    const stored = await run<{ outcome: string }>(this.db, sql`SELECT outcome FROM settlement.sandbox_bank_transfers WHERE payout_id = ${request.payout_id}`);
    const outcome = stored.rows[0]?.outcome;
    assert(outcome !== undefined, `sandbox bank lost payout ${request.payout_id}`);
    if (outcome === 'paid') return { status: 'paid' };
    assert((PAYOUT_FAILURE_CODES as readonly string[]).includes(outcome), `sandbox bank outcome ${outcome}`);
    return { status: 'failed', failure_code: outcome as PayoutFailureCode };
  }
}
