/**
 * Failed authentications per client address, counted in a fixed window that starts at the first
 * failure: past `limit` failures the address is refused until the window ends. In process memory;
 * with REDIS_URL the same counters live in Redis (adapters/redis-limits.ts).
 */
export interface FailureWindowSettings {
  limit: number;
  window_ms: number;
}

interface Window {
  failures: number;
  ends_ms: number;
}

const MAX_TRACKED_ADDRESSES = 100_000;

export class FailureWindows {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly settings: FailureWindowSettings) {}

  /** How long `address` stays refused, or undefined when it may try. */
  blockedFor(address: string, now_ms: number): number | undefined {
    const window = this.current(address, now_ms);
    return window && window.failures >= this.settings.limit ? window.ends_ms - now_ms : undefined;
  }

  record(address: string, now_ms: number): void {
    const window = this.current(address, now_ms);
    if (window) {
      window.failures += 1;
      return;
    }
    if (this.windows.size >= MAX_TRACKED_ADDRESSES) {
      const oldest = this.windows.keys().next().value;
      if (oldest !== undefined) this.windows.delete(oldest);
    }
    this.windows.set(address, { failures: 1, ends_ms: now_ms + this.settings.window_ms });
  }

  private current(address: string, now_ms: number): Window | undefined {
    const window = this.windows.get(address);
    if (window && window.ends_ms <= now_ms) {
      this.windows.delete(address);
      return undefined;
    }
    return window;
  }
}
