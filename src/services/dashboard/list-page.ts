import { z } from 'zod';
import * as P from '../../platform/http/params.js';

/**
 * The one list shape of the whole dashboard API, whichever area answers it: `{data, has_more,
 * next_cursor}`, with `next_cursor` passed back as `starting_after` for the next page.
 */

export const PAGE_LIMIT_MAX = 100;

export interface CursorPage<T> {
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

/** `limit` and `starting_after`, as every dashboard list takes them. */
export const pageSchema = z.strictObject({
  limit: P.integer({ min: 1, max: PAGE_LIMIT_MAX }).optional(),
  starting_after: P.nonEmptyText(255).optional(),
});
export type PageQuery = z.output<typeof pageSchema>;

/** The page of a query that read `limit + 1` rows: the row past `limit` only tells that another page follows. */
export function pageOf<T>(rows: readonly T[], limit: number, cursorOf: (row: T) => string): CursorPage<T> {
  const data = rows.slice(0, limit);
  const last = data.at(-1);
  const has_more = rows.length > limit;
  return { data, has_more, next_cursor: has_more && last !== undefined ? cursorOf(last) : null };
}
