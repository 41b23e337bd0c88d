import { PayrailError } from '../../../kernel/errors.js';

/**
 * Guards on what the body parsers build: how deeply a body may nest, and keys that JavaScript
 * objects treat specially (`__proto__`, `constructor`, `toString`) kept as plain data.
 */

/**
 * Containers (objects and arrays) a JSON body may nest, the top-level object included. Stripe's
 * deepest parameters nest four; deeper bodies would only cost recursion in the layers after parsing.
 */
export const MAX_JSON_NESTING = 8;

/** Whether JSON text nests more than `max` containers, found in one pass before it is parsed. */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let in_string = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (in_string) {
      if (char === 0x5c)
        i++; // backslash: skip the escaped character
      else if (char === 0x22) in_string = false;
    } else if (char === 0x22) in_string = true;
    else if (char === 0x7b || char === 0x5b) {
      if (++depth > max) return true;
    } else if (char === 0x7d || char === 0x5d) depth--;
  }
  return false;
}

/**
 * qs drops a key named `__proto__` whatever its options, so while it parses the key goes by a stand-in
 * with a NUL, and is renamed back afterwards as data. A client key holding the stand-in itself is refused.
 */
const PROTO_STAND_IN = '\u0000__proto__\u0000';
const PROTO_SEGMENT = /(^|\[)__proto__(?=\]|\[|$)/g;

type Decoder = (text: string, decoder?: unknown, charset?: string) => string;

/** qs's `decoder`: keys keep `__proto__` (as its stand-in); values decode as usual. */
export function decodeFormPart(text: string, decode: Decoder, charset: string, type: 'key' | 'value'): string {
  const decoded = decode(text, decode, charset);
  if (type === 'value') return decoded;
  if (decoded.includes(PROTO_STAND_IN)) throw new PayrailError('body_invalid', { message: 'A parameter name holds a reserved sequence.' });
  return decoded.replace(PROTO_SEGMENT, `$1${PROTO_STAND_IN}`);
}

/**
 * The same for query strings, which the router parses before any error handler: nothing may throw
 * here. A smuggled stand-in can only become a top-level or nested `__proto__` key, which no schema
 * accepts (400 parameter_unknown); queries carry no metadata.
 */
export function decodeQueryPart(text: string, decode: Decoder, charset: string, type: 'key' | 'value'): string {
  const decoded = decode(text, decode, charset);
  return type === 'key' ? decoded.replace(PROTO_SEGMENT, `$1${PROTO_STAND_IN}`) : decoded;
}

/**
 * qs's result (null-prototype objects, so `constructor` and `toString` survive) as ordinary objects
 * whose every key is an own data property. Recursion is bounded by qs's `depth`.
 */
export function plainData(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plainData);
  if (typeof value !== 'object' || value === null) return value;
  // Object.fromEntries defines properties: `__proto__` becomes a key, never the prototype.
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key === PROTO_STAND_IN ? '__proto__' : key, plainData(item)]));
}
