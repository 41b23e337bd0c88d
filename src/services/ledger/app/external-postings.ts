import type { Db, SqlFragment } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import { assert } from '../../../kernel/assert.js';
import { CHART, balanceOf } from '../domain/accounts.js';
import type { TransferRequest } from '../domain/transfer.js';
import { accountDeltas, toTransfer, validateTransfer } from '../domain/transfer.js';
import { VISIBLE_KINDS } from '../adapters/render.js';
import { DEFAULT_TERMS, SETTLEMENT_DELAY_MAX_S } from '../domain/flows.js';

/**
 * Transfers another service commits together with its own state, as writes for the write pipeline's
 * one statement (`ctx.commit`), so a payout and the money it moves exist together or not at all.
 *
 * Each account is one write, in the global lock order (accountDeltas sorts them). An account with a
 * balance limit is an UPDATE whose WHERE checks the balance it leaves: PostgreSQL re-evaluates that
 * condition on the newest row version after waiting for a concurrent writer, so the check and the
 * posting are atomic; when it fails the UPDATE touches no row and the pipeline's guard rolls the whole
 * statement back (the caller sees `lock_timeout` and re-reads the balance to say why). A limited
 * account that does not exist yet fails the same way. The database's triggers still check on commit
 * that the transfer balances.
 */
export function transferWrites(request: TransferRequest): SqlFragment[] {
  const valid = validateTransfer(request);
  assert(valid === 'ok', `transfer ${request.id}: ${valid}`);
  const t = toTransfer(request);
  const writes: SqlFragment[] = [
    sql`INSERT INTO ledger.transfers (merchant_id, id, currency, kind, source_id, cause_event_id, cause_type, created, available_on, net, fee)
      VALUES (${t.merchant_id}, ${t.id}, ${t.currency}, ${t.kind}, ${t.source_id}, ${t.cause.event_id}, ${t.cause.type}, ${t.created}, ${t.available_on}, ${t.net}, ${t.fee})`,
    sql`INSERT INTO ledger.postings (merchant_id, transfer_id, index, currency, account, amount)
      SELECT ${t.merchant_id}, ${t.id}, p.index, ${t.currency}, p.account, p.amount
      FROM unnest(${t.postings.map((_, i) => i)}::smallint[], ${t.postings.map((p) => p.account)}::text[], ${t.postings.map((p) => p.amount)}::bigint[]) AS p(index, account, amount)`,
  ];
  for (const delta of accountDeltas([request])) {
    const limit = request.limits?.find((l) => l.account === delta.code);
    const { debits_posted: d, credits_posted: c } = delta;
    if (limit) {
      // The balance the posting leaves, in the account's normal direction, must stay at or above the floor.
      const sign = CHART[delta.code].normal === 'credit' ? 1 : -1;
      writes.push(sql`UPDATE ledger.accounts SET debits_posted = debits_posted + ${d}, credits_posted = credits_posted + ${c}
        WHERE merchant_id = ${delta.merchant_id} AND currency = ${delta.currency} AND code = ${delta.code}
          AND ${sign}::int * ((credits_posted + ${c}) - (debits_posted + ${d})) >= ${limit.floor}`);
    } else {
      writes.push(sql`INSERT INTO ledger.accounts AS a (merchant_id, currency, code, normal, debits_posted, credits_posted)
        VALUES (${delta.merchant_id}, ${delta.currency}, ${delta.code}, ${CHART[delta.code].normal}, ${d}, ${c})
        ON CONFLICT (merchant_id, currency, code) DO UPDATE SET debits_posted = a.debits_posted + EXCLUDED.debits_posted, credits_posted = a.credits_posted + EXCLUDED.credits_posted`);
    }
  }
  return writes;
}

/** The merchant's available balance per currency it has an available account in. */
export async function availableBalances(db: Db, merchant_id: string): Promise<Map<string, number>> {
  const result = await run<{ currency: string; debits_posted: number; credits_posted: number }>(
    db,
    sql`SELECT currency, debits_posted, credits_posted FROM ledger.accounts WHERE merchant_id = ${merchant_id} AND code = 'merchant_available'`,
  );
  return new Map(result.rows.map((row) => [row.currency, balanceOf({ code: 'merchant_available', ...row })]));
}

/** Balance transactions one payout may cover at most (a merchant's transactions between two runs). */
export const COVERED_TRANSACTIONS_MAX = 10_000;

/**
 * Ids of the merchant's balance transactions in `currency` that became available in (after_s, until_s],
 * oldest first, at most COVERED_TRANSACTIONS_MAX: what an automatic payout at `until_s` settles.
 */
export async function transactionsAvailableBetween(db: Db, merchant_id: string, currency: string, after_s: number, until_s: number): Promise<string[]> {
  const result = await run<{ id: string }>(
    db,
    sql`SELECT id FROM ledger.transfers
      WHERE merchant_id = ${merchant_id} AND currency = ${currency} AND kind = ANY(${VISIBLE_KINDS}::text[])
        AND coalesce(available_on, created) > ${after_s} AND coalesce(available_on, created) <= ${until_s}
      ORDER BY coalesce(available_on, created), id LIMIT ${COVERED_TRANSACTIONS_MAX}`,
  );
  return result.rows.map((row) => row.id);
}

/**
 * Sets the merchant's settlement delay (Stripe's `settings.payouts.schedule.delay_days`), keeping its
 * fees, as a write for the caller's commit: captures posted from then on become available after it.
 */
export function settlementDelayWrite(merchant_id: string, delay_s: number): SqlFragment {
  assert(Number.isSafeInteger(delay_s) && delay_s >= 0 && delay_s <= SETTLEMENT_DELAY_MAX_S, 'settlement delay out of range');
  const { percent_bps, fixed } = DEFAULT_TERMS.fee;
  return sql`INSERT INTO ledger.merchant_terms (merchant_id, fee_percent_bps, fee_fixed, settlement_delay_s) VALUES (${merchant_id}, ${percent_bps}, ${fixed}, ${delay_s})
    ON CONFLICT (merchant_id) DO UPDATE SET settlement_delay_s = EXCLUDED.settlement_delay_s, updated_at = now()`;
}
