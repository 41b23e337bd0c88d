import { Redis } from 'ioredis';
import type { LimitDecision, RateLimitSettings } from '../domain/rate-limit.js';
import type { FailureWindowSettings } from '../domain/failure-window.js';

/**
 * The shared binding of the request limits: every process spends from the same token buckets and
 * failure counters in Redis, each change one Lua script (atomic in Redis). The scripts read Redis's
 * clock, so processes whose clocks disagree still refill a bucket at one rate.
 */

const TAKE_TOKENS = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local stored = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(stored[1]) or burst
local at = tonumber(stored[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local wait_ms = 0
if tokens >= cost then tokens = tokens - cost else wait_ms = math.ceil((cost - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return wait_ms`;

const RECORD_FAILURE = `
local failures = redis.call('INCR', KEYS[1])
if failures == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return failures`;

const BLOCKED_FOR = `
local failures = tonumber(redis.call('GET', KEYS[1]) or '0')
if failures < tonumber(ARGV[1]) then return -1 end
return redis.call('PTTL', KEYS[1])`;

interface LimitScripts {
  payrailTakeTokens(key: string, rate_per_s: number, burst: number, cost: number): Promise<number>;
  payrailRecordFailure(key: string, window_ms: number): Promise<number>;
  payrailBlockedFor(key: string, limit: number): Promise<number>;
}

/** A Redis command may wait this long before the process falls back to its own limits. */
const COMMAND_TIMEOUT_MS = 250;

export interface RedisLimitSettings {
  url: string;
  /** Prefix of every key, so deployments (or test runs) can share one Redis. */
  prefix: string;
  rate: RateLimitSettings;
  failures: FailureWindowSettings;
}

export class RedisLimits {
  private readonly redis: Redis & LimitScripts;

  constructor(
    private readonly settings: RedisLimitSettings,
    on_state: (state: 'ready' | 'unavailable', error?: Error) => void,
  ) {
    // No offline queue: while Redis is away a command fails at once and the in-process limits answer,
    // rather than requests waiting for a reconnect.
    const redis = new Redis(settings.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: COMMAND_TIMEOUT_MS,
      keyPrefix: settings.prefix,
    });
    redis.defineCommand('payrailTakeTokens', { numberOfKeys: 1, lua: TAKE_TOKENS });
    redis.defineCommand('payrailRecordFailure', { numberOfKeys: 1, lua: RECORD_FAILURE });
    redis.defineCommand('payrailBlockedFor', { numberOfKeys: 1, lua: BLOCKED_FOR });
    redis.on('ready', () => on_state('ready'));
    redis.on('error', (error: Error) => on_state('unavailable', error));
    this.redis = redis as Redis & LimitScripts;
  }

  async take(merchant_id: string, cost: number): Promise<LimitDecision> {
    const { rate_per_s, burst } = this.settings.rate;
    const wait_ms = await this.redis.payrailTakeTokens(`rate:${merchant_id}`, rate_per_s, burst, Math.min(cost, burst));
    return wait_ms > 0 ? { allowed: false, retry_after_ms: wait_ms } : { allowed: true };
  }

  async blockedFor(address: string): Promise<number | undefined> {
    const ttl_ms = await this.redis.payrailBlockedFor(`auth-failures:${address}`, this.settings.failures.limit);
    return ttl_ms >= 0 ? ttl_ms : undefined;
  }

  async recordFailure(address: string): Promise<void> {
    await this.redis.payrailRecordFailure(`auth-failures:${address}`, this.settings.failures.window_ms);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
