import type { Db } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { Findings } from './verify-findings.js';
import { VERIFY_LIMITS } from './verify-findings.js';

/** The presentment-currency leg each kind of settlement-currency leg has (domain/fx-flows.ts). */
const LEG_KINDS: Readonly<Record<string, string>> = { capture: 'fx_capture', refund: 'fx_refund', refund_failure: 'fx_refund_failure' };

interface ConversionRow {
  id: string;
  merchant_id: string;
  leg_id: string | null;
  leg_currency: string | null;
  from_currency: string;
  from_amount: number;
  moved: number | null;
  fx_fee: number;
  fx_fees_posted: number;
}

/**
 * Every conversion (a settlement-currency leg with `conversion`) has its presentment-currency leg for
 * the same source, in the currency it names, moving the amount it names through fx_clearing; and the
 * conversion fee it reports is what its postings gave fx_fees.
 */
export async function checkConversions(db: Db, findings: Findings): Promise<void> {
  const wrong = await run<ConversionRow>(
    db,
    sql`
    SELECT * FROM (
      SELECT t.id, t.merchant_id, leg.id AS leg_id, leg.currency AS leg_currency,
        t.conversion ->> 'from_currency' AS from_currency, (t.conversion ->> 'from_amount')::bigint AS from_amount,
        (SELECT abs(sum(p.amount)) FROM ledger.postings p WHERE p.merchant_id = leg.merchant_id AND p.transfer_id = leg.id AND p.account = 'fx_clearing')::bigint AS moved,
        (t.conversion ->> 'fx_fee')::bigint AS fx_fee,
        coalesce((SELECT -sum(p.amount) FROM ledger.postings p WHERE p.merchant_id = t.merchant_id AND p.transfer_id = t.id AND p.account = 'fx_fees'), 0)::bigint AS fx_fees_posted
      FROM ledger.transfers t
      LEFT JOIN ledger.transfers leg ON leg.merchant_id = t.merchant_id AND leg.source_id = t.source_id
        AND leg.kind = (${JSON.stringify(LEG_KINDS)}::jsonb ->> t.kind)
      WHERE t.conversion IS NOT NULL) c
    WHERE leg_id IS NULL OR leg_currency <> from_currency OR moved IS DISTINCT FROM from_amount OR fx_fee <> fx_fees_posted
    LIMIT ${VERIFY_LIMITS.problems_max}`,
  );
  for (const r of wrong.rows) findings.add(`conversion ${r.id} (${r.merchant_id}): ${conversionProblem(r)}`);
}

function conversionProblem(r: ConversionRow): string {
  if (r.leg_id === null) return 'its presentment-currency leg is missing';
  if (r.fx_fee !== r.fx_fees_posted) return `reports a conversion fee of ${r.fx_fee}, its postings gave fx_fees ${r.fx_fees_posted}`;
  return `converts ${r.from_amount} ${r.from_currency}, its leg ${r.leg_id} moves ${r.moved ?? 0} ${r.leg_currency ?? ''}`;
}
