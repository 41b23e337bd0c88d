import { z } from 'zod';
import { PayrailError } from '../../kernel/errors.js';
import type { ErrorCode } from '../../kernel/errors.js';
import { MAX_AMOUNT, currencyInfo } from '../../kernel/money.js';

/**
 * Request parameters arrive as strings (form bodies, query strings) or typed values (JSON bodies).
 * These schemas accept both and report the first problem as a Stripe error with a bracketed `param`.
 */

type Issue = { code: string; path: PropertyKey[]; message: string; params?: { stripe_code?: ErrorCode }; keys?: string[] };

function fail(ctx: z.RefinementCtx, stripe_code: ErrorCode, message: string): typeof z.NEVER {
  ctx.addIssue({ code: 'custom', message, params: { stripe_code } });
  return z.NEVER;
}

export const integer = (bounds: { min?: number; max?: number } = {}) =>
  z.unknown().transform((value, ctx) => {
    const parsed = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d{1,16}$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(parsed)) return fail(ctx, 'parameter_invalid_integer', 'Invalid integer: must be a whole number.');
    if (bounds.min !== undefined && parsed < bounds.min)
      return fail(ctx, 'parameter_invalid_integer', `This value must be greater than or equal to ${bounds.min}.`);
    if (bounds.max !== undefined && parsed > bounds.max)
      return fail(ctx, 'parameter_invalid_integer', `This value must be less than or equal to ${bounds.max}.`);
    return parsed;
  });

export const amount = () =>
  integer().transform((value, ctx) => {
    if (value < 0) return fail(ctx, 'parameter_invalid_integer', 'Amount must be a positive integer in the currency’s smallest unit.');
    if (value > MAX_AMOUNT) return fail(ctx, 'amount_too_large', `Amount must be no more than ${MAX_AMOUNT}.`);
    return value;
  });

/** Stripe reads a form boolean case-insensitively: stripe-python and stripe-dotnet long sent `True` / `False`. */
export const boolean = () =>
  z.unknown().transform((value, ctx) => {
    const word = typeof value === 'string' ? value.toLowerCase() : value;
    if (word === true || word === 'true') return true;
    if (word === false || word === 'false') return false;
    return fail(ctx, 'parameter_invalid', 'Invalid boolean: use true or false.');
  });

/** NUL and unpaired surrogates cannot be stored in PostgreSQL text or jsonb, so no input may carry them. */
// eslint-disable-next-line no-control-regex -- matching NUL is the point: PostgreSQL text cannot hold it.
const UNSTORABLE = /[\u0000\p{Cs}]/u;
export const isStorableText = (value: string): boolean => !UNSTORABLE.test(value);

export const text = (max_length = 5000) =>
  z.unknown().transform((value, ctx) => {
    if (typeof value !== 'string') return fail(ctx, 'parameter_invalid', 'Invalid string.');
    if (!isStorableText(value)) return fail(ctx, 'parameter_invalid', 'Invalid string: NUL characters and unpaired surrogates are not allowed.');
    if (value.length > max_length) return fail(ctx, 'parameter_invalid', `This value must be at most ${max_length} characters.`);
    return value;
  });

/** A string that may be sent empty to clear the field (Stripe's convention on update). */
export const clearableText = (max_length = 5000) => text(max_length).transform((value) => (value === '' ? null : value));

export const nonEmptyText = (max_length = 5000) =>
  text(max_length).transform((value, ctx) =>
    value === '' ? fail(ctx, 'parameter_invalid_empty', 'You passed an empty string, which is not allowed.') : value,
  );

export const oneOf = <T extends string>(values: readonly T[]) =>
  z.unknown().transform((value, ctx) => {
    if (typeof value === 'string' && (values as readonly string[]).includes(value)) return value as T;
    return fail(ctx, 'parameter_invalid', `Invalid value: must be one of ${values.join(', ')}.`);
  });

export const currency = () =>
  z.unknown().transform((value, ctx) => {
    const code = typeof value === 'string' ? value.toLowerCase() : '';
    // Echo only what could be a currency code: a client's mistake may have put other data here.
    const shown = /^[a-z]{1,10}$/.test(code) ? code : `a ${typeof value}`;
    if (!currencyInfo(code)) return fail(ctx, 'currency_invalid', `Invalid currency: ${shown}. Use a supported ISO 4217 code.`);
    return code;
  });

const METADATA_MAX_KEYS = 50;
const METADATA_KEY_MAX_LENGTH = 40;
const METADATA_VALUE_MAX_LENGTH = 500;

/**
 * Stripe's metadata rules: at most 50 keys, keys up to 40 characters, values up to 500. A key set to
 * "" is deleted; `metadata=""` deletes every key, which is `null` here.
 */
export const metadata = () =>
  z.unknown().transform((value, ctx) => {
    if (value === '') return null;
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return fail(ctx, 'metadata_invalid', 'Invalid metadata: must be a hash of keys to string values.');
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length > METADATA_MAX_KEYS) return fail(ctx, 'metadata_invalid', `Metadata can have at most ${METADATA_MAX_KEYS} keys.`);
    // Collected as entries: `result[key] =` would set the prototype for a key named `__proto__`.
    const result: [string, string | null][] = [];
    for (const [key, raw] of entries) {
      if (key.length === 0 || key.length > METADATA_KEY_MAX_LENGTH || /[[\]]/.test(key) || !isStorableText(key))
        return fail(
          ctx,
          'metadata_invalid',
          `Metadata keys must be 1 to ${METADATA_KEY_MAX_LENGTH} characters, without square brackets, NUL characters or unpaired surrogates.`,
        );
      const string_value = typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : raw;
      if (string_value !== null && typeof string_value !== 'string') return fail(ctx, 'metadata_invalid', 'Metadata values must be strings.');
      if (typeof string_value === 'string' && string_value.length > METADATA_VALUE_MAX_LENGTH)
        return fail(ctx, 'metadata_invalid', `Metadata values can be at most ${METADATA_VALUE_MAX_LENGTH} characters.`);
      if (typeof string_value === 'string' && !isStorableText(string_value))
        return fail(ctx, 'metadata_invalid', 'Metadata values must not contain NUL characters or unpaired surrogates.');
      result.push([key, string_value === '' ? null : string_value]);
    }
    return Object.fromEntries(result);
  });

/** Stripe's limits: a path is at most four fields deep (`data.payment_intent.customer.invoice_settings`). */
export const EXPAND_MAX_DEPTH = 4;
/** Distinct paths per request: each one is a load per object returned, so the count bounds the work. */
export const EXPAND_MAX_PATHS = 10;
/** Sent entries, repeats included, before de-duplication; the form parser caps parameters anyway. */
export const EXPAND_MAX_ENTRIES = 100;
const EXPAND_PATH = /^[a-z0-9_]{1,100}(?:\.[a-z0-9_]{1,100})*$/;

/** The entries of `expand` as sent: `expand[]=a&expand[]=b`, `expand[0]=a`, a JSON array or one string. */
export function expandEntries(value: unknown): unknown[] {
  return Array.isArray(value) ? value : typeof value === 'object' && value !== null ? Object.values(value) : [value];
}

/**
 * `expand[]`, de-duplicated: a repeated path is one expansion, so repeats cannot multiply the work.
 * Which paths an object can expand is its service's expander's business; this checks the shape.
 */
export const expand = () =>
  z.unknown().transform((value, ctx) => {
    const entries = expandEntries(value);
    if (entries.length > EXPAND_MAX_ENTRIES) return fail(ctx, 'parameter_invalid', `expand takes at most ${EXPAND_MAX_ENTRIES} entries, repeats included.`);
    if (!entries.every((v): v is string => typeof v === 'string')) return fail(ctx, 'parameter_invalid', 'expand must be a list of field paths.');
    const paths = [...new Set(entries)];
    const malformed = paths.find((path) => !EXPAND_PATH.test(path));
    if (malformed !== undefined)
      return fail(ctx, 'parameter_invalid', 'Each expand path must be field names joined by dots, such as `customer` or `data.payment_intent`.');
    if (paths.some((path) => path.split('.').length > EXPAND_MAX_DEPTH))
      return fail(ctx, 'parameter_invalid', `You cannot expand more than ${EXPAND_MAX_DEPTH} levels of a property.`);
    if (paths.length > EXPAND_MAX_PATHS) return fail(ctx, 'parameter_invalid', `You cannot expand more than ${EXPAND_MAX_PATHS} properties at once.`);
    return paths;
  });

/** A list of short strings, sent as `x[0]=a&x[1]=b` or a JSON array. */
export const textList = (max_length: number, max_items: number) =>
  z.unknown().transform((value, ctx) => {
    const list = Array.isArray(value) ? value : typeof value === 'object' && value !== null ? Object.values(value) : [value];
    if (list.length > max_items) return fail(ctx, 'parameter_invalid', `At most ${max_items} values are allowed.`);
    if (!list.every((v) => typeof v === 'string' && v.length > 0 && v.length <= max_length && isStorableText(v)))
      return fail(ctx, 'parameter_invalid', `Each value must be a string of 1 to ${max_length} characters.`);
    return list as string[];
  });

/** Stripe's list parameters, shared by every list endpoint. */
export const listParams = {
  limit: integer({ min: 1, max: 100 }).optional(),
  starting_after: text(255).optional(),
  ending_before: text(255).optional(),
  created: z.unknown().optional(),
  expand: expand().optional(),
};

export function parseParams<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  throw toStripeError(result.error.issues[0] as unknown as Issue, input);
}

function toStripeError(issue: Issue, input: unknown): PayrailError {
  if (issue.code === 'unrecognized_keys') {
    const param = bracketPath([...issue.path, issue.keys?.[0] ?? '']);
    return new PayrailError('parameter_unknown', { param, message: `Received unknown parameter: ${param}` });
  }
  const param = bracketPath(issue.path);
  if (valueAt(input, issue.path) === undefined) {
    return new PayrailError('parameter_missing', { param, message: `Missing required param: ${param}.` });
  }
  const code = issue.params?.stripe_code ?? 'parameter_invalid';
  return new PayrailError(code, { param, message: issue.code === 'custom' ? issue.message : `Invalid value for ${param}.` });
}

export function bracketPath(path: readonly PropertyKey[]): string {
  const [head, ...rest] = path.map(String);
  return (head ?? '') + rest.map((part) => `[${part}]`).join('');
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const part of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}

/** Stripe's `created` filter: an integer, or a hash with gt, gte, lt, lte. Errors name `created[…]`. */
export function parseCreatedFilter(value: unknown): { gt?: number; gte?: number; lt?: number; lte?: number } | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' || typeof value === 'number') {
    const exact = parseParams(z.object({ created: integer({ min: 0 }) }), { created: value }).created;
    return { gte: exact, lte: exact };
  }
  const bounds = z.strictObject({
    gt: integer({ min: 0 }).optional(),
    gte: integer({ min: 0 }).optional(),
    lt: integer({ min: 0 }).optional(),
    lte: integer({ min: 0 }).optional(),
  });
  return parseParams(z.object({ created: bounds }), { created: value }).created;
}
