import peggy from 'peggy';
import { PayrailError } from '../../kernel/errors.js';

/**
 * Stripe's search query language: up to ten clauses joined by spaces or AND, or all by OR (never
 * mixed). A clause is `field:value` (exact), `field~"text"` (substring), `field>n` and the other
 * comparisons, `-` in front to negate, `field:null` for a missing value, and `metadata['key']` as a
 * field. Strings are quoted; numbers are not.
 */
export type Operator = ':' | '~' | '>' | '<' | '>=' | '<=';

export interface Clause {
  field: string;
  /** Set for `metadata['key']`; `field` is then `metadata`. */
  metadata_key?: string;
  operator: Operator;
  value: string | number | null;
  negated: boolean;
}

export interface SearchQuery {
  clauses: Clause[];
  join: 'AND' | 'OR';
}

export const MAX_CLAUSES = 10;
export const MAX_QUERY_LENGTH = 5_000;
/** Substring matching needs at least this many characters, as in Stripe. */
export const MIN_SUBSTRING_LENGTH = 3;

const GRAMMAR = String.raw`
  query = _ first:clause rest:(joiner clause)* _ { return { first, rest }; }
  joiner = __ word:("AND"i / "OR"i) __ { return word.toUpperCase(); }
         / __ { return 'AND'; }
  clause = negated:"-"? field:field _ operator:operator _ value:value {
    return { ...field, operator, value, negated: negated !== null };
  }
  field = "metadata" _ "[" _ key:string _ "]" { return { field: 'metadata', metadata_key: key }; }
        / name:$([a-z_] [a-z0-9_.]*) { return { field: name }; }
  operator = ">=" / "<=" / ":" / "~" / ">" / "<"
  value = string / number / "null" { return null; }
  number = text:$("-"? [0-9]+ ("." [0-9]+)?) { return Number(text); }
  string = "'" chars:$(("\\" . / [^'\\])*) "'" { return chars.replace(/\\(.)/g, '$1'); }
         / '"' chars:$(("\\" . / [^"\\])*) '"' { return chars.replace(/\\(.)/g, '$1'); }
  _ = [ \t\n\r]*
  __ = [ \t\n\r]+
`;

const parser = peggy.generate(GRAMMAR);

interface ParsedQuery {
  first: Clause;
  rest: ['AND' | 'OR', Clause][];
}

/** Parses a query or throws Stripe's 400 for the `query` parameter, naming where it went wrong. */
export function parseSearchQuery(text: string): SearchQuery {
  if (text.length > MAX_QUERY_LENGTH) throw invalidQuery(`The query is longer than ${MAX_QUERY_LENGTH} characters.`);
  let parsed: ParsedQuery;
  try {
    parsed = parser.parse(text) as ParsedQuery;
  } catch (error) {
    const offset = (error as { location?: { start: { offset: number } } }).location?.start.offset ?? 0;
    throw invalidQuery(
      `We were unable to parse your search query. Error at position ${offset + 1}: check the syntax near "${text.slice(offset, offset + 20)}".`,
    );
  }
  const joins = new Set(parsed.rest.map(([join]) => join));
  if (joins.size > 1) throw invalidQuery('A search query cannot combine AND and OR.');
  const clauses = [parsed.first, ...parsed.rest.map(([, clause]) => clause)];
  if (clauses.length > MAX_CLAUSES) throw invalidQuery(`A search query can have at most ${MAX_CLAUSES} clauses.`);
  return { clauses, join: joins.has('OR') ? 'OR' : 'AND' };
}

export function invalidQuery(message: string): PayrailError {
  return new PayrailError('parameter_invalid', { param: 'query', message });
}
