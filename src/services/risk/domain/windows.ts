/**
 * The sliding windows the scorer reads and writes, as a store-neutral vocabulary. A window is a sorted
 * set of members, each with the time (ms) it was last (or first) seen; both stores (embedded and
 * Redis) implement exactly these operations, so one sequence of writes gives both the same answers.
 */

/** How many members one window keeps: past it the oldest go (ties: the smaller member, as Redis orders). */
export const MAX_MEMBERS_PER_WINDOW = 1024;

/** A read of one window; it answers one value per entry of `since_ms` (one pass over the window). */
export type WindowQuery =
  /** Members seen after each `since_ms`. */
  | { kind: 'count'; key: string; since_ms: readonly number[] }
  /** Members seen after each `since_ms`, counting `member` too when it is not among them (distinct values incl. this one). */
  | { kind: 'distinct'; key: string; since_ms: readonly number[]; member: string }
  /** When `member` was stored (ms), or -1 when it is not or not after `since_ms[0]`. */
  | { kind: 'score'; key: string; member: string; since_ms: readonly [number] };

export interface WindowWrite {
  key: string;
  member: string;
  /** Members at or before now − ttl are dropped, and the whole window expires ttl after its last write. */
  ttl_ms: number;
  /** Keep the first time the member was seen instead of moving it to now (first-seen windows). */
  keep_first: boolean;
}

/** The merchant's running statistics of log amounts in one currency (an exponentially weighted mean and variance). */
export interface AmountStats {
  n: number;
  mean: number;
  variance: number;
}

export const EMPTY_AMOUNT_STATS: AmountStats = { n: 0, mean: 0, variance: 0 };

/**
 * Past this many observations the statistics forget old amounts at a rate of 1/cap per payment, so a
 * merchant whose prices change is judged by the new ones. The Redis script repeats this arithmetic
 * operation for operation, so both stores hold bit-identical values.
 */
export const AMOUNT_STATS_CAP = 5000;

export function updateAmountStats(stats: AmountStats, x: number): AmountStats {
  const n = Math.min(stats.n + 1, AMOUNT_STATS_CAP);
  const alpha = 1 / n;
  const delta = x - stats.mean;
  return { n, mean: stats.mean + alpha * delta, variance: (1 - alpha) * (stats.variance + alpha * delta * delta) };
}

/**
 * The windows' two stores: embedded (one process) and Redis (every process); see adapters/. A window
 * is always written with the same ttl, and no query looks further back than it: then a window expiring
 * on the scorer's clock (embedded) or on Redis's (PEXPIRE) cannot change an answer.
 */
export interface WindowStore {
  /** Answers every query (in order, each `since_ms` a value) and the statistics under `stats_key`, in one round trip. */
  read(queries: readonly WindowQuery[], stats_key: string, now_ms: number): Promise<{ values: number[]; stats: AmountStats }>;
  /** Stores the writes at `now_ms`, and the log amount `x` into the statistics when given. */
  write(writes: readonly WindowWrite[], now_ms: number, amount: { stats_key: string; x: number } | null): Promise<void>;
  close(): Promise<void>;
}
