import type { ComparisonOperator, Literal, Operand, Predicate } from './rule-syntax.js';
import { RULE_ATTRIBUTES, derivedAttribute } from './rule-attributes.js';
import type { ListMatcher } from './value-list-items.js';

/**
 * Evaluates a parsed predicate over a payment's attributes, with Radar's rules for missing data: an
 * attribute whose value is null is missing; a comparison involving a missing value is itself missing;
 * AND, OR and NOT propagate missing unless the other side decides (false AND missing is false, true
 * OR missing is true); a rule matches only when its predicate is true. `is_missing(:a:)` asks directly.
 *
 * An attribute the scorer gives only when it can (email velocity without an email) is missing when
 * absent. Anything else wrong at evaluation (an attribute every payment should carry but this one
 * lacks, a value of the wrong type, a list that does not exist) throws RuleEvaluationError: the
 * caller fails closed on it.
 */

/** true, false, or missing (undefined). */
type Truth = boolean | undefined;
type Value = Literal | null;

export type Attributes = Readonly<Record<string, number | string | boolean | null>>;

export class RuleEvaluationError extends Error {
  override name = 'RuleEvaluationError';
}

export interface EvaluationContext {
  attributes: Attributes;
  /** The merchant's value lists by alias; undefined for an alias with no list. */
  list(alias: string): ListMatcher | undefined;
}

export function evaluate(predicate: Predicate, context: EvaluationContext): Truth {
  switch (predicate.kind) {
    case 'and':
      return combine(predicate.operands, context, false);
    case 'or':
      return combine(predicate.operands, context, true);
    case 'not': {
      const inner = evaluate(predicate.operand, context);
      return inner === undefined ? undefined : !inner;
    }
    case 'is_missing':
      return valueOf(predicate.attribute, context) === null;
    case 'truthy': {
      const value = valueOf(predicate.attribute, context);
      if (value === null) return undefined;
      if (typeof value !== 'boolean') throw mismatch(predicate.attribute, 'a boolean', value);
      return value;
    }
    case 'compare':
      return compare(predicate.operator, valueOf(predicate.left, context), valueOf(predicate.right, context), predicate.left);
    case 'in_values': {
      const left = valueOf(predicate.left, context);
      if (left === null) return undefined;
      return predicate.values.some((operand) => compare('=', left, valueOf(operand, context), predicate.left) === true);
    }
    case 'in_list': {
      const matcher = context.list(predicate.alias);
      if (!matcher) throw new RuleEvaluationError(`no value list has the alias @${predicate.alias}`);
      const left = valueOf(predicate.left, context);
      if (left === null) return undefined;
      if (typeof left !== 'string') throw mismatch(predicate.left, 'a string to look up in a list', left);
      return matcher.has(left);
    }
  }
}

/** AND (`decisive` false) or OR (`decisive` true) in Kleene's three-valued logic. */
function combine(operands: readonly Predicate[], context: EvaluationContext, decisive: boolean): Truth {
  let missing = false;
  for (const operand of operands) {
    const truth = evaluate(operand, context);
    if (truth === decisive) return decisive;
    if (truth === undefined) missing = true;
  }
  return missing ? undefined : !decisive;
}

function valueOf(operand: Operand, context: EvaluationContext): Value {
  if (operand.kind === 'literal') return operand.value;
  const { attributes } = context;
  let value: unknown;
  if (Object.hasOwn(attributes, operand.name)) value = attributes[operand.name];
  else {
    const derived = derivedAttribute(operand.name, attributes);
    if (derived) value = derived.value;
    else if (RULE_ATTRIBUTES.get(operand.name)?.always === false) value = null;
    else throw new RuleEvaluationError(`the payment has no attribute :${operand.name}:`);
  }
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' && !Number.isFinite(value)) throw mismatch(operand, 'a finite number', value);
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  throw mismatch(operand, 'a string, number or boolean', value);
}

function compare(operator: ComparisonOperator, left: Value, right: Value, at: Operand): Truth {
  if (left === null || right === null) return undefined;
  if (typeof left !== typeof right) throw new RuleEvaluationError(`cannot compare ${typeof left} with ${typeof right} (${describe(at)})`);
  switch (operator) {
    case '=':
      return equal(left, right);
    case '!=':
      return !equal(left, right);
    case '<':
    case '>':
    case '<=':
    case '>=':
      if (typeof left !== 'number' || typeof right !== 'number') throw mismatch(at, `numbers for ${operator}`, left);
      return operator === '<' ? left < right : operator === '>' ? left > right : operator === '<=' ? left <= right : left >= right;
    case 'includes':
      if (typeof left !== 'string' || typeof right !== 'string') throw mismatch(at, 'strings for INCLUDES', left);
      return left.toLowerCase().includes(right.toLowerCase());
    case 'like':
      if (typeof left !== 'string' || typeof right !== 'string') throw mismatch(at, 'strings for LIKE', left);
      return likePattern(right).test(left);
  }
}

/** Strings compare without regard to case, as Radar's do (`:card_country: = 'us'` matches US cards). */
function equal(left: Literal, right: Literal): boolean {
  return typeof left === 'string' && typeof right === 'string' ? left.toLowerCase() === right.toLowerCase() : left === right;
}

const LIKE_CACHE_MAX = 1_000;
const like_cache = new Map<string, RegExp>();

/** LIKE's pattern: `%` any run of characters, `_` one character, the rest literal; case-insensitive. */
function likePattern(pattern: string): RegExp {
  let regex = like_cache.get(pattern);
  if (!regex) {
    const body = [...pattern].map((char) => (char === '%' ? '.*' : char === '_' ? '.' : char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))).join('');
    regex = new RegExp(`^${body}$`, 'is');
    if (like_cache.size >= LIKE_CACHE_MAX) like_cache.clear();
    like_cache.set(pattern, regex);
  }
  return regex;
}

function describe(operand: Operand): string {
  return operand.kind === 'attribute' ? `:${operand.name}:` : `a literal at offset ${operand.offset}`;
}

function mismatch(operand: Operand, wanted: string, value: unknown): RuleEvaluationError {
  return new RuleEvaluationError(`${describe(operand)} needs ${wanted}, not a ${typeof value}`);
}
