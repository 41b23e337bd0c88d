/**
 * A merchant's routing rules as data: what a rule matches on, what it routes to, and the limits that
 * keep one evaluation small. Pure: the store validates and keeps them, routing.ts evaluates them.
 */
import type { PaymentFacts } from './port.js';

/** Rules per merchant: every payment walks them in order. */
export const MAX_ROUTING_RULES = 50;
/** Accounts one action may name (a priority list or a split). */
export const MAX_ACTION_ACCOUNTS = 10;
/** Values one list condition (currencies, brands, countries, BIN prefixes) may hold. */
export const MAX_CONDITION_VALUES = 50;
export const MAX_METADATA_CONDITIONS = 10;
export const RULE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** The router hands routing the first six digits of the card number (the BIN), never more: a longer prefix could never match. */
export const BIN_PREFIX = /^[0-9]{1,6}$/;

/**
 * All present conditions must hold (AND); a list condition holds when the payment's value is one of
 * the list (OR). An amount range is in the minor units of the rule's one currency, so it needs exactly
 * one `currency`: 1000 is ten euros but a thousand yen.
 */
export interface RuleConditions {
  /** Lower-case ISO 4217 codes. */
  currency?: readonly string[] | undefined;
  /** Inclusive bounds in minor units. */
  amount?: { gte?: number | undefined; lte?: number | undefined } | undefined;
  /** Stripe's brand names: visa, mastercard, amex, … */
  card_brand?: readonly string[] | undefined;
  /** ISO 3166-1 alpha-2 of the card's issuer, upper-case; a card whose country is unknown matches none. */
  card_country?: readonly string[] | undefined;
  /** Leading digits of the card number, 1 to 6 of them. */
  bin_prefix?: readonly string[] | undefined;
  /** Each key must be present in the payment's metadata with exactly this value. */
  metadata?: Readonly<Record<string, string>> | undefined;
}

export interface SplitShare {
  account: string;
  /** Whole percent; an action's weights sum to 100. */
  weight: number;
}

export type RoutingAction = { type: 'priority'; accounts: readonly string[] } | { type: 'split'; splits: readonly SplitShare[] };

export interface RoutingRule {
  name: string;
  conditions: RuleConditions;
  action: RoutingAction;
}

/** What a merchant stored: the rules, walked in order (the first that matches routes), and the default. */
export interface RoutingRules {
  rules: readonly RoutingRule[];
  /** Where a payment no rule matches goes; also the fallback after a matching rule's own accounts. */
  default: RoutingAction;
}

/** What a rule sees of a payment. */
export interface RoutedPayment {
  amount: number;
  currency: string;
  facts: PaymentFacts;
  /** The card number's first six digits (the BIN): never the whole number. */
  bin: string;
  /** Payrail's attempt id: a split's choice is derived from it, so a retried attempt routes the same. */
  attempt_id: string;
}

export function ruleMatches(conditions: RuleConditions, payment: RoutedPayment): boolean {
  const { currency, amount, card_brand, card_country, bin_prefix, metadata } = conditions;
  if (currency && !currency.includes(payment.currency)) return false;
  if (amount?.gte !== undefined && payment.amount < amount.gte) return false;
  if (amount?.lte !== undefined && payment.amount > amount.lte) return false;
  if (card_brand && !card_brand.includes(payment.facts.brand)) return false;
  if (card_country && (payment.facts.country === null || !card_country.includes(payment.facts.country))) return false;
  if (bin_prefix && !bin_prefix.some((prefix) => payment.bin.startsWith(prefix))) return false;
  if (metadata && !Object.entries(metadata).every(([key, value]) => payment.facts.metadata[key] === value)) return false;
  return true;
}

/** The conditions in words, for reasons an operator reads: `card country in [DE,FR], amount ≥ 1000`. */
export function describeConditions(conditions: RuleConditions): string {
  const parts: string[] = [];
  const list = (values: readonly string[]) => `[${values.join(',')}]`;
  if (conditions.currency) parts.push(`currency in ${list(conditions.currency)}`);
  if (conditions.amount?.gte !== undefined) parts.push(`amount ≥ ${conditions.amount.gte}`);
  if (conditions.amount?.lte !== undefined) parts.push(`amount ≤ ${conditions.amount.lte}`);
  if (conditions.card_brand) parts.push(`card brand in ${list(conditions.card_brand)}`);
  if (conditions.card_country) parts.push(`card country in ${list(conditions.card_country)}`);
  if (conditions.bin_prefix) parts.push(`BIN starts with ${list(conditions.bin_prefix)}`);
  if (conditions.metadata) parts.push(...Object.entries(conditions.metadata).map(([key, value]) => `metadata[${key}] = ${value}`));
  return parts.length === 0 ? 'every payment' : parts.join(', ');
}

/** Every account an action names, in its order. */
export function actionAccounts(action: RoutingAction): string[] {
  return action.type === 'priority' ? [...action.accounts] : action.splits.map((share) => share.account);
}

/** Every account the rules and the default name. */
export function referencedAccounts(rules: RoutingRules): Set<string> {
  return new Set([...rules.rules.flatMap((rule) => actionAccounts(rule.action)), ...actionAccounts(rules.default)]);
}
