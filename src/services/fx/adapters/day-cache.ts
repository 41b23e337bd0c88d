import { Redis } from 'ioredis';

/**
 * The cache in front of fx.rates, one entry per ECB day: in this process, and in Redis when
 * REDIS_URL is set (shared by every process). Keys carry the date (`fx:ecb:2026-11-30`); a day is
 * either its rates or known to be absent (a weekend, a holiday, not loaded yet). Redis failing or
 * absent only costs speed: the in-process tier and then the database answer.
 */

/** A day's rates (currency → rate), or 'absent' when the store had no rate that day. */
export type CachedDay = ReadonlyMap<string, string> | 'absent';

export interface DayCache {
  /** The entries found, by date; a date missing from the answer is a miss. */
  getMany(dates: readonly string[]): Promise<Map<string, CachedDay>>;
  set(date: string, day: CachedDay, ttl_s: number): Promise<void>;
  /** Drops the entries of `dates` (a load just stored rates for them). */
  forget(dates: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

const LOCAL_MAX_ENTRIES = 256;

/** The in-process tier: a bounded map with expiry (oldest entry dropped first when full). */
export class LocalDayCache implements DayCache {
  private readonly entries = new Map<string, { day: CachedDay; expires_ms: number }>();

  constructor(private readonly now_ms: () => number = Date.now) {}

  getMany(dates: readonly string[]): Promise<Map<string, CachedDay>> {
    const found = new Map<string, CachedDay>();
    for (const date of dates) {
      const entry = this.entries.get(date);
      if (entry && entry.expires_ms > this.now_ms()) found.set(date, entry.day);
      else if (entry) this.entries.delete(date);
    }
    return Promise.resolve(found);
  }

  set(date: string, day: CachedDay, ttl_s: number): Promise<void> {
    this.entries.delete(date);
    if (this.entries.size >= LOCAL_MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(date, { day, expires_ms: this.now_ms() + ttl_s * 1000 });
    return Promise.resolve();
  }

  forget(dates: readonly string[]): Promise<void> {
    for (const date of dates) this.entries.delete(date);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A Redis command may wait this long before the other tiers answer instead. */
const COMMAND_TIMEOUT_MS = 200;

export function redisDayKey(date: string): string {
  return `fx:ecb:${date}`;
}

/** The shared tier. Every failure is reported to `on_error` and answered as a miss. */
export class RedisDayCache implements DayCache {
  private readonly redis: Redis;

  constructor(
    url: string,
    prefix: string,
    private readonly report: (error: Error) => void,
  ) {
    // No offline queue: while Redis is away a command fails at once instead of waiting for a reconnect.
    this.redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: COMMAND_TIMEOUT_MS, keyPrefix: prefix });
    this.redis.on('error', report);
  }

  /** Resolves once connected: until then every command fails at once (no offline queue) and counts as a miss. */
  ready(): Promise<void> {
    if (this.redis.status === 'ready') return Promise.resolve();
    return new Promise((resolve) => this.redis.once('ready', () => resolve()));
  }

  async getMany(dates: readonly string[]): Promise<Map<string, CachedDay>> {
    const found = new Map<string, CachedDay>();
    if (dates.length === 0) return found;
    try {
      const values = await this.redis.mget(dates.map(redisDayKey));
      dates.forEach((date, i) => {
        const value = values[i];
        if (typeof value === 'string') found.set(date, decodeDay(value));
      });
    } catch (error) {
      this.report(error as Error);
    }
    return found;
  }

  async set(date: string, day: CachedDay, ttl_s: number): Promise<void> {
    await this.redis.set(redisDayKey(date), encodeDay(day), 'EX', ttl_s).catch((error: Error) => this.report(error));
  }

  async forget(dates: readonly string[]): Promise<void> {
    if (dates.length === 0) return;
    await this.redis.del(...dates.map(redisDayKey)).catch((error: Error) => this.report(error));
  }

  close(): Promise<void> {
    this.redis.disconnect();
    return Promise.resolve();
  }
}

/** The in-process tier first (no round trip), then Redis; what Redis answers is kept in-process too. */
export class TieredDayCache implements DayCache {
  constructor(
    private readonly local: DayCache,
    private readonly shared: DayCache,
    private readonly local_ttl_s: number,
  ) {}

  async getMany(dates: readonly string[]): Promise<Map<string, CachedDay>> {
    const found = await this.local.getMany(dates);
    const missing = dates.filter((date) => !found.has(date));
    const shared = await this.shared.getMany(missing);
    for (const [date, day] of shared) {
      found.set(date, day);
      await this.local.set(date, day, this.local_ttl_s);
    }
    return found;
  }

  async set(date: string, day: CachedDay, ttl_s: number): Promise<void> {
    await Promise.all([this.local.set(date, day, Math.min(ttl_s, this.local_ttl_s)), this.shared.set(date, day, ttl_s)]);
  }

  async forget(dates: readonly string[]): Promise<void> {
    await Promise.all([this.local.forget(dates), this.shared.forget(dates)]);
  }

  async close(): Promise<void> {
    await Promise.all([this.local.close(), this.shared.close()]);
  }
}

function encodeDay(day: CachedDay): string {
  return day === 'absent' ? 'absent' : JSON.stringify(Object.fromEntries(day));
}

function decodeDay(value: string): CachedDay {
  if (value === 'absent') return 'absent';
  return new Map(Object.entries(JSON.parse(value) as Record<string, string>));
}
