import { z } from 'zod';

/**
 * The vault's key port: every operation that needs the vault's key material (sealing and opening
 * card numbers, keyed fingerprints, other services' secrets). Declared once here as schemas, so the
 * in-process binding (local-keys.ts), the mTLS server and its client (adapters/remote-*.ts) all take
 * their shape from this table: a process holding only the client never holds a key.
 *
 * Bytes travel as base64. Every operation is stateless on the vault's side (sealing writes nothing:
 * the caller commits the sealed row with its payment), so a retry of any of them is safe: a sealing
 * retried under the same payment method id gives another sealing of the same number, and only the one
 * the caller commits is ever stored.
 */

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** Generous bounds: one card, one secret or a rotation batch, never a bulk dump. */
const MAX_SECRET_CHARS = 16_384;
const MAX_REWRAP_BATCH = 1_000;

const id = z.string().min(1).max(255);
/** The form the merchant scope accepts (platform/merchant-scope.ts). */
const merchantId = z.string().regex(/^acct_[A-Za-z0-9_]{1,250}$/);
const bytes = z
  .string()
  .max(4 * MAX_SECRET_CHARS)
  .regex(BASE64);
const secretPurpose = z.enum(['webhook_secrets', 'bank_accounts', 'connector_credentials']);
const cardDetails = z.object({
  brand: z.string(),
  last4: z.string().regex(/^[0-9]{4}$/),
  exp_month: z.number().int(),
  exp_year: z.number().int(),
  fingerprint: z.string(),
  funding: z.string(),
  country: z.string().nullable(),
});

export const VAULT_KEY_OPERATIONS = {
  /** A new card number sealed for the caller's row of vault.payment_methods, with its metadata. */
  seal_card: {
    input: z.object({
      merchant_id: merchantId,
      payment_method_id: id,
      number: z.string().regex(/^[0-9]{12,19}$/),
      exp_month: z.number().int().min(1).max(12),
      exp_year: z.number().int().min(1900).max(9999),
    }),
    output: z.object({ card: cardDetails, kek_id: z.string(), wrapped_key: z.string(), ciphertext: bytes, key_version: z.number().int() }),
  },
  /** A stored card's number, for one payment (`reference_id`): the caller commits the detokenization record with it. */
  open_card: {
    input: z.object({ merchant_id: merchantId, payment_method_id: id, reference_id: id }),
    output: z.object({ number: z.string().regex(/^[0-9]{12,19}$/) }),
  },
  /** The keyed fingerprint (Stripe's `fingerprint`) of a card or bank account number, for one merchant. */
  fingerprint: {
    input: z.object({ merchant_id: merchantId, value: z.string().min(1).max(64) }),
    output: z.object({ fingerprint: z.string() }),
  },
  seal_secret: {
    input: z.object({ purpose: secretPurpose, plaintext: z.string().max(MAX_SECRET_CHARS), context: z.string().max(1024) }),
    output: z.object({ sealed: bytes }),
  },
  open_secret: {
    input: z.object({ purpose: secretPurpose, sealed: bytes, context: z.string().max(1024) }),
    output: z.object({ plaintext: z.string() }),
  },
  rewrap_secrets: {
    input: z.object({ purpose: secretPurpose, sealed: z.array(bytes).max(MAX_REWRAP_BATCH) }),
    output: z.object({ sealed: z.array(bytes) }),
  },
  /** The idempotency request hash's secret: derived one-way from the fingerprint key, which never leaves. */
  idempotency_hash_key: {
    input: z.object({}),
    output: z.object({ key: bytes }),
  },
} as const;

export type VaultKeyOperation = keyof typeof VAULT_KEY_OPERATIONS;
export type VaultKeyInput<K extends VaultKeyOperation> = z.infer<(typeof VAULT_KEY_OPERATIONS)[K]['input']>;
export type VaultKeyOutput<K extends VaultKeyOperation> = z.infer<(typeof VAULT_KEY_OPERATIONS)[K]['output']>;

/** Both bindings implement exactly this: one async function per declared operation. */
export type VaultKeyPort = { [K in VaultKeyOperation]: (input: VaultKeyInput<K>) => Promise<VaultKeyOutput<K>> };

export type SecretPurpose = z.infer<typeof secretPurpose>;

export const VAULT_KEY_OPERATION_NAMES = Object.keys(VAULT_KEY_OPERATIONS) as VaultKeyOperation[];

/** Each operation is `POST <prefix><name>` on the vault process. */
export const VAULT_PATH_PREFIX = '/vault/v1/';
