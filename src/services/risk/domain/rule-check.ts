import type { AttributeType } from './rule-attributes.js';
import { attributeType } from './rule-attributes.js';
import type { Operand, ParsedRule, Predicate } from './rule-syntax.js';
import { RuleSyntaxError, locate, parseRule } from './rule-syntax.js';

/**
 * A rule as it is written: parsed, then checked against the attribute catalog (every attribute
 * known, both sides of a comparison of one type, ordering only on numbers, INCLUDES and LIKE only on
 * strings, lists only of strings). A problem is a RuleSyntaxError at the offending operand.
 */

export interface CheckedRule extends ParsedRule {
  /** The aliases of the value lists the rule looks into. */
  aliases: string[];
}

export function checkRule(text: string): CheckedRule {
  const parsed = parseRule(text);
  const aliases = new Set<string>();
  checkPredicate(parsed.predicate, text, aliases);
  return { ...parsed, aliases: [...aliases] };
}

function checkPredicate(predicate: Predicate, text: string, aliases: Set<string>): void {
  switch (predicate.kind) {
    case 'and':
    case 'or':
      for (const operand of predicate.operands) checkPredicate(operand, text, aliases);
      return;
    case 'not':
      return checkPredicate(predicate.operand, text, aliases);
    case 'is_missing':
      typeOf(predicate.attribute, text);
      return;
    case 'truthy':
      expect(predicate.attribute, text, 'boolean', 'alone as a condition');
      return;
    case 'in_list':
      aliases.add(predicate.alias);
      expect(predicate.left, text, 'string', 'to look up in a list');
      return;
    case 'in_values': {
      const left = typeOf(predicate.left, text);
      for (const value of predicate.values) expect(value, text, left, `to be in a list of ${left} values`);
      return;
    }
    case 'compare': {
      const left = typeOf(predicate.left, text);
      if (predicate.operator === 'includes' || predicate.operator === 'like') {
        expect(predicate.left, text, 'string', `for ${predicate.operator.toUpperCase()}`);
        expect(predicate.right, text, 'string', `for ${predicate.operator.toUpperCase()}`);
      } else if (predicate.operator !== '=' && predicate.operator !== '!=') {
        expect(predicate.left, text, 'number', `for ${predicate.operator}`);
        expect(predicate.right, text, 'number', `for ${predicate.operator}`);
      } else {
        expect(predicate.right, text, left, `to compare with a ${left}`);
      }
    }
  }
}

function typeOf(operand: Operand, text: string): AttributeType {
  if (operand.kind === 'literal') return typeof operand.value as AttributeType;
  const type = attributeType(operand.name);
  if (!type) throw new RuleSyntaxError(`unknown attribute :${operand.name}:`, locate(text, operand.offset), []);
  return type;
}

function expect(operand: Operand, text: string, wanted: AttributeType, purpose: string): void {
  const actual = typeOf(operand, text);
  if (actual === wanted) return;
  const what = operand.kind === 'attribute' ? `:${operand.name}: is a ${actual}` : `a ${actual} literal`;
  throw new RuleSyntaxError(`${what}, but a ${wanted} is needed ${purpose}`, locate(text, operand.offset), [wanted]);
}
