import type { Db, SqlFragment } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import { PayrailError } from '../../../kernel/errors.js';
import type { Review } from '../domain/review.js';

/** SQL for Radar reviews (migration payments/012_reviews). */

export function insertReview(review: Review): SqlFragment {
  return sql`INSERT INTO payments.reviews (merchant_id, id, charge_id, payment_intent_id, open, created, version, state)
    VALUES (${review.merchant_id}, ${review.id}, ${review.charge}, ${review.payment_intent}, ${review.open}, ${review.created}, ${review.version}, ${JSON.stringify(review)}::json)`;
}

/** Affects no row unless the stored version is still the one `review` was derived from. */
export function updateReview(review: Review, previous_version: number): SqlFragment {
  return sql`UPDATE payments.reviews SET open = ${review.open}, version = ${review.version}, state = ${JSON.stringify(review)}::json
    WHERE merchant_id = ${review.merchant_id} AND id = ${review.id} AND version = ${previous_version}`;
}

export async function getReview(db: Db, merchant_id: string, id: string): Promise<Review> {
  const result = await run<{ state: Review }>(db, sql`SELECT state FROM payments.reviews WHERE merchant_id = ${merchant_id} AND id = ${id}`);
  const review = result.rows[0]?.state;
  if (!review) throw new PayrailError('resource_missing', { param: 'review', message: `No such review: '${id.slice(0, 64)}'` });
  return review;
}
