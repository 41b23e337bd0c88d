import type { Db } from './platform/db.js';
import { run, sql } from './platform/db.js';
import { fraudLabels } from './services/disputes/index.js';
import { usdCents, type AttemptResult, type RiskSignals } from './services/risk/index.js';
import { replayFeatures, type FeatureRows, type SyntheticTransaction } from './services/risk/training/index.js';

/**
 * The installation's own charges as training rows for the risk model (`node scripts/risk/train.mjs
 * --labels-from-db`): labelled fraud when a dispute with reason `fraudulent` was opened on them
 * (`fraudLabels` from the disputes service), honest otherwise, and replayed in time order through the
 * scorer's feature code as the synthetic world is. What a stored charge does not keep (the client's
 * IP address, the card's BIN, the address checks) enters as missing. It joins two services, so it
 * lives in the composition root: risk cannot import disputes (disputes → payments → risk).
 */
const PAGE = 5_000;
/** At most this many charges are read, oldest first: a training run's memory is bounded. */
export const MAX_LABELLED_CHARGES = 500_000;

interface StoredCharge {
  amount: number;
  currency: string;
  status: string;
  customer?: string | null;
  receipt_email?: string | null;
  billing_details?: { email?: string | null };
  outcome?: { type?: string };
  card?: { fingerprint: string; last4: string; brand: string; country?: string | null; funding?: string | null; cvc_check?: RiskSignals['cvc_check'] };
}

export async function disputeLabelRows(db: Db, since_s: number): Promise<{ rows: FeatureRows; charges: number; fraud: number }> {
  const fraud = new Set<string>();
  for await (const label of fraudLabels(db, since_s)) fraud.add(`${label.merchant_id}/${label.charge_id}`);
  const transactions: SyntheticTransaction[] = [];
  let after: [number, string] = [since_s - 1, ''];
  while (transactions.length < MAX_LABELLED_CHARGES) {
    const { rows } = await run<{ merchant_id: string; id: string; created: string; state: StoredCharge }>(
      db,
      sql`SELECT merchant_id, id, created, state FROM payments.charges WHERE (created, id) > (${after[0]}, ${after[1]}) ORDER BY created, id LIMIT ${PAGE}`,
    );
    for (const row of rows) {
      const attempt = chargeAttempt(row.merchant_id, Number(row.created), row.state, fraud.has(`${row.merchant_id}/${row.id}`));
      if (attempt !== null) transactions.push(attempt);
    }
    const last = rows.at(-1);
    if (last === undefined || rows.length < PAGE) break;
    after = [Number(last.created), last.id];
  }
  const rows = await replayFeatures(transactions);
  return { rows, charges: transactions.length, fraud: rows.labels.reduce((sum, y) => sum + y, 0) };
}

/** A stored charge as the attempt the scorer saw; null without a card or a USD rate for its currency. */
export function chargeAttempt(merchant_id: string, created: number, charge: StoredCharge, fraud: boolean): SyntheticTransaction | null {
  const amount_in_usd = usdCents(charge.amount, charge.currency);
  if (!charge.card || amount_in_usd === null) return null;
  const result: AttemptResult = charge.outcome?.type === 'blocked' ? 'blocked' : charge.status === 'failed' ? 'declined' : 'authorized';
  return {
    created_ms: created * 1000,
    result,
    fraud,
    pattern: fraud ? 'disputed_fraudulent' : 'undisputed',
    signals: {
      merchant_id,
      livemode: false,
      created,
      amount: charge.amount,
      currency: charge.currency,
      amount_in_usd,
      card_fingerprint: charge.card.fingerprint,
      card_bin: null,
      card_last4: charge.card.last4,
      card_brand: charge.card.brand,
      card_country: charge.card.country ?? null,
      card_funding: charge.card.funding ?? null,
      ip_address: null,
      email: charge.billing_details?.email ?? charge.receipt_email ?? null,
      customer_id: charge.customer ?? null,
      cvc_check: charge.card.cvc_check ?? null,
      address_line1_check: null,
      address_postal_code_check: null,
    },
  };
}
