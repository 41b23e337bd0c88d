import type { SqlFragment } from '../db.js';
import { joinSql, rawSql, sql } from '../db.js';
import type { Clause, SearchQuery } from './query.js';
import { MIN_SUBSTRING_LENGTH, invalidQuery } from './query.js';

/**
 * What a resource lets a query filter on: each field's SQL expression (a constant of the resource,
 * never text from the request) and how its values compare. `metadata` names the JSON expression that
 * holds the object's metadata.
 */
export type FieldKind = 'string' | 'number' | 'boolean';

export interface SearchField {
  sql: string;
  kind: FieldKind;
}

export interface SearchResource {
  /** The resource's name in errors (`customers`, `payment_intents`, `charges`). */
  name: string;
  fields: Record<string, SearchField>;
  metadata_sql: string;
}

/** One condition for the whole query, to AND with the merchant and page conditions. */
export function compileSearch(resource: SearchResource, query: SearchQuery): SqlFragment {
  const conditions = query.clauses.map((clause) => compileClause(resource, clause));
  return joinSql([rawSql('('), joinSql(conditions, ` ${query.join} `), rawSql(')')], '');
}

function compileClause(resource: SearchResource, clause: Clause): SqlFragment {
  const condition = clause.metadata_key !== undefined ? metadataCondition(resource, clause.metadata_key, clause) : fieldCondition(resource, clause);
  return clause.negated ? joinSql([rawSql('NOT COALESCE('), condition, rawSql(', false)')], '') : condition;
}

function metadataCondition(resource: SearchResource, key: string, clause: Clause): SqlFragment {
  const expression = joinSql([rawSql(`(${resource.metadata_sql} ->> `), sql`${key}`, rawSql(')')], '');
  return stringCondition(expression, clause, `metadata['${key}']`);
}

function fieldCondition(resource: SearchResource, clause: Clause): SqlFragment {
  const field = resource.fields[clause.field];
  if (!field) {
    const known = [...Object.keys(resource.fields), 'metadata'].sort().join(', ');
    throw invalidQuery(`Field '${clause.field}' is an unsupported search field for resource ${resource.name}. Searchable fields: ${known}.`);
  }
  const expression = rawSql(field.sql);
  if (field.kind === 'number') return numberCondition(expression, clause);
  if (field.kind === 'boolean') return booleanCondition(expression, clause);
  return stringCondition(expression, clause, clause.field);
}

function stringCondition(expression: SqlFragment, clause: Clause, name: string): SqlFragment {
  if (clause.value === null) return nullCondition(expression, clause, name);
  if (typeof clause.value !== 'string') throw invalidQuery(`The value for '${name}' must be a quoted string.`);
  if (clause.operator === ':') return joinSql([rawSql('lower('), expression, sql`) = lower(${clause.value})`], '');
  if (clause.operator === '~') {
    if (clause.value.length < MIN_SUBSTRING_LENGTH) throw invalidQuery(`A substring search on '${name}' needs at least ${MIN_SUBSTRING_LENGTH} characters.`);
    return joinSql([expression, sql` ILIKE ${`%${escapeLike(clause.value)}%`}`], '');
  }
  throw invalidQuery(`The operator '${clause.operator}' cannot be used with the string field '${name}'.`);
}

function numberCondition(expression: SqlFragment, clause: Clause): SqlFragment {
  if (clause.value === null) return nullCondition(expression, clause, clause.field);
  if (typeof clause.value !== 'number') throw invalidQuery(`The value for '${clause.field}' must be a number, unquoted.`);
  if (clause.operator === '~') throw invalidQuery(`Substring search cannot be used with the numeric field '${clause.field}'.`);
  const operator = clause.operator === ':' ? '=' : clause.operator;
  return joinSql([rawSql('('), expression, rawSql(`)::numeric ${operator} `), sql`${clause.value}`], '');
}

function booleanCondition(expression: SqlFragment, clause: Clause): SqlFragment {
  if (clause.operator !== ':' || (clause.value !== 'true' && clause.value !== 'false')) {
    throw invalidQuery(`The field '${clause.field}' takes "true" or "false" with ':'.`);
  }
  return joinSql([rawSql('('), expression, sql`) = ${clause.value === 'true'}`], '');
}

function nullCondition(expression: SqlFragment, clause: Clause, name: string): SqlFragment {
  if (clause.operator !== ':') throw invalidQuery(`'${name}' can be compared with null only by ':'.`);
  return joinSql([rawSql('('), expression, rawSql(') IS NULL')], '');
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}
