import { createHmac } from 'node:crypto';
import type { Db } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import { PayrailError } from '../../../kernel/errors.js';
import { detectBrand } from '../domain/card.js';
import { cardFingerprint, openCard } from '../domain/crypto.js';
import { parseWrapped } from '../domain/kms.js';
import type { CardDetails } from '../domain/payment-method.js';
import type { VaultKeyPort } from './key-port.js';
import type { VaultKeyring } from './keyring.js';
import { secretSealer } from './secret-sealer.js';

/** Stripe's debit test cards; every other number is reported as credit. */
const DEBIT_TEST_NUMBERS = new Set(['4000056655665556', '5200828282828210']);

/**
 * The key port in this process, over an opened keyring: today's vault code behind the port's shape.
 * `sealed_reader` is the pool sealed cards are read through (the vault's own database role); without
 * one, this binding seals but cannot open a card (the CLI's key commands need no more).
 */
export function localVaultKeys(keys: VaultKeyring, sealed_reader: Db | undefined): VaultKeyPort {
  const sealer = (purpose: Parameters<typeof secretSealer>[1]) => secretSealer(keys.envelopes, purpose);
  return {
    seal_card: async ({ merchant_id, payment_method_id, number, exp_month, exp_year }) => {
      const sealed = await keys.envelopes.seal('cards', Buffer.from(number, 'utf8'), `${merchant_id}/${payment_method_id}`);
      const { prefix, version } = parseWrapped(sealed.wrapped);
      return {
        card: cardDetails(keys, merchant_id, number, exp_month, exp_year),
        kek_id: `kms:${prefix}`,
        wrapped_key: sealed.wrapped,
        ciphertext: sealed.ciphertext.toString('base64'),
        key_version: version,
      };
    },
    open_card: async ({ merchant_id, payment_method_id }) => {
      if (!sealed_reader) throw new Error('this vault binding has no reader for sealed cards');
      const result = await run<{ kek_id: string; wrapped_key: Buffer; ciphertext: Buffer }>(
        sealed_reader,
        sql`SELECT kek_id, wrapped_key, ciphertext FROM vault.payment_methods WHERE merchant_id = ${merchant_id} AND id = ${payment_method_id}`,
      );
      const row = result.rows[0];
      if (!row) throw new PayrailError('resource_missing', { param: 'payment_method', message: `No such PaymentMethod: '${payment_method_id.slice(0, 64)}'` });
      return { number: await openNumber(keys, row, `${merchant_id}/${payment_method_id}`) };
    },
    fingerprint: async ({ merchant_id, value }) => ({ fingerprint: cardFingerprint(value, merchant_id, keys.fingerprint_key) }),
    seal_secret: async ({ purpose, plaintext, context }) => ({ sealed: (await sealer(purpose).seal(plaintext, context)).toString('base64') }),
    open_secret: async ({ purpose, sealed, context }) => ({ plaintext: await sealer(purpose).open(Buffer.from(sealed, 'base64'), context) }),
    rewrap_secrets: async ({ purpose, sealed }) => ({
      sealed: (await sealer(purpose).rewrap(sealed.map((item) => Buffer.from(item, 'base64')))).map((item) => item.toString('base64')),
    }),
    idempotency_hash_key: async () => ({ key: idempotencyHashKey(keys.fingerprint_key).toString('base64') }),
  };
}

/** A card's metadata: what the rest of Payrail may know of it. */
export function cardDetails(keys: VaultKeyring, merchant_id: string, number: string, exp_month: number, exp_year: number): CardDetails {
  return describeCard(number, exp_month, exp_year, cardFingerprint(number, merchant_id, keys.fingerprint_key));
}

/** The metadata of a card whose keyed fingerprint is known: no key needed. */
export function describeCard(number: string, exp_month: number, exp_year: number, fingerprint: string): CardDetails {
  return {
    brand: detectBrand(number),
    last4: number.slice(-4),
    exp_month,
    exp_year,
    fingerprint,
    funding: DEBIT_TEST_NUMBERS.has(number) ? 'debit' : 'credit',
    country: 'US',
  };
}

/** The idempotency request hash's secret (webhook secrets sealed before the KMS were sealed with a key derived from it). */
export function idempotencyHashKey(fingerprint_key: Buffer): Buffer {
  return createHmac('sha256', fingerprint_key).update('payrail idempotency request hash v1').digest();
}

/** Cards sealed through the KMS (`kms:` ids), or before it under the old key-encryption key. */
async function openNumber(keys: VaultKeyring, row: { kek_id: string; wrapped_key: Buffer; ciphertext: Buffer }, aad: string): Promise<string> {
  if (!row.kek_id.startsWith('kms:')) return openCard(row, aad, keys.legacy_keks);
  const sealed = { wrapped: row.wrapped_key.toString('utf8'), ciphertext: row.ciphertext };
  return (await keys.envelopes.open('cards', sealed, aad)).toString('utf8');
}
