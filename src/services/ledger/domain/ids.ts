import { createHash } from 'node:crypto';
import { assert } from '../../../kernel/assert.js';
import type { TransferKind } from './transfer.js';

/**
 * Transfer ids are derived, not drawn: `txn_` + the time (10 Crockford base32 characters of
 * milliseconds, as in every Payrail id) + 16 characters of SHA-256 over the kind and the source id.
 * The same money movement therefore always gets the same id, whichever event or retry posts it, and
 * ids still sort by time for pagination. A charge's balance transaction id is known from the charge
 * alone (see `chargeBalanceTransactionId`), before the ledger has posted it.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_CHARS = 10;
const HASH_CHARS = 16;

export function transferId(kind: TransferKind, source_id: string, time_s: number): string {
  assert(Number.isSafeInteger(time_s) && time_s >= 0, 'transfer time must be unix seconds');
  let time = '';
  let remaining = time_s * 1000;
  for (let i = 0; i < TIME_CHARS; i++) {
    time = ALPHABET[remaining % 32] + time;
    remaining = Math.floor(remaining / 32);
  }
  const digest = createHash('sha256').update(`${kind}:${source_id}`).digest();
  let hash = '';
  for (let i = 0; i < HASH_CHARS; i++) hash += ALPHABET[(digest[i] ?? 0) % 32];
  return `txn_${time}${hash}`;
}

/** The balance transaction of a captured charge: `charge.balance_transaction`. */
export function chargeBalanceTransactionId(charge: { id: string; created: number }): string {
  return transferId('capture', charge.id, charge.created);
}

/** The balance transaction of a refund that took money from the merchant: `refund.balance_transaction`. */
export function refundBalanceTransactionId(refund: { id: string; created: number }): string {
  return transferId('refund', refund.id, refund.created);
}
