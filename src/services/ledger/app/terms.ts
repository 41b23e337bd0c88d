import type { Db } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import { assert } from '../../../kernel/assert.js';
import { isValidFeeSchedule } from '../domain/fees.js';
import type { MerchantTerms } from '../domain/flows.js';
import { DEFAULT_TERMS, SETTLEMENT_DELAY_MAX_S } from '../domain/flows.js';

/** Per-merchant fee schedule and settlement delay; merchants without a row get DEFAULT_TERMS. */
export async function loadTerms(db: Db, merchant_ids: readonly string[]): Promise<Map<string, MerchantTerms>> {
  const terms = new Map<string, MerchantTerms>();
  const unique = [...new Set(merchant_ids)];
  if (unique.length === 0) return terms;
  const result = await run<{ merchant_id: string; fee_percent_bps: number; fee_fixed: number; settlement_delay_s: number }>(
    db,
    sql`
    SELECT merchant_id, fee_percent_bps, fee_fixed, settlement_delay_s FROM ledger.merchant_terms WHERE merchant_id = ANY(${unique}::text[])`,
  );
  for (const row of result.rows) {
    terms.set(row.merchant_id, { fee: { percent_bps: row.fee_percent_bps, fixed: row.fee_fixed }, settlement_delay_s: row.settlement_delay_s });
  }
  return terms;
}

export function termsOf(terms: ReadonlyMap<string, MerchantTerms>, merchant_id: string): MerchantTerms {
  return terms.get(merchant_id) ?? DEFAULT_TERMS;
}

/** Sets a merchant's terms; they apply to captures posted from then on, never to earlier ones. */
export async function setMerchantTerms(db: Db, merchant_id: string, terms: MerchantTerms): Promise<void> {
  assert(isValidFeeSchedule(terms.fee), 'fee schedule out of range');
  assert(
    Number.isSafeInteger(terms.settlement_delay_s) && terms.settlement_delay_s >= 0 && terms.settlement_delay_s <= SETTLEMENT_DELAY_MAX_S,
    'settlement delay out of range',
  );
  await run(
    db,
    sql`
    INSERT INTO ledger.merchant_terms (merchant_id, fee_percent_bps, fee_fixed, settlement_delay_s) VALUES (${merchant_id}, ${terms.fee.percent_bps}, ${terms.fee.fixed}, ${terms.settlement_delay_s})
    ON CONFLICT (merchant_id) DO UPDATE SET fee_percent_bps = EXCLUDED.fee_percent_bps, fee_fixed = EXCLUDED.fee_fixed, settlement_delay_s = EXCLUDED.settlement_delay_s, updated_at = now()`,
  );
}
