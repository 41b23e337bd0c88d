import peggy from 'peggy';

/**
 * Stripe Radar's rule language, parsed by a PEG grammar (peggy) into a small tree:
 *
 *   Block if :risk_score: > 75
 *   Review if :card_country: != :ip_country: AND NOT is_missing(:ip_country:)
 *   Request 3D Secure if :amount_in_usd: > 500
 *   Allow if :email: IN @trusted OR :card_country: IN ('US', 'CA')
 *
 * Keywords are case-insensitive; attributes are `:name:`, strings single-quoted (`\'` escapes a
 * quote), lists `@alias`. NOT binds tighter than AND, AND tighter than OR; parentheses group.
 */

export type RuleAction = 'allow' | 'block' | 'review' | 'request_credentials';
export type Literal = string | number | boolean;
export type ComparisonOperator = '=' | '!=' | '<' | '>' | '<=' | '>=' | 'includes' | 'like';

export type Operand = { kind: 'attribute'; name: string; offset: number } | { kind: 'literal'; value: Literal; offset: number };

export type Predicate =
  | { kind: 'and' | 'or'; operands: Predicate[] }
  | { kind: 'not'; operand: Predicate }
  | { kind: 'compare'; operator: ComparisonOperator; left: Operand; right: Operand }
  | { kind: 'in_list'; left: Operand; alias: string; offset: number }
  | { kind: 'in_values'; left: Operand; values: Operand[] }
  | { kind: 'is_missing'; attribute: Operand & { kind: 'attribute' } }
  /** A boolean attribute alone: `Block if :is_off_session:`. */
  | { kind: 'truthy'; attribute: Operand & { kind: 'attribute' } };

export interface ParsedRule {
  action: RuleAction;
  predicate: Predicate;
  /** The text after `if`, as written (Stripe's `rule.predicate`). */
  predicate_text: string;
}

/** Longest rule text accepted, and deepest nesting: bounds the parser's and the evaluator's work. */
export const RULE_TEXT_MAX_LENGTH = 2_000;
export const RULE_MAX_DEPTH = 32;

const GRAMMAR = String.raw`
  rule = _ action:action __ if_word _ start:offset predicate:or_expr _ { return { action, predicate, start }; }

  action = "request"i __ "3d"i __ "secure"i !word { return 'request_credentials'; }
         / "allow"i !word { return 'allow'; }
         / "block"i !word { return 'block'; }
         / "review"i !word { return 'review'; }
  if_word = "if"i !word

  or_expr = head:and_expr tail:(_ "OR"i !word _ @and_expr)* { return tail.length ? { kind: 'or', operands: [head, ...tail] } : head; }
  and_expr = head:unary tail:(_ "AND"i !word _ @unary)* { return tail.length ? { kind: 'and', operands: [head, ...tail] } : head; }
  unary = "NOT"i !word _ operand:unary { return { kind: 'not', operand }; }
        / primary
  primary = "(" _ @or_expr _ ")"
          / is_missing
          / condition
          / attribute:attribute { return { kind: 'truthy', attribute }; }

  is_missing = "is_missing"i _ "(" _ attribute:attribute _ ")" { return { kind: 'is_missing', attribute }; }

  condition = left:operand _ "IN"i !word _ at:offset "@" alias:$alias_char+ { return { kind: 'in_list', left, alias, offset: at }; }
            / left:operand _ "IN"i !word _ "(" _ head:operand tail:(_ "," _ @operand)* _ ")" { return { kind: 'in_values', left, values: [head, ...tail] }; }
            / left:operand _ operator:comparison _ right:operand { return { kind: 'compare', operator, left, right }; }
  comparison = "!=" / "<=" / ">=" / "=" / "<" / ">"
             / "INCLUDES"i !word { return 'includes'; }
             / "LIKE"i !word { return 'like'; }

  operand = attribute / literal
  attribute = at:offset ":" name:$([a-z_]i [a-z0-9_]i*) ":" { return { kind: 'attribute', name: name.toLowerCase(), offset: at }; }
  literal = at:offset value:(string / number / boolean) { return { kind: 'literal', value, offset: at }; }
  string "string" = "'" chars:$("\\" . / [^'\\])* "'" { return chars.replace(/\\(.)/g, '$1'); }
  number "number" = text:$("-"? [0-9]+ ("." [0-9]+)?) !word { return Number(text); }
  boolean = "true"i !word { return true; } / "false"i !word { return false; }

  offset = "" { return location().start.offset; }
  word = [a-z0-9_]i
  alias_char = [a-z0-9_]i
  _ "whitespace" = [ \t\r\n]*
  __ "whitespace" = [ \t\r\n]+
`;

const parser = peggy.generate(GRAMMAR);

/** Where a rule's text is wrong: 1-based line and column, 0-based offset, and what would have been accepted there. */
export class RuleSyntaxError extends Error {
  override name = 'RuleSyntaxError';
  constructor(
    readonly reason: string,
    readonly location: { line: number; column: number; offset: number },
    readonly expected: readonly string[],
  ) {
    super(`${reason} at line ${location.line}, column ${location.column} (offset ${location.offset})`);
  }
}

interface PeggyError {
  location?: { start: { offset: number; line: number; column: number } };
  expected?: { type: string; description?: string; text?: string }[] | null;
  found?: string | null;
}

/** Parses a whole rule (`Block if …`), or throws RuleSyntaxError naming where and what was expected. */
export function parseRule(text: string): ParsedRule {
  if (text.length > RULE_TEXT_MAX_LENGTH) {
    throw new RuleSyntaxError(`a rule is at most ${RULE_TEXT_MAX_LENGTH} characters`, locate(text, RULE_TEXT_MAX_LENGTH), []);
  }
  const nesting = tooDeep(text);
  if (nesting !== undefined) throw new RuleSyntaxError(`a rule nests at most ${RULE_MAX_DEPTH} levels deep`, locate(text, nesting), []);
  let parsed: { action: RuleAction; predicate: Predicate; start: number };
  try {
    parsed = parser.parse(text) as typeof parsed;
  } catch (error) {
    throw syntaxError(text, error);
  }
  const depth = depthOf(parsed.predicate);
  if (depth > RULE_MAX_DEPTH) throw new RuleSyntaxError(`a rule nests at most ${RULE_MAX_DEPTH} levels deep`, locate(text, parsed.start), []);
  return { action: parsed.action, predicate: parsed.predicate, predicate_text: text.slice(parsed.start).trim() };
}

function syntaxError(text: string, error: unknown): RuleSyntaxError {
  const peggy_error = error as PeggyError;
  if (!peggy_error.location) throw error;
  const expected = [...new Set((peggy_error.expected ?? []).map(describe))].sort();
  const found = peggy_error.found === null || peggy_error.found === undefined ? 'the end of the rule' : JSON.stringify(peggy_error.found);
  const list = expected.length <= 1 ? (expected[0] ?? 'nothing') : `${expected.slice(0, -1).join(', ')} or ${expected.at(-1)}`;
  const { offset } = peggy_error.location.start;
  return new RuleSyntaxError(`expected ${list} but found ${found}`, locate(text, offset), expected);
}

function describe(expectation: { type: string; description?: string; text?: string }): string {
  if (expectation.type === 'literal' && expectation.text !== undefined) return JSON.stringify(expectation.text);
  if (expectation.type === 'end') return 'the end of the rule';
  return expectation.description ?? expectation.type;
}

/** 1-based line and column of `offset`, counted in UTF-16 units as peggy counts them. */
export function locate(text: string, offset: number): { line: number; column: number; offset: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  return { line, column, offset };
}

/** The offset of the first parenthesis nested deeper than allowed (outside strings), checked before the recursive parser runs. */
function tooDeep(text: string): number | undefined {
  let depth = 0;
  let in_string = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (in_string) {
      if (char === '\\') i++;
      else if (char === "'") in_string = false;
    } else if (char === "'") in_string = true;
    else if (char === '(' && ++depth > RULE_MAX_DEPTH) return i;
    else if (char === ')') depth--;
  }
  return undefined;
}

function depthOf(predicate: Predicate): number {
  switch (predicate.kind) {
    case 'and':
    case 'or':
      return 1 + Math.max(...predicate.operands.map(depthOf));
    case 'not':
      return 1 + depthOf(predicate.operand);
    default:
      return 1;
  }
}

/** The rule's text in Radar's form: `Block if <predicate>`. */
export function ruleText(action: RuleAction, predicate_text: string): string {
  const word = { allow: 'Allow', block: 'Block', review: 'Review', request_credentials: 'Request 3D Secure' }[action];
  return `${word} if ${predicate_text}`;
}
