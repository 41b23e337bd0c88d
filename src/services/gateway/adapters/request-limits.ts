import type { Clock } from '../../../kernel/clock.js';
import type { Logger } from '../../../platform/logger.js';
import { FailureWindows } from '../domain/failure-window.js';
import type { FailureWindowSettings } from '../domain/failure-window.js';
import { TokenBuckets } from '../domain/rate-limit.js';
import type { LimitDecision, RateLimitSettings } from '../domain/rate-limit.js';
import { RedisLimits } from './redis-limits.js';

/** The gateway's limits: a cost-weighted rate per merchant and failed authentications per client address. */
export interface RequestLimitSettings {
  rate: RateLimitSettings;
  failed_authentications: FailureWindowSettings;
  /** Shared by every process through Redis when set; otherwise each process keeps its own. */
  redis_url?: string | undefined;
  redis_prefix?: string | undefined;
}

export const DEFAULT_REDIS_PREFIX = 'payrail:';

/**
 * Answers from Redis when there is one, and from this process's memory when there is none or it does
 * not answer in time: a Redis outage loosens the limits to per-process ones, it never stops the API.
 */
export class RequestLimits {
  private readonly buckets: TokenBuckets;
  private readonly failures: FailureWindows;
  private readonly shared: RedisLimits | undefined;

  constructor(
    settings: RequestLimitSettings,
    private readonly clock: Clock,
    logger: Logger,
  ) {
    this.buckets = new TokenBuckets(settings.rate);
    this.failures = new FailureWindows(settings.failed_authentications);
    let unavailable = false;
    this.shared = settings.redis_url
      ? new RedisLimits(
          { url: settings.redis_url, prefix: settings.redis_prefix ?? DEFAULT_REDIS_PREFIX, rate: settings.rate, failures: settings.failed_authentications },
          (state, error) => {
            // One line per change of state, not one per reconnect attempt.
            if (state === 'unavailable' && !unavailable) logger.warn({ err: error }, 'Redis unavailable: request limits apply per process until it is back');
            if (state === 'ready' && unavailable) logger.info('Redis back: request limits shared again');
            unavailable = state === 'unavailable';
          },
        )
      : undefined;
  }

  take(merchant_id: string, cost: number): Promise<LimitDecision> {
    return this.either(
      (shared) => shared.take(merchant_id, cost),
      () => this.buckets.take(merchant_id, cost, this.clock.now_ms()),
    );
  }

  /** How long a client address is refused after too many failed authentications; undefined when it is not. */
  blockedFor(address: string): Promise<number | undefined> {
    return this.either(
      (shared) => shared.blockedFor(address),
      () => this.failures.blockedFor(address, this.clock.now_ms()),
    );
  }

  recordFailedAuthentication(address: string): Promise<void> {
    return this.either(
      (shared) => shared.recordFailure(address),
      () => this.failures.record(address, this.clock.now_ms()),
    );
  }

  async close(): Promise<void> {
    await this.shared?.close();
  }

  private async either<T>(shared_answer: (shared: RedisLimits) => Promise<T>, local_answer: () => T): Promise<T> {
    if (!this.shared) return local_answer();
    try {
      return await shared_answer(this.shared);
    } catch {
      return local_answer();
    }
  }
}
