import {
  EMPTY_AMOUNT_STATS,
  MAX_MEMBERS_PER_WINDOW,
  updateAmountStats,
  type AmountStats,
  type WindowQuery,
  type WindowStore,
  type WindowWrite,
} from '../domain/windows.js';
import { SortedWindow } from './sorted-window.js';

/**
 * The windows in this process's memory: the store when REDIS_URL is unset, and the one that answers
 * while Redis does not. It mirrors the Redis scripts operation for operation (same trimming, same
 * eviction order, same statistics arithmetic), which test/unit/risk-window-store.test.ts checks.
 * Bounded: at most `max_windows` windows (the least recently written go first), each at most
 * MAX_MEMBERS_PER_WINDOW members, kept in order (sorted-window.ts) so a read costs a binary search per
 * window length rather than a pass over the members.
 */

export const DEFAULT_MAX_WINDOWS = 200_000;
export const DEFAULT_MAX_AMOUNT_STATS = 50_000;

export class EmbeddedWindowStore implements WindowStore {
  private readonly windows = new Map<string, SortedWindow>();
  private readonly stats = new Map<string, AmountStats>();

  constructor(
    private readonly max_windows = DEFAULT_MAX_WINDOWS,
    private readonly max_stats = DEFAULT_MAX_AMOUNT_STATS,
  ) {}

  /** Windows held now (for the bound's test and the metrics). */
  get size(): number {
    return this.windows.size;
  }

  read(queries: readonly WindowQuery[], stats_key: string, now_ms: number): Promise<{ values: number[]; stats: AmountStats }> {
    const values: number[] = [];
    for (const query of queries) this.answer(query, now_ms, values);
    return Promise.resolve({ values, stats: this.stats.get(stats_key) ?? EMPTY_AMOUNT_STATS });
  }

  write(writes: readonly WindowWrite[], now_ms: number, amount: { stats_key: string; x: number } | null): Promise<void> {
    for (const write of writes) this.apply(write, now_ms);
    if (amount !== null) {
      const current = this.stats.get(amount.stats_key) ?? EMPTY_AMOUNT_STATS;
      this.stats.delete(amount.stats_key);
      this.stats.set(amount.stats_key, updateAmountStats(current, amount.x));
      evictOldest(this.stats, this.max_stats);
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.windows.clear();
    this.stats.clear();
    return Promise.resolve();
  }

  private live(key: string, now_ms: number): SortedWindow | undefined {
    const window = this.windows.get(key);
    if (window === undefined || window.expires_ms > now_ms) return window;
    this.windows.delete(key);
    return undefined;
  }

  private answer(query: WindowQuery, now_ms: number, out: number[]): void {
    const window = this.live(query.key, now_ms);
    if (query.kind === 'score') {
      const at = window?.timeOf(query.member);
      out.push(at !== undefined && at > query.since_ms[0] ? at : -1);
      return;
    }
    const own = query.kind === 'distinct' ? window?.timeOf(query.member) : undefined;
    for (const since of query.since_ms) {
      const absent = query.kind === 'distinct' && !(own !== undefined && own > since);
      out.push((window?.countAfter(since) ?? 0) + (absent ? 1 : 0));
    }
  }

  /** ZREMRANGEBYSCORE -inf now−ttl; ZADD (NX for first-seen); trim to the cap by rank; PEXPIRE ttl. */
  private apply(write: WindowWrite, now_ms: number): void {
    let window = this.live(write.key, now_ms);
    if (window === undefined) {
      window = new SortedWindow();
    } else {
      this.windows.delete(write.key); // re-inserted below: the map's order is least recently written first
    }
    window.dropUntil(now_ms - write.ttl_ms);
    window.add(write.member, now_ms, write.keep_first);
    window.trimTo(MAX_MEMBERS_PER_WINDOW);
    window.expires_ms = now_ms + write.ttl_ms;
    this.windows.set(write.key, window);
    evictOldest(this.windows, this.max_windows);
  }
}

function evictOldest<V>(map: Map<string, V>, max: number): void {
  while (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done === true) return;
    map.delete(oldest.value);
  }
}
