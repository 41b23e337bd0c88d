import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { randomBytesPooled } from './random.js';

/**
 * Stripe-style ids: a prefix and a 26-character ULID-like body, Crockford base32: 48-bit millisecond
 * time, then 16 random digits whose top bit stays clear (64 random bits). Bodies sort by creation
 * time, so cursor pagination is an index range scan. Within one millisecond the random part is incremented, keeping ids from one process strictly ordered.
 */
export const ID_PREFIXES = {
  payment_intent: 'pi',
  charge: 'ch',
  refund: 're',
  customer: 'cus',
  payment_method: 'pm',
  event: 'evt',
  merchant: 'acct',
  request: 'req',
  secret_key: 'sk_test',
  publishable_key: 'pk_test',
  api_key: 'key',
  webhook_endpoint: 'we',
  balance_transaction: 'txn',
  payout: 'po',
  bank_account: 'ba',
  setup_intent: 'seti',
  setup_attempt: 'setatt',
  token: 'tok',
  card: 'card',
  checkout_session: 'cs_test',
  line_item: 'li',
  price: 'price',
  product: 'prod',
  review: 'prv',
  dispute: 'dp',
  early_fraud_warning: 'issfr',
  radar_rule: 'rule',
  value_list: 'rsl',
  value_list_item: 'rsli',
  test_clock: 'clock',
  invoice: 'in',
  invoice_item: 'ii',
  invoice_line: 'il',
  connector_account: 'mca',
  subscription: 'sub',
  subscription_item: 'si',
  // Connect (separate charges and transfers): a transfer, its reversals, and the payment and refund the destination sees.
  transfer: 'tr',
  transfer_reversal: 'trr',
  destination_payment: 'py',
  destination_payment_refund: 'pyr',
  // Destination charges: a refund of an application fee (the fee and the charge's transfer take ids derived from the charge).
  fee_refund: 'fr',
  // The dashboard's people (src/services/dashboard/auth).
  dashboard_user: 'usr',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_CHARS = 10;
const RANDOM_CHARS = 16;
export const ID_BODY_LENGTH = TIME_CHARS + RANDOM_CHARS;

export interface IdGenerator {
  next(kind: IdKind): string;
}

export class UlidGenerator implements IdGenerator {
  private last_ms = -1;
  private last_random = new Uint8Array(RANDOM_CHARS);

  constructor(
    private readonly clock: Clock = systemClock,
    private readonly random: (size: number) => Uint8Array = randomBytesPooled,
  ) {}

  next(kind: IdKind): string {
    return `${ID_PREFIXES[kind]}_${this.body()}`;
  }

  private body(): string {
    const now_ms = Math.max(this.clock.now_ms(), this.last_ms);
    if (now_ms === this.last_ms) {
      incrementBase32(this.last_random);
    } else {
      this.last_ms = now_ms;
      const bytes = this.random(RANDOM_CHARS);
      // The top bit of each digit stays clear so an increment never overflows in practice.
      for (let i = 0; i < RANDOM_CHARS; i++) this.last_random[i] = (bytes[i] ?? 0) & 0x0f;
    }
    let time = '';
    let remaining = now_ms;
    for (let i = 0; i < TIME_CHARS; i++) {
      time = ALPHABET[remaining % 32] + time;
      remaining = Math.floor(remaining / 32);
    }
    let random = '';
    for (const digit of this.last_random) random += ALPHABET[digit];
    return time + random;
  }
}

function incrementBase32(digits: Uint8Array): void {
  for (let i = digits.length - 1; i >= 0; i--) {
    const digit = digits[i] ?? 0;
    if (digit < 31) {
      digits[i] = digit + 1;
      return;
    }
    digits[i] = 0;
  }
}

/** True when `id` has the given kind's prefix and a well-formed body. */
export function isIdOf(kind: IdKind, id: string): boolean {
  const prefix = `${ID_PREFIXES[kind]}_`;
  if (!id.startsWith(prefix)) return false;
  const body = id.slice(prefix.length);
  return body.length === ID_BODY_LENGTH && [...body].every((c) => ALPHABET.includes(c));
}

/**
 * When an id was made: the millisecond time in the first ULID-like body it holds after an `_` (a
 * per-try id that extends an attempt id keeps its time); null when it holds none.
 */
export function idTimeMs(id: string): number | null {
  const body = /_([0-9A-HJKMNP-TV-Z]{26})(?![0-9A-Z])/.exec(id)?.[1];
  if (!body) return null;
  let time = 0;
  for (const char of body.slice(0, TIME_CHARS)) time = time * 32 + ALPHABET.indexOf(char);
  return time;
}
