import { createHash } from 'node:crypto';
import type pg from 'pg';

/**
 * Named prepared statements, bounded per connection. PostgreSQL keeps each one's plan for the life of
 * the session (tens of kB each), and some statement texts follow the request (a list filter with more
 * or fewer `types[]`), so an unbounded set would let one merchant grow a backend's memory without
 * limit. Each connection keeps at most STATEMENTS_PER_CONNECTION_MAX, least recently used first out:
 * the evicted one is DEALLOCATEd on that connection before the statement that displaced it runs.
 */
export const STATEMENTS_PER_CONNECTION_MAX = 200;

/** Names of texts seen recently, so the hot path hashes each text once; bounded like everything here. */
const NAME_MEMO_MAX = 2_000;
const names = new Map<string, string>();

export function statementName(text: string): string {
  const known = names.get(text);
  if (known) return known;
  const name = `p_${createHash('sha1').update(text).digest('base64url')}`;
  if (names.size >= NAME_MEMO_MAX) names.delete(names.keys().next().value as string);
  names.set(text, name);
  return name;
}

/** SQLSTATE invalid_sql_statement_name: the statement was never prepared (its Parse failed). */
const UNKNOWN_STATEMENT = '26000';

/** The driver's record of what it parsed on this connection (pg's Connection, not typed by @types/pg). */
interface ParsedStatements {
  connection: { parsedStatements: Record<string, string> };
}

/**
 * Bounds the named statements `client` prepares. Its queries go out in order, so the DEALLOCATE
 * queued here reaches the server before the new statement's Parse.
 */
export function boundPreparedStatements(client: pg.PoolClient | pg.Client, max = STATEMENTS_PER_CONNECTION_MAX): void {
  const recent = new Map<string, string>();
  const parsed = (client as unknown as ParsedStatements).connection.parsedStatements;
  const query = client.query.bind(client) as (config: unknown, ...rest: unknown[]) => unknown;
  const evictOldest = (): void => {
    const [name, text] = recent.entries().next().value as [string, string];
    recent.delete(name);
    delete parsed[name];
    // Should it fail while the statement exists (the connection is breaking), the driver is told it
    // still exists, so a later use of the name binds to it rather than preparing it twice.
    (query(`DEALLOCATE "${name}"`) as Promise<unknown>).catch((error: { code?: string }) => {
      if (error.code !== UNKNOWN_STATEMENT) parsed[name] = text;
    });
  };
  (client as { query: unknown }).query = (config: unknown, ...rest: unknown[]): unknown => {
    const named = typeof config === 'object' && config !== null ? (config as { name?: unknown; text?: unknown }) : undefined;
    if (typeof named?.name === 'string' && typeof named.text === 'string') {
      const known = recent.delete(named.name);
      recent.set(named.name, named.text);
      if (!known && recent.size > max) evictOldest();
    }
    return query(config, ...rest);
  };
}
