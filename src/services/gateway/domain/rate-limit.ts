import { assert } from '../../../kernel/assert.js';

/**
 * Token buckets, one per key (a merchant), in process memory: a key may spend up to `burst` cost units
 * at once and `rate_per_s` units per second after that. This is the single-process binding; with
 * REDIS_URL the same bucket lives in Redis (adapters/redis-limits.ts) and every process shares it.
 */
export interface RateLimitSettings {
  rate_per_s: number;
  burst: number;
}

/** Whether a request may go on; when not, how long until its cost is available again. */
export type LimitDecision = { allowed: true } | { allowed: false; retry_after_ms: number };

const MAX_TRACKED_KEYS = 100_000;

interface Bucket {
  tokens: number;
  updated_ms: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly settings: RateLimitSettings) {
    assert(settings.rate_per_s > 0 && settings.burst >= 1, 'rate limits must allow at least one request');
  }

  /** Spends `cost` units of `key`'s bucket (a cost above the burst spends the whole burst, so it can still pass). */
  take(key: string, cost: number, now_ms: number): LimitDecision {
    const bucket = this.buckets.get(key) ?? this.track(key, now_ms);
    const elapsed_ms = Math.max(0, now_ms - bucket.updated_ms);
    bucket.tokens = Math.min(this.settings.burst, bucket.tokens + (elapsed_ms * this.settings.rate_per_s) / 1000);
    bucket.updated_ms = now_ms;
    const spend = Math.min(cost, this.settings.burst);
    if (bucket.tokens < spend) return { allowed: false, retry_after_ms: Math.ceil(((spend - bucket.tokens) * 1000) / this.settings.rate_per_s) };
    bucket.tokens -= spend;
    return { allowed: true };
  }

  private track(key: string, now_ms: number): Bucket {
    if (this.buckets.size >= MAX_TRACKED_KEYS) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    const bucket = { tokens: this.settings.burst, updated_ms: now_ms };
    this.buckets.set(key, bucket);
    return bucket;
  }
}
