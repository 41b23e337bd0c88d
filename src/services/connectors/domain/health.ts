/**
 * A connector account's health, in process: its success rate over a sliding window, and elimination
 * when the rate falls below a threshold, with a periodic probe that lets it back (Hyperswitch's
 * dynamic routing is the anchor: rank by recent success, drop the failing, keep exploring).
 *
 * "Success" is the connector doing its job: an answer, approval or hard decline alike (a hard decline
 * is the cardholder's bank speaking). Failures are the connector's: unreachable, outcome unknown,
 * timed out, or a soft decline (`processing_error`, …). Pure: the caller passes the time.
 */
import { assert } from '../../../kernel/assert.js';

export interface HealthLimits {
  /** The sliding window the rate is computed over. */
  window_ms: number;
  /** Buckets the window is cut into: the rate forgets a bucket at a time. */
  buckets: number;
  /** Below this many calls in the window the rate is unknown (null), and nothing is eliminated. */
  min_samples: number;
  /** An account whose rate falls below this is eliminated from routing… */
  eliminate_below: number;
  /** …except for one probe call let through this often, whose success brings it back. */
  probe_every_ms: number;
}

export const DEFAULT_HEALTH_LIMITS: HealthLimits = { window_ms: 60_000, buckets: 12, min_samples: 20, eliminate_below: 0.5, probe_every_ms: 5_000 };

/** What routing reads of health (contracts): whether to send to an account now, and its recent rate. */
export type { HealthView } from './routing.js';

/** Success and failure counts per time bucket: a ring, reset as the window slides past a bucket. */
export class SuccessWindow {
  private readonly bucket_ms: number;
  private readonly starts: number[];
  private readonly successes: number[];
  private readonly failures: number[];

  constructor(private readonly limits: HealthLimits) {
    assert(Number.isInteger(limits.buckets) && limits.buckets >= 1 && limits.buckets <= 1_000, 'buckets out of range');
    assert(limits.window_ms >= limits.buckets, 'window shorter than its buckets');
    assert(limits.eliminate_below >= 0 && limits.eliminate_below <= 1, 'eliminate_below is a rate in [0, 1]');
    this.bucket_ms = Math.ceil(limits.window_ms / limits.buckets);
    this.starts = new Array<number>(limits.buckets).fill(-Infinity);
    this.successes = new Array<number>(limits.buckets).fill(0);
    this.failures = new Array<number>(limits.buckets).fill(0);
  }

  record(now_ms: number, success: boolean): void {
    const start = now_ms - (now_ms % this.bucket_ms);
    const index = Math.floor(now_ms / this.bucket_ms) % this.limits.buckets;
    if (this.starts[index] !== start) {
      this.starts[index] = start;
      this.successes[index] = 0;
      this.failures[index] = 0;
    }
    if (success) this.successes[index] = (this.successes[index] ?? 0) + 1;
    else this.failures[index] = (this.failures[index] ?? 0) + 1;
  }

  /** Calls in the window ending now: buckets that started before it are ignored. */
  counts(now_ms: number): { successes: number; failures: number } {
    const oldest = now_ms - this.limits.window_ms;
    let successes = 0;
    let failures = 0;
    for (let index = 0; index < this.limits.buckets; index += 1) {
      if ((this.starts[index] ?? -Infinity) <= oldest) continue;
      successes += this.successes[index] ?? 0;
      failures += this.failures[index] ?? 0;
    }
    return { successes, failures };
  }

  /** The success rate in the window, or null below `min_samples` calls. */
  rate(now_ms: number): number | null {
    const { successes, failures } = this.counts(now_ms);
    const total = successes + failures;
    return total < this.limits.min_samples ? null : successes / total;
  }
}

/** One account: its window, and when it was last probed while eliminated. */
export class AccountHealth {
  readonly window: SuccessWindow;
  private last_probe_ms = -Infinity;

  constructor(private readonly limits: HealthLimits) {
    this.window = new SuccessWindow(limits);
  }

  eliminated(now_ms: number): boolean {
    const rate = this.window.rate(now_ms);
    return rate !== null && rate < this.limits.eliminate_below;
  }

  /**
   * Whether routing may send to the account now: yes unless eliminated; an eliminated account is let
   * through once per probe interval (the first caller to ask gets the probe), so it can come back.
   */
  admits(now_ms: number): boolean {
    if (!this.eliminated(now_ms)) return true;
    if (now_ms - this.last_probe_ms < this.limits.probe_every_ms) return false;
    this.last_probe_ms = now_ms;
    return true;
  }
}
