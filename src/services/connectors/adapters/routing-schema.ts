import { z } from 'zod';
import { PayrailError } from '../../../kernel/errors.js';
import * as P from '../../../platform/http/params.js';
import type { RoutingAction, RoutingRules } from '../domain/routing-rules.js';
import { BIN_PREFIX, MAX_ACTION_ACCOUNTS, MAX_CONDITION_VALUES, MAX_METADATA_CONDITIONS, MAX_ROUTING_RULES, RULE_NAME } from '../domain/routing-rules.js';

/**
 * The shape of routing rules as an operator sends them (JSON, or form fields `rules[0][action][type]`),
 * checked field by field so an error names the param at fault. Whether the accounts exist is the
 * use case's check (it reads them); this is shape and arithmetic only.
 */

const CARD_BRANDS = ['visa', 'mastercard', 'amex', 'discover', 'diners', 'jcb', 'unionpay', 'unknown'] as const;
export const ACCOUNT_ID = /^mca_[A-Za-z0-9]{1,64}$/;

function fail(ctx: z.RefinementCtx, message: string): typeof z.NEVER {
  ctx.addIssue({ code: 'custom', message, params: { stripe_code: 'parameter_invalid' } });
  return z.NEVER;
}

/** A list sent as a JSON array or as form fields `x[0]`, `x[1]`: at least one item, at most `max`. */
const list = <S extends z.ZodType>(item: S, max: number) => z.preprocess(asArray, z.array(item).min(1).max(max));

function asArray(value: unknown): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.values(value) : value;
}

const pattern = (regex: RegExp, what: string, normalize: (value: string) => string = (value) => value) =>
  P.text(100).transform((value, ctx) => (regex.test(normalize(value)) ? normalize(value) : fail(ctx, `Invalid value: ${what}.`)));

const accountId = pattern(ACCOUNT_ID, 'connector account ids are mca_ followed by letters and digits');

const priority = z.strictObject({ type: z.literal('priority'), accounts: list(accountId, MAX_ACTION_ACCOUNTS) });
const split = z.strictObject({
  type: z.literal('split'),
  splits: list(z.strictObject({ account: accountId, weight: P.integer({ min: 0, max: 100 }) }), MAX_ACTION_ACCOUNTS),
});

const action = z.discriminatedUnion('type', [priority, split]);

const conditions = z.strictObject({
  currency: list(P.currency(), MAX_CONDITION_VALUES).optional(),
  amount: z.strictObject({ gte: P.amount().optional(), lte: P.amount().optional() }).optional(),
  card_brand: list(P.oneOf(CARD_BRANDS), MAX_CONDITION_VALUES).optional(),
  card_country: list(
    pattern(/^[A-Z]{2}$/, 'card countries are ISO 3166-1 alpha-2 codes', (value) => value.toUpperCase()),
    MAX_CONDITION_VALUES,
  ).optional(),
  bin_prefix: list(pattern(BIN_PREFIX, 'BIN prefixes are 1 to 6 digits'), MAX_CONDITION_VALUES).optional(),
  metadata: z
    .record(z.string().min(1).max(40), P.nonEmptyText(500))
    .refine((value) => Object.keys(value).length <= MAX_METADATA_CONDITIONS, `At most ${MAX_METADATA_CONDITIONS} metadata conditions.`)
    .optional(),
});

const rule = z.strictObject({
  name: pattern(RULE_NAME, 'rule names are 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit'),
  conditions: conditions.optional(),
  action,
});

export const routingSchema = z.strictObject({
  /** Optional: without rules, every payment takes the default. */
  rules: z
    .preprocess((value) => (value === '' ? [] : asArray(value)), z.array(rule).max(MAX_ROUTING_RULES))
    .optional()
    .transform((value) => value ?? []),
  default: action,
  /** Optimistic concurrency: refused unless the rules in force are still this version. */
  expected_version: P.integer({ min: 0 }).optional(),
});

/** Parses and checks what shape alone cannot: weights summing to 100, one currency under an amount range, unique names. */
export function parseRouting(body: unknown): { rules: RoutingRules; expected_version: number | undefined } {
  const parsed = P.parseParams(routingSchema, body);
  const names = new Set<string>();
  const rules = parsed.rules.map((entry, i) => {
    const param = `rules[${i}]`;
    if (names.has(entry.name)) throw invalid(`${param}[name]`, `Rule names must be unique: '${entry.name}' is used twice.`);
    names.add(entry.name);
    const found = entry.conditions ?? {};
    if (found.amount && found.currency?.length !== 1)
      throw invalid(`${param}[conditions][amount]`, 'An amount range is in minor units of one currency: give exactly one currency with it.');
    if (found.amount?.gte !== undefined && found.amount.lte !== undefined && found.amount.gte > found.amount.lte)
      throw invalid(`${param}[conditions][amount]`, 'amount[gte] must not be above amount[lte].');
    checkAction(entry.action, `${param}[action]`);
    return { name: entry.name, conditions: found, action: entry.action };
  });
  checkAction(parsed.default, 'default');
  return { rules: { rules, default: parsed.default }, expected_version: parsed.expected_version };
}

function checkAction(action: RoutingAction, param: string): void {
  const accounts = action.type === 'priority' ? action.accounts : action.splits.map((share) => share.account);
  if (new Set(accounts).size !== accounts.length) throw invalid(param, 'An action names each account once.');
  if (action.type === 'split' && action.splits.reduce((sum, share) => sum + share.weight, 0) !== 100)
    throw invalid(`${param}[splits]`, 'Split weights are whole percents summing to 100.');
}

function invalid(param: string, message: string): PayrailError {
  return new PayrailError('parameter_invalid', { param, message });
}
