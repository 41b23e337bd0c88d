import { describe, it, expect } from 'vitest';
import { randomBytes } from 'node:crypto';
import { AssertionError } from '../../src/kernel/assert.js';
import { cardFingerprint, deriveKeys, openCard, sealCard, type SealedCard } from '../../src/services/vault/domain/crypto.js';

const PAN = '4242424242424242';
const TOKEN = 'pm_01JTESTTOKEN000000000000000';
const MASTER = Buffer.alloc(32, 7);
const KEYS = deriveKeys(MASTER);
const KEK = { id: 'kek_1', key: KEYS.kek };
const KEKS: ReadonlyMap<string, Buffer> = new Map([[KEK.id, KEK.key]]);

function seal(pan = PAN, aad = TOKEN): SealedCard {
  return sealCard(pan, aad, KEK, (n) => randomBytes(n));
}

function flipLastByte(buffer: Buffer): Buffer {
  const copy = Buffer.from(buffer);
  copy[copy.length - 1] = (copy[copy.length - 1] ?? 0) ^ 0x01;
  return copy;
}

describe('sealCard / openCard', () => {
  it('round-trips a card number', () => {
    const sealed = seal();
    expect(sealed.kek_id).toBe('kek_1');
    expect(openCard(sealed, TOKEN, KEKS)).toBe(PAN);
  });

  it('packs iv | tag | data in each buffer', () => {
    const sealed = seal();
    expect(sealed.ciphertext.length).toBe(12 + 16 + PAN.length);
    expect(sealed.wrapped_key.length).toBe(12 + 16 + 32);
  });

  it('uses a fresh data key and iv per seal', () => {
    const first = seal();
    const second = seal();
    expect(first.wrapped_key.equals(second.wrapped_key)).toBe(false);
    expect(first.ciphertext.equals(second.ciphertext)).toBe(false);
  });

  it('never contains the card number in any form it was given', () => {
    const sealed = seal();
    for (const packed of [sealed.ciphertext, sealed.wrapped_key]) {
      expect(packed.includes(Buffer.from(PAN, 'utf8'))).toBe(false);
      expect(packed.toString('latin1')).not.toContain(PAN.slice(-8));
    }
  });

  it('fails on the wrong associated data', () => {
    expect(() => openCard(seal(), 'pm_someone_else', KEKS)).toThrow(AssertionError);
  });

  it('fails on a tampered ciphertext, wrapped key, or tag', () => {
    const sealed = seal();
    expect(() => openCard({ ...sealed, ciphertext: flipLastByte(sealed.ciphertext) }, TOKEN, KEKS)).toThrow(AssertionError);
    expect(() => openCard({ ...sealed, wrapped_key: flipLastByte(sealed.wrapped_key) }, TOKEN, KEKS)).toThrow(AssertionError);
    const tag_tampered = Buffer.from(sealed.ciphertext);
    tag_tampered[12] = (tag_tampered[12] ?? 0) ^ 0x80;
    expect(() => openCard({ ...sealed, ciphertext: tag_tampered }, TOKEN, KEKS)).toThrow(AssertionError);
    expect(() => openCard({ ...sealed, ciphertext: sealed.ciphertext.subarray(0, 20) }, TOKEN, KEKS)).toThrow(AssertionError);
  });

  it('fails on a ciphertext moved onto another sealed card', () => {
    const first = seal();
    const second = seal('5555555555554444');
    expect(() => openCard({ ...first, ciphertext: second.ciphertext }, TOKEN, KEKS)).toThrow(AssertionError);
  });

  it('fails on an unknown or wrong kek', () => {
    const sealed = seal();
    expect(() => openCard({ ...sealed, kek_id: 'kek_unknown' }, TOKEN, KEKS)).toThrow(AssertionError);
    const wrong = new Map([[KEK.id, randomBytes(32)]]);
    expect(() => openCard(sealed, TOKEN, wrong)).toThrow(AssertionError);
  });

  it('opens with a retired kek still in the key ring after rotation', () => {
    const old_sealed = seal();
    const rotated = { id: 'kek_2', key: randomBytes(32) };
    const new_sealed = sealCard(PAN, TOKEN, rotated, (n) => randomBytes(n));
    const ring = new Map([
      [KEK.id, KEK.key],
      [rotated.id, rotated.key],
    ]);
    expect(openCard(old_sealed, TOKEN, ring)).toBe(PAN);
    expect(openCard(new_sealed, TOKEN, ring)).toBe(PAN);
  });
});

describe('cardFingerprint', () => {
  it('is 16 alphanumeric characters and stable per merchant and card', () => {
    const fingerprint = cardFingerprint(PAN, 'acct_a', KEYS.fingerprint_key);
    expect(fingerprint).toMatch(/^[0-9A-Za-z]{16}$/);
    expect(cardFingerprint(PAN, 'acct_a', KEYS.fingerprint_key)).toBe(fingerprint);
  });

  it('differs across merchants, cards, and keys', () => {
    const fingerprint = cardFingerprint(PAN, 'acct_a', KEYS.fingerprint_key);
    expect(cardFingerprint(PAN, 'acct_b', KEYS.fingerprint_key)).not.toBe(fingerprint);
    expect(cardFingerprint('5555555555554444', 'acct_a', KEYS.fingerprint_key)).not.toBe(fingerprint);
    expect(cardFingerprint(PAN, 'acct_a', randomBytes(32))).not.toBe(fingerprint);
  });

  it('does not confuse where the merchant id ends and the card begins', () => {
    expect(cardFingerprint('4242424242424242', 'acct_1', KEYS.fingerprint_key)).not.toBe(cardFingerprint('242424242424242', 'acct_14', KEYS.fingerprint_key));
  });
});

describe('deriveKeys', () => {
  it('derives distinct 32-byte keys deterministically from the master secret', () => {
    const again = deriveKeys(Buffer.alloc(32, 7));
    expect(KEYS.kek.length).toBe(32);
    expect(KEYS.fingerprint_key.length).toBe(32);
    expect(KEYS.kek.equals(KEYS.fingerprint_key)).toBe(false);
    expect(KEYS.kek.equals(MASTER)).toBe(false);
    expect(again.kek.equals(KEYS.kek)).toBe(true);
    expect(again.fingerprint_key.equals(KEYS.fingerprint_key)).toBe(true);
  });

  it('derives different keys from a different master secret', () => {
    const other = deriveKeys(Buffer.alloc(32, 8));
    expect(other.kek.equals(KEYS.kek)).toBe(false);
    expect(other.fingerprint_key.equals(KEYS.fingerprint_key)).toBe(false);
  });

  it('refuses a short master secret', () => {
    expect(() => deriveKeys(Buffer.alloc(16, 1))).toThrow(AssertionError);
  });
});
