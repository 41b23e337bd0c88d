import type pg from 'pg';
import { assert } from '../kernel/assert.js';
import type { SqlFragment } from './db.js';
import { combineWrites } from './db.js';
import type { MergeableWrite } from './group-commit.js';

/**
 * Writes declared by their shape (a table, its columns and their types), so that group commit
 * (group-commit.ts) can merge the same writes of one merchant's concurrent requests into one
 * statement per table: PostgreSQL's cost is mostly per statement, not per row.
 *
 * A write alone is an ordinary statement of its own values (`VALUES ($1, …)`, `WHERE key = $n`), as
 * if written by hand. Merged, each column of a table's rows travels as one array (`unnest($1::text[],
 * $2::bigint[], …)`) in a statement planned for the rows it carries (see `MERGED_STATEMENTS_PREPARED`).
 * Arrays rather than a JSON array of row objects: PostgreSQL turns JSON objects into rows
 * (`json_to_recordset`, `json_to_record`) at about 25 ns a byte, four times what parsing the same
 * values as arrays costs, and the hot path's rows are a kilobyte or more of JSON each.
 */

/** The PostgreSQL types a shape's columns are declared with. `json`/`jsonb` values are JSON text, embedded as is. */
export type ColumnType = 'text' | 'bigint' | 'int' | 'smallint' | 'boolean' | 'json' | 'jsonb';

export interface WriteShape {
  /** Tells shapes apart cheaply: a request's list of shapes is looked up by their ids on the hot path. */
  readonly id: number;
  /** The statement of many rows, with a placeholder per column: its values as an array. */
  readonly merged_text: string;
  /** The statement of `rows` alone, with a placeholder per value. */
  single_text(rows: number): string;
  readonly types: readonly ColumnType[];
}

export interface RowsWrite extends SqlFragment {
  readonly shape: WriteShape;
  /** The rows' values, in the shape's column order. */
  readonly rows: ReadonlyArray<readonly unknown[]>;
}

const PLACEHOLDER = '\u0000';
let shapes_declared = 0;
/** A write's rows: more is a bug (the hot path writes a handful per request). */
const ROWS_PER_WRITE_MAX = 1_000;

/** The name of the shape's i-th value in a merged statement's rows. */
const field = (i: number) => `c${i}`;
const parameter = (type: ColumnType) => `${PLACEHOLDER}::${type}`;
/**
 * The rows of a merged statement, a column per array. The statement is planned with its arrays'
 * values (unnamed statements' parameters are constants to the planner), so it knows how many rows
 * there are and finds an update's targets by their key's index.
 */
const mergedRows = (types: readonly ColumnType[]) =>
  `unnest(${types.map((type) => `${PLACEHOLDER}::${type}[]`).join(', ')}) AS r(${types.map((_, i) => field(i)).join(', ')})`;

/**
 * `INSERT INTO table (columns…, constant columns…)`: values in the order of `columns`; `constants`
 * are SQL expressions every row gets (e.g. `'pending'`).
 */
export function insertShape(table: string, columns: Record<string, ColumnType>, constants: Record<string, string> = {}): WriteShape {
  const types = Object.values(columns);
  const into = `INSERT INTO ${table} (${[...Object.keys(columns), ...Object.keys(constants)].join(', ')})`;
  const tuple = `(${[...types.map(parameter), ...Object.values(constants)].join(', ')})`;
  const sources = [...types.map((_, i) => `r.${field(i)}`), ...Object.values(constants)].join(', ');
  const singles = new Map<number, string>();
  return {
    id: (shapes_declared += 1),
    merged_text: `${into} SELECT ${sources} FROM ${mergedRows(types)}`,
    single_text: (rows) => memo(singles, rows, () => `${into} VALUES ${Array.from({ length: rows }, () => tuple).join(', ')}`),
    types,
  };
}

export interface UpdateSpec {
  /** Columns set from each row's values, in order. */
  set: Record<string, ColumnType>;
  /** Columns set to the same SQL expression in every row. */
  set_constants?: Record<string, string>;
  /** The row's key: values after the `set` ones. It must be unique, so a row updates at most one row. */
  key: Record<string, ColumnType>;
  /** The optimistic guards: columns of the target compared with values after the key's (`version`, a status). */
  expected?: Record<string, ColumnType>;
}

/** `UPDATE table SET … WHERE key AND guards`: a row's values are set, then key, then expected. */
export function updateShape(table: string, spec: UpdateSpec): WriteShape {
  const groups = [spec.set, spec.key, spec.expected ?? {}];
  const types = groups.flatMap((group) => Object.values(group));
  const columns = groups.flatMap((group) => Object.keys(group));
  const set_count = Object.keys(spec.set).length;
  const constants = Object.entries(spec.set_constants ?? {}).map(([column, expr]) => `${column} = ${expr}`);
  const statement = (value: (i: number) => string, from: string) => {
    const assignments = [...columns.slice(0, set_count).map((column, i) => `${column} = ${value(i)}`), ...constants];
    const conditions = columns.slice(set_count).map((column, j) => `t.${column} = ${value(set_count + j)}`);
    return `UPDATE ${table} AS t SET ${assignments.join(', ')}${from} WHERE ${conditions.join(' AND ')}`;
  };
  const merged_text = statement((i) => `r.${field(i)}`, ` FROM ${mergedRows(types)}`);
  const single = statement((i) => parameter(types[i] as ColumnType), '');
  return {
    id: (shapes_declared += 1),
    merged_text,
    single_text: (rows) => {
      assert(rows === 1, 'an update shape writes one row at a time alone');
      return single;
    },
    types,
  };
}

function memo(texts: Map<number, string>, rows: number, build: () => string): string {
  let text = texts.get(rows);
  if (text === undefined) texts.set(rows, (text = build()));
  return text;
}

/** One request's write of `rows` (each in the shape's value order). */
export function rowsWrite(shape: WriteShape, rows: ReadonlyArray<readonly unknown[]>): RowsWrite {
  assert(rows.length > 0 && rows.length <= ROWS_PER_WRITE_MAX, `a write has 1..${ROWS_PER_WRITE_MAX} rows, not ${rows.length}`);
  for (const row of rows) assert(row.length === shape.types.length, `a row of this shape has ${shape.types.length} values, not ${row.length}`);
  return { shape, rows, text: shape.single_text(rows.length), values: rows.length === 1 ? (rows[0] as readonly unknown[]) : rows.flat() };
}

export function isRowsWrite(write: SqlFragment): write is RowsWrite {
  return 'shape' in write && 'rows' in write;
}

/**
 * Merged statements are planned each time they run (unnamed), not prepared: a prepared statement's
 * plan is kept for the connection's life, and one made while a table was nearly empty (a new install)
 * scans it whole, for every batch, long after it has grown. Planning costs about 0.4 ms, which the
 * merged requests share; a write alone stays a prepared statement of its own.
 */
const MERGED_STATEMENTS_PREPARED = false;
/** Fewer requests than this write alone (each its own statement, in the same transaction): planning would cost more than merging saves. */
const MERGE_MIN_REQUESTS = 4;

/**
 * One request's row writes as one statement that commits them together, guarded as `combineWrites`
 * is. Requests whose writes have the same shapes in the same order share a merged statement, each
 * shape's rows joined; its guard is that every shape wrote as many rows as were given (an UPDATE
 * whose key or expected version no longer matches writes none), or nothing is written.
 */
export function combineRowWrites(writes: readonly RowsWrite[]): MergeableWrite {
  assert(writes.length > 0, 'combineRowWrites needs at least one write');
  return new CombinedRowWrites(writes);
}

class CombinedRowWrites implements MergeableWrite {
  readonly merge_key: string;
  readonly merge_min = MERGE_MIN_REQUESTS;

  constructor(readonly parts: readonly RowsWrite[]) {
    this.merge_key = mergedText(parts.map((part) => part.shape));
  }

  merged(writes: readonly MergeableWrite[]): SqlFragment {
    if (writes.length === 1) return combineWrites(this.parts);
    const requests = writes.map((write) => {
      assert(write instanceof CombinedRowWrites && write.merge_key === this.merge_key, 'merged writes have the same shapes');
      return write.parts;
    });
    return { text: this.merge_key, values: mergedValues(requests), prepared: MERGED_STATEMENTS_PREPARED };
  }

  answer(result: pg.QueryResult): pg.QueryResult {
    return result;
  }
}

/** For each shape (in order), each column of every request's rows as one array literal; then each shape's row count. */
function mergedValues(requests: ReadonlyArray<readonly RowsWrite[]>): unknown[] {
  const first = requests[0] as readonly RowsWrite[];
  const columns = first.flatMap((part, i) => part.shape.types.map((type, column) => columnLiteral(requests, i, column, type)));
  const counts = first.map((_, i) => requests.reduce((total, parts) => total + (parts[i] as RowsWrite).rows.length, 0));
  return [...columns, ...counts];
}

/**
 * The `column`-th value of every row of each request's `part`-th write, as a PostgreSQL array literal:
 * written here in one pass, since pg's own array encoding escapes each string twice over.
 */
function columnLiteral(requests: ReadonlyArray<readonly RowsWrite[]>, part: number, column: number, type: ColumnType): string {
  const elements: string[] = [];
  for (const parts of requests) {
    for (const row of (parts[part] as RowsWrite).rows) elements.push(arrayElement(type, row[column]));
  }
  return `{${elements.join(',')}}`;
}

/**
 * An array element is quoted, with `"` and `\` escaped by a backslash. For a string without control
 * characters or surrogates, that is exactly what JSON.stringify writes, natively and about three
 * times as fast as a replace; any other string is escaped by hand (JSON would write `\n` where the
 * array needs the newline itself).
 */
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const NOT_AS_JSON_WRITES_IT = /[\u0000-\u001f\ud800-\udfff]/;

function quotedElement(value: string): string {
  if (!NOT_AS_JSON_WRITES_IT.test(value)) return JSON.stringify(value);
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

function arrayElement(type: ColumnType, value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return quotedElement(value);
  assert(type !== 'json' && type !== 'jsonb', 'a json value is given as JSON text');
  if (typeof value === 'number') assert(Number.isFinite(value), `a ${type} value is a finite number`);
  assert(typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean', `a ${type} value is a string, a number or a boolean`);
  return `${value}`;
}

/** Texts remembered; past it the oldest is forgotten (a use case may make a varying number of writes). */
const MERGED_TEXTS_MAX = 500;
const merged_texts = new Map<string, string>();

function mergedText(shapes: readonly WriteShape[]): string {
  const key = shapes.map((shape) => shape.id).join(',');
  const known = merged_texts.get(key);
  if (known !== undefined) return known;
  const parts = shapes.map((shape, i) => `w${i} AS (${shape.merged_text} RETURNING 1)`);
  const checks = shapes.map((_, i) => `(SELECT count(*) FROM w${i}) = ${PLACEHOLDER}::bigint`).join(' AND ');
  const text = `WITH ${parts.join(',\n')}\nSELECT public.payrail_guard(${checks}) AS ok`;
  if (merged_texts.size >= MERGED_TEXTS_MAX) merged_texts.delete(merged_texts.keys().next().value as string);
  merged_texts.set(key, text);
  return text;
}
