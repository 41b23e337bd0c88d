import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { RULE_MAX_DEPTH, RuleSyntaxError, parseRule } from '../../src/services/risk/domain/rule-syntax.js';
import { checkRule } from '../../src/services/risk/domain/rule-check.js';
import type { Attributes } from '../../src/services/risk/domain/rule-evaluation.js';
import { RuleEvaluationError, evaluate } from '../../src/services/risk/domain/rule-evaluation.js';
import { listMatcher } from '../../src/services/risk/domain/value-list-items.js';
import type { ListMatcher } from '../../src/services/risk/domain/value-list-items.js';

/** The rule's predicate over `attributes`: true, false, or undefined (missing). */
function holds(rule: string, attributes: Attributes, lists: Record<string, ListMatcher> = {}): boolean | undefined {
  return evaluate(checkRule(rule).predicate, { attributes, list: (alias) => lists[alias] });
}

function syntaxError(text: string): RuleSyntaxError {
  try {
    checkRule(text);
  } catch (error) {
    if (error instanceof RuleSyntaxError) return error;
    throw error;
  }
  throw new Error(`expected a syntax error for ${text}`);
}

describe('actions', () => {
  test.each([
    ['Block if :risk_score: > 75', 'block'],
    ['Review if :card_country: != :ip_country:', 'review'],
    ['Request 3D Secure if :amount_in_usd: > 500', 'request_credentials'],
    ['Allow if :email: in @trusted', 'allow'],
    ['  bLoCk   IF :risk_score: > 75  ', 'block'],
    ['request   3d\nsecure if :amount_in_usd: > 500', 'request_credentials'],
  ])('%s', (text, action) => {
    expect(parseRule(text).action).toBe(action);
  });

  test('the predicate is the text after if, trimmed', () => {
    expect(parseRule("Block if   :risk_level: = 'highest'  ").predicate_text).toBe(":risk_level: = 'highest'");
  });
});

describe('operators', () => {
  const attributes: Attributes = {
    risk_score: 80,
    amount_in_usd: 500,
    card_country: 'US',
    ip_country: 'FR',
    email: 'Jane@Example.com',
    is_off_session: true,
    customer: null,
  };
  test.each([
    [':risk_score: = 80', true],
    [':risk_score: != 80', false],
    [':risk_score: > 79', true],
    [':risk_score: > 80', false],
    [':risk_score: >= 80', true],
    [':risk_score: < 80', false],
    [':risk_score: <= 80', true],
    [':amount_in_usd: > 499.5', true],
    [':amount_in_usd: > -1', true],
    [":card_country: = 'us'", true],
    [':card_country: != :ip_country:', true],
    [":card_country: IN ('CA', 'US')", true],
    [":card_country: in ('CA', 'MX')", false],
    [":email: INCLUDES 'example'", true],
    [":email: LIKE 'jane@%.com'", true],
    [":email: LIKE 'j_ne@example.com'", true],
    [":email: LIKE 'jane@example'", false],
    [':is_off_session:', true],
    [':is_off_session: = false', false],
    ['NOT :is_off_session:', false],
    ['is_missing(:customer:)', true],
    ['is_missing(:email:)', false],
    [":risk_score: > 90 OR :card_country: = 'US'", true],
    [":risk_score: > 90 AND :card_country: = 'US'", false],
  ])('%s', (predicate, expected) => {
    expect(holds(`Block if ${predicate}`, attributes)).toBe(expected);
  });

  test('list membership goes through the named value list, by its item type', () => {
    const lists = { trusted: listMatcher('email', ['jane@example.com']), exact: listMatcher('case_sensitive_string', ['Jane@Example.com']) };
    expect(holds('Allow if :email: in @trusted', { email: 'JANE@example.com' }, lists)).toBe(true);
    expect(holds('Allow if :email: in @trusted', { email: 'john@example.com' }, lists)).toBe(false);
    expect(holds('Allow if :email: in @exact', { email: 'jane@example.com' }, lists)).toBe(false);
    expect(holds('Allow if :email: in @exact', { email: 'Jane@Example.com' }, lists)).toBe(true);
  });

  test('a scorer attribute the payment lacks (no email, no email velocity) is missing, a core one an error', () => {
    expect(holds('Block if :total_charges_per_email_daily: > 3', {})).toBeUndefined();
    expect(holds('Block if is_missing(:seconds_since_email_first_seen:)', {})).toBe(true);
    expect(() => holds('Block if :risk_score: > 3', {})).toThrow(RuleEvaluationError);
  });

  test('email_domain is derived from email when not given', () => {
    expect(holds("Block if :email_domain: = 'example.com'", { email: 'a@Example.com' })).toBe(true);
    expect(holds('Block if is_missing(:email_domain:)', { email: null })).toBe(true);
  });
});

describe('precedence', () => {
  const t = { is_off_session: true, is_night_utc: false, is_new_card_on_merchant: false };
  test('NOT binds tighter than AND, AND tighter than OR', () => {
    // true OR (false AND false) = true; (true OR false) AND false would be false.
    expect(holds('Block if :is_off_session: OR :is_night_utc: AND :is_new_card_on_merchant:', t)).toBe(true);
    expect(holds('Block if (:is_off_session: OR :is_night_utc:) AND :is_new_card_on_merchant:', t)).toBe(false);
    // (NOT false) AND true = true; NOT (false AND true) would also be true, so test with OR:
    // (NOT true) OR true = true, NOT (true OR true) = false.
    expect(holds('Block if NOT :is_off_session: OR :is_off_session:', t)).toBe(true);
    expect(holds('Block if NOT (:is_off_session: OR :is_off_session:)', t)).toBe(false);
  });

  test('keywords need no spaces next to parentheses', () => {
    expect(holds("Block if is_missing(:email_domain:)OR NOT(:email_domain: = 'notfraud.com')", { email: 'a@fraud.com' })).toBe(true);
  });
});

describe('missing values (Radar since May 2024)', () => {
  test.each([
    ["Block if :email_domain: != 'notfraud.com'", undefined],
    ["Block if NOT (:email_domain: = 'notfraud.com')", undefined],
    ["Block if is_missing(:email_domain:) OR NOT (:email_domain: = 'notfraud.com')", true],
    ["Block if :email_domain: = 'x' AND :risk_score: > 100", false],
    ["Block if :email_domain: = 'x' OR :risk_score: > 1", true],
    ["Block if :email_domain: = 'x' OR :risk_score: > 100", undefined],
    ["Block if :card_country: IN ('US')", undefined],
  ])('%s', (rule, expected) => {
    expect(holds(rule, { email: null, risk_score: 50, card_country: null })).toBe(expected);
  });
});

describe('errors when a rule is written', () => {
  test.each([
    ['Blok if :risk_score: > 1', 1, 1, 'expected "allow", "block", "request" or "review"'],
    ['Block if :risk_score: >', 1, 24, 'expected ":", "false", "true", number or string but found the end of the rule'],
    ['Block if\n  :risk_score: > 1 AND\n  (:amount_in_usd: > 2', 3, 23, 'expected ")", "AND" or "OR"'],
    ["Block if :risk_score: > 'high'", 1, 25, 'a string literal, but a number is needed'],
    ['Block if :no_such_thing: = 1', 1, 10, 'unknown attribute :no_such_thing:'],
    ["Block if :risk_level: > 'x'", 1, 10, ':risk_level: is a string, but a number is needed for >'],
    ['Block if :risk_score:', 1, 10, ':risk_score: is a number, but a boolean is needed alone'],
    ["Block if :email: = 'unterminated", 1, 20, 'expected'],
    ['Block if :risk_score: IN @list', 1, 10, 'but a string is needed to look up in a list'],
  ])('%s', (text, line, column, reason) => {
    const error = syntaxError(text);
    expect(error.location).toMatchObject({ line, column });
    expect(error.message).toContain(reason);
    expect(error.message).toContain(`line ${line}, column ${column}`);
  });

  test('nesting beyond the limit is refused before the recursive parser runs', () => {
    const deep = `Block if ${'('.repeat(RULE_MAX_DEPTH + 1)}:is_off_session:${')'.repeat(RULE_MAX_DEPTH + 1)}`;
    expect(syntaxError(deep).message).toContain('nests at most');
    const nots = `Block if ${'NOT '.repeat(RULE_MAX_DEPTH + 1)}:is_off_session:`;
    expect(syntaxError(nots).message).toContain('nests at most');
  });

  test('the parser throws nothing but its own syntax error, whatever the text (fuzz)', () => {
    const pieces = fc.constantFrom(
      'Block',
      'Allow',
      'Review',
      'Request 3D Secure',
      ' if ',
      ':risk_score:',
      ':email:',
      ':is_off_session:',
      ' AND ',
      ' OR ',
      'NOT ',
      '(',
      ')',
      "'",
      "'US'",
      ' = ',
      ' != ',
      ' > ',
      ' IN ',
      '@list',
      ' INCLUDES ',
      ' LIKE ',
      '1',
      '-2.5',
      'true',
      ',',
      'is_missing(',
      '\n',
      '\\',
    );
    const text = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.array(pieces, { maxLength: 40 }).map((parts) => parts.join('')),
    );
    fc.assert(
      fc.property(text, (rule) => {
        try {
          checkRule(rule);
        } catch (error) {
          if (!(error instanceof RuleSyntaxError)) throw error;
          expect(error.location.offset).toBeGreaterThanOrEqual(0);
          expect(error.location.offset).toBeLessThanOrEqual(rule.length);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  test('what parses also evaluates to true, false or missing, or throws only RuleEvaluationError', () => {
    const attribute = fc.constantFrom(':risk_score:', ':amount_in_usd:', ':card_country:', ':is_off_session:', ':email:');
    const literal = fc.oneof(fc.integer({ min: -5, max: 200 }).map(String), fc.constantFrom("'US'", "'x'", 'true', 'false'));
    const operator = fc.constantFrom('=', '!=', '<', '>', '<=', '>=', 'INCLUDES', 'LIKE');
    const value = fc.oneof(fc.integer(), fc.string({ maxLength: 5 }), fc.boolean(), fc.constant(null));
    fc.assert(
      fc.property(
        attribute,
        operator,
        fc.oneof(attribute, literal),
        fc.dictionary(fc.constantFrom('risk_score', 'amount_in_usd', 'card_country', 'is_off_session', 'email'), value),
        (left, op, right, attributes) => {
          let predicate;
          try {
            predicate = checkRule(`Block if ${left} ${op} ${right}`).predicate;
          } catch (error) {
            expect(error).toBeInstanceOf(RuleSyntaxError);
            return;
          }
          try {
            expect([true, false, undefined]).toContain(evaluate(predicate, { attributes, list: () => undefined }));
          } catch (error) {
            expect(error).toBeInstanceOf(RuleEvaluationError);
          }
        },
      ),
      { numRuns: 1_000 },
    );
  });
});

describe('round trip', () => {
  type Tree =
    | { kind: 'and' | 'or'; operands: Tree[] }
    | { kind: 'not'; operand: Tree }
    | { kind: 'compare'; operator: string; left: string; right: string }
    | { kind: 'in_list'; left: string; alias: string }
    | { kind: 'is_missing'; attribute: string }
    | { kind: 'truthy'; attribute: string };

  const number_attribute = fc.constantFrom('risk_score', 'amount_in_usd', 'total_charges_per_email_daily');
  const string_attribute = fc.constantFrom('card_country', 'email', 'risk_level');
  const text = fc.string({ maxLength: 8 }).map((value) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`);
  const number = fc.integer({ min: -1000, max: 1000 }).map(String);
  const leaf: fc.Arbitrary<Tree> = fc.oneof(
    fc.record({
      kind: fc.constant('compare' as const),
      operator: fc.constantFrom('<', '>', '<=', '>=', '=', '!='),
      left: number_attribute.map((a) => `:${a}:`),
      right: number,
    }),
    fc.record({
      kind: fc.constant('compare' as const),
      operator: fc.constantFrom('=', '!=', 'INCLUDES', 'LIKE'),
      left: string_attribute.map((a) => `:${a}:`),
      right: text,
    }),
    fc.record({ kind: fc.constant('in_list' as const), left: string_attribute.map((a) => `:${a}:`), alias: fc.stringMatching(/^[a-z_][a-z0-9_]{0,10}$/) }),
    fc.record({ kind: fc.constant('is_missing' as const), attribute: number_attribute }),
    fc.record({ kind: fc.constant('truthy' as const), attribute: fc.constantFrom('is_off_session', 'is_night_utc') }),
  );
  const tree: fc.Arbitrary<Tree> = fc.letrec<{ node: Tree }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.record({ kind: fc.constant('not' as const), operand: tie('node') }),
      fc.record({ kind: fc.constantFrom('and' as const, 'or' as const), operands: fc.array(tie('node'), { minLength: 2, maxLength: 3 }) }),
    ),
  })).node;

  const RANK = { or: 1, and: 2, not: 3 } as const;
  /** Prints with parentheses only where precedence needs them (and around a nested AND/OR of its own kind, which is a group of its own), so the parser's precedence is what is tested. */
  function print(node: Tree, context = 0): string {
    switch (node.kind) {
      case 'and':
      case 'or': {
        const body = node.operands.map((operand) => print(operand, RANK[node.kind] + 1)).join(` ${node.kind.toUpperCase()} `);
        return context > RANK[node.kind] ? `(${body})` : body;
      }
      case 'not':
        return `NOT ${print(node.operand, RANK.not)}`;
      case 'compare':
        return `${node.left} ${node.operator} ${node.right}`;
      case 'in_list':
        return `${node.left} IN @${node.alias}`;
      case 'is_missing':
        return `is_missing(:${node.attribute}:)`;
      case 'truthy':
        return `:${node.attribute}:`;
    }
  }
  /** The parsed tree without offsets. */
  function shape(node: unknown): unknown {
    if (Array.isArray(node)) return node.map(shape);
    if (typeof node !== 'object' || node === null) return node;
    const { offset: _offset, ...rest } = node as Record<string, unknown>;
    return Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, shape(value)]));
  }
  function expected(node: Tree): unknown {
    const operand = (text: string) =>
      text.startsWith(':')
        ? { kind: 'attribute', name: text.slice(1, -1) }
        : { kind: 'literal', value: text.startsWith("'") ? text.slice(1, -1).replace(/\\(.)/g, '$1') : Number(text) };
    switch (node.kind) {
      case 'and':
      case 'or':
        return { kind: node.kind, operands: node.operands.map(expected) };
      case 'not':
        return { kind: 'not', operand: expected(node.operand) };
      case 'compare':
        return { kind: 'compare', operator: node.operator.toLowerCase(), left: operand(node.left), right: operand(node.right) };
      case 'in_list':
        return { kind: 'in_list', left: operand(node.left), alias: node.alias };
      case 'is_missing':
        return { kind: 'is_missing', attribute: { kind: 'attribute', name: node.attribute } };
      case 'truthy':
        return { kind: 'truthy', attribute: { kind: 'attribute', name: node.attribute } };
    }
  }

  test('any predicate printed with minimal parentheses parses back to the same tree', () => {
    fc.assert(
      fc.property(tree, (node) => {
        const text = `Block if ${print(node)}`;
        let parsed;
        try {
          parsed = parseRule(text);
        } catch (error) {
          // Deeper than the limit is refused, with the limit named.
          expect((error as Error).message).toContain('nests at most');
          return;
        }
        expect(shape(parsed.predicate)).toEqual(expected(node));
        expect(parsed.predicate_text).toBe(print(node));
      }),
      { numRuns: 1_000 },
    );
  });
});
