import type { Clock } from '../../../kernel/clock.js';
import { computeFeatures, logAmount, type Features } from '../domain/features.js';
import type { AttemptResult, RiskSignals } from '../domain/signals.js';
import { amountStatsKey, planReads, planWrites } from '../domain/velocity-plan.js';
import type { WindowStore } from '../domain/windows.js';

/**
 * Reading an attempt's features from the windows, and writing its result into them: the one path the
 * server's scorer and the training replay (training/replay.ts) both take.
 */
export async function readFeatures(store: WindowStore, signals: RiskSignals, ip_country: string | null, now_ms: number): Promise<Features> {
  const plan = planReads(signals, ip_country, now_ms);
  const { values, stats } = await store.read(plan.queries, amountStatsKey(signals), now_ms);
  return computeFeatures({ signals, ip_country, readings: plan.decode(values), stats, now_ms });
}

export async function writeAttempt(
  store: WindowStore,
  signals: RiskSignals,
  ip_country: string | null,
  result: AttemptResult,
  now_ms: number,
  event_id: string,
): Promise<void> {
  const writes = planWrites(signals, ip_country, result, event_id);
  // Only authorized payments teach the merchant's amounts: blocked and declined attempts are often the fraud.
  const amount = result === 'authorized' ? { stats_key: amountStatsKey(signals), x: logAmount(signals.amount) } : null;
  await store.write(writes, now_ms, amount);
}

const MAX_SEQUENCE = 2 ** 31;

/** Unique members for attempt events: time, this process's id, and a counter. */
export class EventIds {
  private sequence = 0;
  constructor(
    private readonly instance: string,
    private readonly clock: Clock,
  ) {}
  next(): string {
    this.sequence = (this.sequence + 1) % MAX_SEQUENCE;
    return `${this.clock.now_ms().toString(36)}.${this.instance}.${this.sequence.toString(36)}`;
  }
}
