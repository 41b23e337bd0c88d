import { assert } from '../../../kernel/assert.js';

/**
 * Runs `work` on every item, at most `limit` at a time, in the items' order of start. Payouts of
 * different merchants touch different rows, so they may run side by side; the limit keeps a run from
 * taking more of the pool than a few requests would.
 */
export async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  assert(Number.isInteger(limit) && limit >= 1, 'concurrency limit must be a positive integer');
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
