import type { Db } from '../../../platform/db.js';
import { fraudDisputes } from '../adapters/store.js';

/** Rows read per query while walking the labels. */
const LABEL_PAGE = 1_000;

export interface FraudLabel {
  charge_id: string;
  merchant_id: string;
  /** When the dispute opened, unix seconds. */
  disputed_at: number;
}

/**
 * Labels for the risk model's next training run: every charge disputed as `fraudulent` since
 * `since_s`, across merchants (read through the system role), oldest first, page by page. A dispute
 * the merchant won (or an inquiry that closed without a chargeback) is no fraud label.
 */
export async function* fraudLabels(db: Db, since_s: number): AsyncIterable<FraudLabel> {
  let after: readonly [number, string] = [-1, ''];
  for (;;) {
    const rows = await fraudDisputes(db, since_s, after, LABEL_PAGE);
    for (const row of rows) yield { charge_id: row.charge_id, merchant_id: row.merchant_id, disputed_at: row.created };
    const last = rows[rows.length - 1];
    if (!last || rows.length < LABEL_PAGE) return;
    after = [last.created, last.id];
  }
}
