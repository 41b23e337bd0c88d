import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { assert } from '../../../kernel/assert.js';

/**
 * Webhook signing secrets: made once (`whsec_` + 32 random bytes, base64url), shown to the merchant
 * in the create response only, stored sealed with AES-256-GCM under a key derived from the
 * platform's key material and bound to the endpoint id (a sealed secret copied onto another endpoint
 * does not open). Signatures are Stripe's: `t=<unix s>,v1=<hex HMAC-SHA256(secret, "t.payload")>`.
 */

const CIPHER = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SECRET_BYTES = 32;
const KEY_LABEL = 'payrail webhook secrets v1';

/** A redacting wrapper: the secret never prints, logs or serializes by accident. */
export class WebhookSecret {
  readonly #value: string;
  constructor(value: string) {
    assert(value.startsWith('whsec_'), 'webhook secrets start with whsec_');
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return 'whsec_[redacted]';
  }
  toJSON(): string {
    return 'whsec_[redacted]';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'WebhookSecret(whsec_[redacted])';
  }
}

/**
 * How the KMS seals a secret (the vault's `SecretSealer`, handed over by the composition root): under
 * the webhook secrets' own key, in a format it `recognizes`.
 */
export interface SecretSealing {
  seal(plaintext: string, context: string): Promise<Buffer>;
  open(sealed: Buffer, context: string): Promise<string>;
  recognizes(sealed: Buffer): boolean;
}

/** Seals new signing secrets and opens stored ones, whichever way each was sealed. */
export interface WebhookSecretBox {
  seal(secret: WebhookSecret, endpoint_id: string): Promise<Buffer>;
  open(sealed: Buffer, endpoint_id: string): Promise<WebhookSecret>;
}

/**
 * New secrets are sealed through the KMS when `sealing` is given (the platform always gives it); a
 * secret sealed before, under the key derived from `key_material`, still opens until `payrail keys
 * rotate` seals it through the KMS.
 */
export function webhookSecretBox(key_material: Buffer, sealing?: SecretSealing): WebhookSecretBox {
  const key_before_kms = webhookSecretKey(key_material);
  return {
    seal: async (secret, endpoint_id) => (sealing ? sealing.seal(secret.reveal(), endpoint_id) : sealSecret(secret, endpoint_id, key_before_kms)),
    open: async (sealed, endpoint_id) =>
      sealing?.recognizes(sealed) ? new WebhookSecret(await sealing.open(sealed, endpoint_id)) : openSecret(sealed, endpoint_id, key_before_kms),
  };
}

/** The sealing key, derived (HMAC with a fixed label) from secret key material the platform holds. */
export function webhookSecretKey(key_material: Buffer): Buffer {
  assert(key_material.length >= 32, 'webhook key material must be at least 32 bytes');
  return createHmac('sha256', key_material).update(KEY_LABEL).digest();
}

export function newWebhookSecret(random: (n: number) => Buffer = randomBytes): WebhookSecret {
  return new WebhookSecret(`whsec_${random(SECRET_BYTES).toString('base64url')}`);
}

export function sealSecret(secret: WebhookSecret, endpoint_id: string, key: Buffer, random: (n: number) => Buffer = randomBytes): Buffer {
  assert(key.length === 32, 'webhook sealing key must be 32 bytes');
  const iv = random(IV_BYTES);
  const cipher = createCipheriv(CIPHER, key, iv);
  cipher.setAAD(Buffer.from(endpoint_id, 'utf8'));
  const encrypted = Buffer.concat([cipher.update(secret.reveal(), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), encrypted]);
}

/** Throws on tampering or a wrong key: a stored secret never fails to open honestly. */
export function openSecret(sealed: Buffer, endpoint_id: string, key: Buffer): WebhookSecret {
  assert(sealed.length > IV_BYTES + TAG_BYTES, 'sealed webhook secret too short');
  const decipher = createDecipheriv(CIPHER, key, sealed.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(endpoint_id, 'utf8'));
  decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  const clear = Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
  return new WebhookSecret(clear.toString('utf8'));
}

/** The `Stripe-Signature` header for `payload` sent at `timestamp_s`. */
export function signatureHeader(secret: WebhookSecret, timestamp_s: number, payload: string): string {
  assert(Number.isSafeInteger(timestamp_s) && timestamp_s > 0, 'signature timestamp must be unix seconds');
  const v1 = createHmac('sha256', secret.reveal()).update(`${timestamp_s}.${payload}`, 'utf8').digest('hex');
  return `t=${timestamp_s},v1=${v1}`;
}
