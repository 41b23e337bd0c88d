import type { Attributes } from './rule-evaluation.js';
import { RuleEvaluationError, evaluate } from './rule-evaluation.js';
import type { Predicate, RuleAction } from './rule-syntax.js';
import type { ListMatcher } from './value-list-items.js';

/**
 * A merchant's rules over one payment's attributes, in Stripe's order: Request 3D Secure rules, then
 * Allow, then Block, then Review; within an action, in the merchant's order. The first rule whose
 * predicate is true decides.
 *
 * Fail closed: a rule that cannot be evaluated (unknown attribute, wrong type, missing list) stops
 * anything from allowing the payment. Only Block rules are evaluated after it — a block still wins —
 * and otherwise the verdict is review, naming the rule that failed and why.
 */

export const ACTION_ORDER: readonly RuleAction[] = ['request_credentials', 'allow', 'block', 'review'];

export interface RuleRef {
  id: string;
  action: RuleAction;
  predicate: string;
}

export interface RuleVerdict {
  action: RuleAction | null;
  rule: RuleRef | null;
  /** Set when a rule threw at evaluation: the verdict is then 'review' (fail closed). */
  error?: string;
}

export interface CompiledRule {
  ref: RuleRef;
  /** null for a stored rule the language no longer accepts (`broken` says why): it fails closed. */
  predicate: Predicate | null;
  broken?: string;
  /** Position within its action, in the merchant's order. */
  position: number;
}

/** Orders rules for evaluation: by action (ACTION_ORDER), then position, then id. */
export function evaluationOrder(rules: readonly CompiledRule[]): CompiledRule[] {
  const rank = (rule: CompiledRule) => ACTION_ORDER.indexOf(rule.ref.action);
  return [...rules].sort((a, b) => rank(a) - rank(b) || a.position - b.position || (a.ref.id < b.ref.id ? -1 : a.ref.id > b.ref.id ? 1 : 0));
}

/** `ordered` must come from evaluationOrder. */
export function decide(ordered: readonly CompiledRule[], attributes: Attributes, lists: ReadonlyMap<string, ListMatcher>): RuleVerdict {
  const context = { attributes, list: (alias: string) => lists.get(alias) };
  let failure: { rule: RuleRef; error: string } | undefined;
  for (const rule of ordered) {
    if (failure && rule.ref.action !== 'block') continue;
    let matched: boolean | undefined;
    try {
      if (rule.predicate === null) throw new RuleEvaluationError(rule.broken ?? 'the rule cannot be read');
      matched = evaluate(rule.predicate, context);
    } catch (error) {
      // Whatever went wrong, the payment is not let through on it.
      failure ??= { rule: rule.ref, error: error instanceof RuleEvaluationError ? error.message : 'the evaluator failed' };
      continue;
    }
    if (matched === true) return { action: rule.ref.action, rule: rule.ref };
  }
  if (failure) return { action: 'review', rule: failure.rule, error: `rule ${failure.rule.id} could not be evaluated: ${failure.error}` };
  return { action: null, rule: null };
}
