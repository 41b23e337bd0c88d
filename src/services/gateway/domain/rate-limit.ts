import { assert } from '../../../kernel/assert.js';

/**
 * A token bucket per merchant, in process memory: each merchant may burst up to `burst` requests and
 * sustain `rate_per_s`. Past one process the same limits belong in Redis (a later binding); in memory
 * each process enforces its own share.
 */
export interface RateLimitSettings {
  rate_per_s: number;
  burst: number;
}

const MAX_TRACKED_MERCHANTS = 100_000;

interface Bucket {
  tokens: number;
  updated_ms: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly settings: RateLimitSettings) {
    assert(settings.rate_per_s > 0 && settings.burst >= 1, 'rate limits must allow at least one request');
  }

  /** Takes one token; false when the merchant is over its limit. */
  allow(merchant_id: string, now_ms: number): boolean {
    const bucket = this.buckets.get(merchant_id) ?? this.track(merchant_id, now_ms);
    const elapsed_ms = Math.max(0, now_ms - bucket.updated_ms);
    bucket.tokens = Math.min(this.settings.burst, bucket.tokens + (elapsed_ms * this.settings.rate_per_s) / 1000);
    bucket.updated_ms = now_ms;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  private track(merchant_id: string, now_ms: number): Bucket {
    if (this.buckets.size >= MAX_TRACKED_MERCHANTS) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    const bucket = { tokens: this.settings.burst, updated_ms: now_ms };
    this.buckets.set(merchant_id, bucket);
    return bucket;
  }
}
