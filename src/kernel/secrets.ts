import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Whether a secret given by a caller (a client_secret, a page secret, a scrape token) is the expected
 * one, in time that depends on neither: both are hashed first, so not even their lengths leak.
 */
export function sameSecret(expected: string, given: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(expected), digest(given));
}
