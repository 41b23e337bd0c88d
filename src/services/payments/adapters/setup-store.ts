import type { Db, SqlFragment } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import { PayrailError } from '../../../kernel/errors.js';
import { assert } from '../../../kernel/assert.js';
import type { SetupIntent } from '../domain/setup-intent.js';
import type { SetupAttempt } from '../domain/setup-attempt.js';
import { checkSetupIntent } from '../domain/setup-intent.js';

/** SQL for SetupIntents and the cards they set up. Writes are fragments, committed with the use case's events. */

export function insertSetupIntent(intent: SetupIntent): SqlFragment {
  checkSetupIntent(intent);
  return sql`INSERT INTO payments.setup_intents (merchant_id, id, customer_id, payment_method_id, status, created, version, state)
    VALUES (${intent.merchant_id}, ${intent.id}, ${intent.customer}, ${intent.payment_method}, ${intent.status}, ${intent.created}, ${intent.version}, ${JSON.stringify(intent)}::json)`;
}

/** Affects no row unless the stored version is still the one `intent` was derived from. */
export function updateSetupIntent(intent: SetupIntent, previous_version: number): SqlFragment {
  checkSetupIntent(intent);
  return sql`UPDATE payments.setup_intents SET customer_id = ${intent.customer}, payment_method_id = ${intent.payment_method}, status = ${intent.status},
    version = ${intent.version}, state = ${JSON.stringify(intent)}::json
    WHERE merchant_id = ${intent.merchant_id} AND id = ${intent.id} AND version = ${previous_version}`;
}

export function writeSetupIntent(stored: SetupIntent | null, next: SetupIntent): SqlFragment {
  return stored ? updateSetupIntent(next, stored.version) : insertSetupIntent(next);
}

export async function findSetupIntent(db: Db, merchant_id: string, id: string): Promise<SetupIntent | undefined> {
  const result = await run<{ state: SetupIntent; version: number }>(
    db,
    sql`SELECT state, version FROM payments.setup_intents WHERE merchant_id = ${merchant_id} AND id = ${id}`,
  );
  const row = result.rows[0];
  if (!row) return undefined;
  assert(row.state.version === row.version, `setup intent ${id}: stored state and version column disagree`);
  return checkSetupIntent(row.state);
}

export async function getSetupIntent(db: Db, merchant_id: string, id: string): Promise<SetupIntent> {
  const intent = await findSetupIntent(db, merchant_id, id);
  if (!intent) throw new PayrailError('resource_missing', { param: 'intent', message: `No such setupintent: '${id.slice(0, 64)}'` });
  return intent;
}

/**
 * Records that a card was set up for later payments: the processor's id of the customer-present,
 * authenticated attempt that verified it, which later off-session payments name as their stored
 * credential. A card set up again keeps the newest.
 */
export function recordCardSetup(merchant_id: string, payment_method_id: string, initial_attempt_id: string, now_s: number): SqlFragment {
  return sql`INSERT INTO payments.card_setups (merchant_id, payment_method_id, initial_attempt_id, created)
    VALUES (${merchant_id}, ${payment_method_id}, ${initial_attempt_id}, ${now_s})
    ON CONFLICT (merchant_id, payment_method_id) DO UPDATE SET initial_attempt_id = EXCLUDED.initial_attempt_id, created = EXCLUDED.created`;
}

/** The stored credential of a set-up card, or null when it was never set up. */
export async function cardSetupOf(db: Db, merchant_id: string, payment_method_id: string): Promise<string | null> {
  const result = await run<{ initial_attempt_id: string }>(
    db,
    sql`SELECT initial_attempt_id FROM payments.card_setups WHERE merchant_id = ${merchant_id} AND payment_method_id = ${payment_method_id}`,
  );
  return result.rows[0]?.initial_attempt_id ?? null;
}

/** A verification's record: written when it is answered, rewritten when its 3-D Secure step ends. */
export function saveSetupAttempt(attempt: SetupAttempt): SqlFragment {
  return sql`INSERT INTO payments.setup_attempts (merchant_id, id, setup_intent_id, status, created, state)
    VALUES (${attempt.merchant_id}, ${attempt.id}, ${attempt.setup_intent}, ${attempt.status}, ${attempt.created}, ${JSON.stringify(attempt)}::json)
    ON CONFLICT (merchant_id, id) DO UPDATE SET status = EXCLUDED.status, state = EXCLUDED.state`;
}

export async function findSetupAttempt(db: Db, merchant_id: string, id: string): Promise<SetupAttempt | undefined> {
  const result = await run<{ state: SetupAttempt }>(db, sql`SELECT state FROM payments.setup_attempts WHERE merchant_id = ${merchant_id} AND id = ${id}`);
  return result.rows[0]?.state;
}
