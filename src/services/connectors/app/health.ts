/**
 * Health per connector account, in this process: the success-rate window with elimination and probes
 * (domain/health.ts), and a cockatiel circuit breaker with a call timeout around every processor call.
 * The breaker opens after consecutive errors and lets one call through after `half_open_after_ms`;
 * while open, a call fails at once without reaching the processor (BrokenCircuitError), which the
 * router treats as a confirmed failure. A timeout is not: the call may have reached the processor.
 * Our own database failing under a connector (the sandbox's record, a connector's call log) is not
 * the processor's failure: it neither opens the breaker nor counts against the account, or a
 * PostgreSQL restart would leave every processor "down" and decline the retries that follow it.
 */
import { CircuitState, ConsecutiveBreaker, TimeoutStrategy, circuitBreaker, handleWhen, timeout, wrap } from 'cockatiel';
import type { IPolicy } from 'cockatiel';
import { assert } from '../../../kernel/assert.js';
import type { Clock } from '../../../kernel/clock.js';
import type { CircuitBreakerPolicy } from 'cockatiel';
import type { HealthLimits, HealthView } from '../domain/health.js';
import { AccountHealth, DEFAULT_HEALTH_LIMITS } from '../domain/health.js';
import { ProcessorOutcomeUnknown, ProcessorUnreachable } from '../domain/port.js';
import { isDatabaseUnavailable } from '../../../platform/db-errors.js';

export interface BreakerLimits {
  /** Consecutive errors (thrown, timeouts included) that open the breaker. */
  consecutive_failures: number;
  /** How long it stays open before one call is let through to test the processor. */
  half_open_after_ms: number;
  /** A processor call taking longer than this is abandoned: its outcome is unknown. */
  call_timeout_ms: number;
}

export const DEFAULT_BREAKER_LIMITS: BreakerLimits = { consecutive_failures: 5, half_open_after_ms: 5_000, call_timeout_ms: 30_000 };

/** Accounts tracked per process; past this the least recently created is forgotten (its state only). */
const MAX_TRACKED_ACCOUNTS = 10_000;

interface Tracked {
  health: AccountHealth;
  breaker: CircuitBreakerPolicy;
  policy: IPolicy;
}

export class ConnectorHealth implements HealthView {
  private readonly accounts = new Map<string, Tracked>();

  constructor(
    private readonly clock: Clock,
    private readonly limits: HealthLimits = DEFAULT_HEALTH_LIMITS,
    private readonly breaker_limits: BreakerLimits = DEFAULT_BREAKER_LIMITS,
  ) {
    assert(Number.isInteger(breaker_limits.consecutive_failures) && breaker_limits.consecutive_failures >= 1, 'consecutive_failures must be >= 1');
    assert(breaker_limits.call_timeout_ms > 0 && breaker_limits.half_open_after_ms > 0, 'breaker durations must be positive');
  }

  isAvailable(account_id: string): boolean {
    const tracked = this.accounts.get(account_id);
    if (!tracked) return true;
    if (tracked.breaker.state === CircuitState.Open || tracked.breaker.state === CircuitState.Isolated) return false;
    return tracked.health.admits(this.clock.now_ms());
  }

  successRate(account_id: string): number | null {
    return this.accounts.get(account_id)?.health.window.rate(this.clock.now_ms()) ?? null;
  }

  /**
   * Runs one processor call for the account through its breaker and timeout, and counts it: an
   * error is a failure unless it is our own database's; an answer counts as `succeeded(answer)` says (a soft decline is a failure).
   */
  async run<T>(account_id: string, call: () => Promise<T>, succeeded: (answer: T) => boolean): Promise<T> {
    const tracked = this.track(account_id);
    try {
      // A signal of its own per call: cockatiel's timeout listens on it, and a shared one would gather listeners.
      const answer = await tracked.policy.execute(() => call(), new AbortController().signal);
      tracked.health.window.record(this.clock.now_ms(), succeeded(answer));
      return answer;
    } catch (error) {
      if (isProcessorFailure(error)) tracked.health.window.record(this.clock.now_ms(), false);
      throw error;
    }
  }

  private track(account_id: string): Tracked {
    const known = this.accounts.get(account_id);
    if (known) return known;
    if (this.accounts.size >= MAX_TRACKED_ACCOUNTS) {
      const oldest = this.accounts.keys().next().value;
      if (oldest !== undefined) this.accounts.delete(oldest);
    }
    const breaker = circuitBreaker(handleWhen(isProcessorFailure), {
      halfOpenAfter: this.breaker_limits.half_open_after_ms,
      breaker: new ConsecutiveBreaker(this.breaker_limits.consecutive_failures),
    });
    const tracked: Tracked = {
      health: new AccountHealth(this.limits),
      breaker,
      // The call is never handed the signal, so aborting it on return would cancel nothing, and an
      // abort without a reason costs a DOMException with its stack trace (about 10 µs a payment).
      policy: wrap(breaker, timeout(this.breaker_limits.call_timeout_ms, { strategy: TimeoutStrategy.Aggressive, abortOnReturn: false })),
    };
    this.accounts.set(account_id, tracked);
    return tracked;
  }
}

/** A transport's own verdict is the processor's; a database error that reached here unwrapped is ours. */
function isProcessorFailure(error: unknown): boolean {
  return error instanceof ProcessorUnreachable || error instanceof ProcessorOutcomeUnknown || !isDatabaseUnavailable(error);
}
