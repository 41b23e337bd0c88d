import { randomUUID } from 'node:crypto';
import type { Clock } from '../../../kernel/clock.js';
import { EmbeddedWindowStore, DEFAULT_MAX_WINDOWS } from '../adapters/embedded-window-store.js';
import { ipCountry } from '../adapters/ip-country.js';
import { RedisWindowStore } from '../adapters/redis-window-store.js';
import { loadModel, riskLevel, type RiskModel } from '../domain/model.js';
import type { AttemptResult, RiskScore, RiskSignals } from '../domain/signals.js';
import type { WindowStore } from '../domain/windows.js';
import shippedModel from '../model/risk-model-v1.json' with { type: 'json' };
import { EventIds, readFeatures, writeAttempt } from './attempt-windows.js';

export interface RiskScorer {
  score(signals: RiskSignals): Promise<RiskScore>;
  /** Feed the attempt's result into the velocity windows (after the processor answered). */
  record(signals: RiskSignals, result: AttemptResult): Promise<void>;
  close(): Promise<void>;
}

export interface RiskScorerOptions {
  /** Redis shared by every process; unset, the windows live in this process only. */
  redis_url?: string | undefined;
  /** Prefix of the Redis keys (PAYRAIL_REDIS_PREFIX); `risk:` is appended. */
  redis_prefix?: string | undefined;
  /** How long a Redis command may take before the embedded windows answer instead (200 ms). */
  redis_command_timeout_ms?: number | undefined;
  clock: Clock;
  /** A model file's content (tests, a retrained model); the shipped risk-model-v1.json by default. */
  model?: unknown;
  /** Told when Redis fails and the embedded windows answer instead (to log or count it). */
  on_store_error?: ((error: Error) => void) | undefined;
  /** Names this process in event ids; random by default. */
  instance_id?: string | undefined;
  /** Bound on the embedded store's windows. */
  max_windows?: number | undefined;
}

/**
 * Scores attempts with the shipped model over the attempt's features. With Redis every process reads
 * the same windows; when Redis fails the process's embedded windows (always written too) answer, so a
 * Redis outage degrades the counts to this process's view instead of failing payments.
 */
export async function openRiskScorer(options: RiskScorerOptions): Promise<RiskScorer> {
  const model = loadModel(options.model ?? shippedModel);
  const embedded = new EmbeddedWindowStore(options.max_windows ?? DEFAULT_MAX_WINDOWS);
  const on_error = options.on_store_error ?? (() => undefined);
  let shared: RedisWindowStore | null = null;
  if (options.redis_url) {
    shared = new RedisWindowStore(options.redis_url, `${options.redis_prefix ?? 'payrail:'}risk:`, on_error, options.redis_command_timeout_ms);
    await shared.ready().catch(on_error);
  }
  return new Scorer(model, options.clock, embedded, shared, on_error, new EventIds(options.instance_id ?? randomUUID().slice(0, 8), options.clock));
}

class Scorer implements RiskScorer {
  constructor(
    private readonly model: RiskModel,
    private readonly clock: Clock,
    private readonly embedded: WindowStore,
    private readonly shared: WindowStore | null,
    private readonly on_error: (error: Error) => void,
    private readonly event_ids: EventIds,
  ) {}

  async score(signals: RiskSignals): Promise<RiskScore> {
    const now_ms = this.clock.now_ms();
    const ip_country = ipCountry(signals.ip_address);
    const features = await this.withFallback((store) => readFeatures(store, signals, ip_country, now_ms));
    const score = this.model.score(this.model.probability(features.vector));
    return { score, level: riskLevel(score), model_version: this.model.version, ip_country, attributes: features.attributes };
  }

  async record(signals: RiskSignals, result: AttemptResult): Promise<void> {
    const now_ms = this.clock.now_ms();
    const ip_country = ipCountry(signals.ip_address);
    const event_id = this.event_ids.next();
    await writeAttempt(this.embedded, signals, ip_country, result, now_ms, event_id);
    if (this.shared === null) return;
    await writeAttempt(this.shared, signals, ip_country, result, now_ms, event_id).catch((error: Error) => this.on_error(error));
  }

  async close(): Promise<void> {
    await this.shared?.close();
    await this.embedded.close();
  }

  private async withFallback<T>(work: (store: WindowStore) => Promise<T>): Promise<T> {
    if (this.shared === null) return work(this.embedded);
    try {
      return await work(this.shared);
    } catch (error) {
      this.on_error(error as Error);
      return work(this.embedded);
    }
  }
}
