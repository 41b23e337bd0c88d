/**
 * The HMAC signature of Adyen's standard notifications, as Adyen documents it ("Verify HMAC
 * signatures"): HMAC-SHA256, keyed by the hex-decoded HMAC key, over eight fields of the item joined by
 * colons (an absent field is the empty string), Base64-encoded into `additionalData.hmacSignature`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AdyenNotificationItem } from './adyen-wire.js';

/** Adyen's keys are 32 bytes, shown as 64 hex digits; 16 to 64 bytes are accepted. */
const HMAC_KEY_HEX = /^(?:[0-9a-fA-F]{2}){16,64}$/;

export function isHmacKey(hex: string): boolean {
  return HMAC_KEY_HEX.test(hex);
}

export type SignedFields = Pick<
  AdyenNotificationItem,
  'pspReference' | 'originalReference' | 'merchantAccountCode' | 'merchantReference' | 'amount' | 'eventCode' | 'success'
>;

/** The signed text: pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:eventCode:success. */
export function signingPayload(item: SignedFields): string {
  return [
    item.pspReference,
    item.originalReference ?? '',
    item.merchantAccountCode,
    item.merchantReference,
    String(item.amount.value),
    item.amount.currency,
    item.eventCode,
    item.success,
  ].join(':');
}

export function hmacSignature(item: SignedFields, hmac_key_hex: string): string {
  return createHmac('sha256', Buffer.from(hmac_key_hex, 'hex')).update(signingPayload(item), 'utf8').digest('base64');
}

/** Whether the item carries the signature of this key; compared in constant time. */
export function hasValidSignature(item: AdyenNotificationItem, hmac_key_hex: string): boolean {
  const given = item.additionalData?.['hmacSignature'];
  if (given === undefined) return false;
  const expected = Buffer.from(hmacSignature(item, hmac_key_hex), 'base64');
  const received = Buffer.from(given, 'base64');
  return received.length === expected.length && timingSafeEqual(received, expected);
}
