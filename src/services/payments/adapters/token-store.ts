import type { Db, SqlFragment } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { CardToken } from '../domain/token.js';

/** SQL for card tokens. A token is spent by a guarded update: of two uses racing, one affects no row and fails its commit. */

export function insertToken(token: CardToken): SqlFragment {
  return sql`INSERT INTO payments.tokens (merchant_id, id, card_id, payment_method_id, used, created, state)
    VALUES (${token.merchant_id}, ${token.id}, ${token.card_id}, ${token.payment_method}, false, ${token.created}, ${JSON.stringify(token)}::json)`;
}

export function spendToken(token: CardToken): SqlFragment {
  return sql`UPDATE payments.tokens SET used = true, state = ${JSON.stringify({ ...token, used: true })}::json
    WHERE merchant_id = ${token.merchant_id} AND id = ${token.id} AND NOT used`;
}

export async function findToken(db: Db, merchant_id: string, id: string): Promise<CardToken | undefined> {
  const result = await run<{ state: CardToken }>(db, sql`SELECT state FROM payments.tokens WHERE merchant_id = ${merchant_id} AND id = ${id}`);
  return result.rows[0]?.state;
}

export async function findTokenByCard(db: Db, merchant_id: string, card_id: string): Promise<CardToken | undefined> {
  const result = await run<{ state: CardToken }>(db, sql`SELECT state FROM payments.tokens WHERE merchant_id = ${merchant_id} AND card_id = ${card_id}`);
  return result.rows[0]?.state;
}

/** The token a PaymentMethod was made from, for rendering a legacy charge's `source` card. */
export async function findTokenByPaymentMethod(db: Db, merchant_id: string, payment_method_id: string): Promise<CardToken | undefined> {
  const result = await run<{ state: CardToken }>(
    db,
    sql`SELECT state FROM payments.tokens WHERE merchant_id = ${merchant_id} AND payment_method_id = ${payment_method_id} LIMIT 1`,
  );
  return result.rows[0]?.state;
}
