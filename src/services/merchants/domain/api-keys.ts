/**
 * API keys as Stripe has them: secret (`sk_`), restricted (`rk_`, per-resource permissions) and
 * publishable (`pk_`), each in test or live mode. Pure: generation takes its randomness, checks take
 * the key. A key in clear exists only in memory, at creation and while a request is authenticated.
 */

export type ApiKeyKind = 'secret' | 'restricted' | 'publishable';
export type Access = 'read' | 'write';
/** Per-resource access of a restricted key; a resource not named is `none`. */
export type Permissions = Readonly<Record<string, Access>>;

const KIND_PREFIX: Record<ApiKeyKind, string> = { secret: 'sk', restricted: 'rk', publishable: 'pk' };
const KEY_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 32 characters of a 62-letter alphabet: about 190 bits. */
const KEY_RANDOM_CHARS = 32;
const KEY_PATTERN = /^(sk|rk|pk)_(test|live)_([0-9A-Za-z]{16,99})$/;

/** Live keys an operator chooses (a bootstrap key) must be as hard to guess as generated ones. */
const LIVE_MIN_CHARS = 32;
const LIVE_MIN_ENTROPY_BITS = 120;
const LIVE_MIN_CHARACTER_CLASSES = 2;

export interface KeyShape {
  kind: ApiKeyKind;
  livemode: boolean;
  /** `sk_test`, `rk_live`, …: what a redacted key shows before its last four characters. */
  prefix: string;
}

export function keyPrefix(kind: ApiKeyKind, livemode: boolean): string {
  return `${KIND_PREFIX[kind]}_${livemode ? 'live' : 'test'}`;
}

/** The kind and mode a well-formed key declares; undefined for anything else. */
export function keyShape(key: string): KeyShape | undefined {
  const match = KEY_PATTERN.exec(key);
  if (!match) return undefined;
  const kind = (Object.keys(KIND_PREFIX) as ApiKeyKind[]).find((candidate) => KIND_PREFIX[candidate] === match[1]);
  if (!kind) return undefined;
  const livemode = match[2] === 'live';
  return { kind, livemode, prefix: keyPrefix(kind, livemode) };
}

export function generateKey(kind: ApiKeyKind, livemode: boolean, random: (n: number) => Buffer): string {
  // 62 does not divide 256: bytes at or above 248 are drawn again, so every character is equally likely.
  let body = '';
  while (body.length < KEY_RANDOM_CHARS) {
    for (const byte of random(KEY_RANDOM_CHARS)) {
      if (byte < 248 && body.length < KEY_RANDOM_CHARS) body += KEY_ALPHABET[byte % KEY_ALPHABET.length];
    }
  }
  return `${keyPrefix(kind, livemode)}_${body}`;
}

/** `sk_test_…a1B2`: all that is ever shown of a key after its creation. */
export function redactedKey(prefix: string, last4: string): string {
  return `${prefix}_…${last4}`;
}

/**
 * Why an operator-chosen key is refused, or undefined when it is acceptable. Test-mode keys need only
 * the form (scripts and the quick start use memorable ones); live keys must also be long and varied.
 */
export function weakKeyReason(key: string): string | undefined {
  const shape = keyShape(key);
  if (!shape) return 'an API key is sk_, rk_ or pk_, then test_ or live_, then 16 to 99 letters or digits';
  if (!shape.livemode) return undefined;
  const body = key.slice(shape.prefix.length + 1);
  if (body.length < LIVE_MIN_CHARS) return `a live key needs at least ${LIVE_MIN_CHARS} random letters or digits`;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((pattern) => pattern.test(body)).length;
  if (classes < LIVE_MIN_CHARACTER_CLASSES || estimatedEntropyBits(body) < LIVE_MIN_ENTROPY_BITS) {
    return 'a live key must be random (it repeats too few distinct characters); let Payrail generate one';
  }
  return undefined;
}

/** Length times the Shannon entropy of the characters used: low for repeats and short alphabets. */
export function estimatedEntropyBits(text: string): number {
  const counts = new Map<string, number>();
  for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
  let per_char = 0;
  for (const count of counts.values()) {
    const p = count / text.length;
    per_char -= p * Math.log2(p);
  }
  return per_char * text.length;
}
