import { assert } from '../../../kernel/assert.js';

/**
 * Invoice numbers as Stripe formats account-level numbering: the account's prefix, a dash, and a
 * sequence padded to four digits ("A1B2C3D4-0001"), gapless per merchant. The prefix is chosen once,
 * at the merchant's first finalization.
 */

export const INVOICE_PREFIX_LENGTH = 8;
const PREFIX_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const SEQUENCE_DIGITS = 4;
/** Far beyond any merchant's invoices; a sequence past it is a bug. */
export const INVOICE_SEQUENCE_MAX = 999_999_999;

/** A prefix from random bytes (injected): 8 characters of A–Z and 0–9, as Stripe's prefixes are. */
export function prefixFromBytes(bytes: Uint8Array): string {
  assert(bytes.length >= INVOICE_PREFIX_LENGTH, 'prefixFromBytes needs 8 random bytes');
  let prefix = '';
  for (let i = 0; i < INVOICE_PREFIX_LENGTH; i++) prefix += PREFIX_ALPHABET[(bytes[i] ?? 0) % PREFIX_ALPHABET.length];
  return prefix;
}

export function formatInvoiceNumber(prefix: string, sequence: number): string {
  assert(/^[0-9A-Z]{3,12}$/.test(prefix), `invoice prefix ${prefix} is not 3-12 capitals and digits`);
  assert(Number.isSafeInteger(sequence) && sequence >= 1 && sequence <= INVOICE_SEQUENCE_MAX, `invoice sequence ${sequence} out of range`);
  return `${prefix}-${String(sequence).padStart(SEQUENCE_DIGITS, '0')}`;
}
