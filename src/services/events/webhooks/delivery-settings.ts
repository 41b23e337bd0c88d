import { assert } from '../../../kernel/assert.js';
import type { RetrySchedule } from './schedule.js';
import { DEFAULT_RETRY_SCHEDULE, checkSchedule } from './schedule.js';

/** How the delivery worker sends: its timeouts, concurrency caps and polling intervals, and their bounds. */

export interface DeliverySettings {
  schedule: RetrySchedule;
  /** One attempt, connect to last body byte. */
  timeout_ms: number;
  /** Attempts in flight per endpoint, across every process (claims are serialized by a lock). */
  per_endpoint_concurrency: number;
  /** Attempts in flight in this process. */
  concurrency_max: number;
  /** Characters of each response body kept with the attempt. */
  response_excerpt_max: number;
  /** Wait between polls when nothing is due; an enqueue or a finished attempt in this process wakes it at once. */
  idle_ms: number;
  /** After a failed poll (database down), doubling up to backoff_max_ms. */
  backoff_ms: number;
  backoff_max_ms: number;
}

export const DEFAULT_DELIVERY_SETTINGS: DeliverySettings = {
  schedule: DEFAULT_RETRY_SCHEDULE,
  timeout_ms: 10_000,
  per_endpoint_concurrency: 4,
  concurrency_max: 64,
  response_excerpt_max: 1_000,
  idle_ms: 100,
  backoff_ms: 100,
  backoff_max_ms: 5_000,
};

export const DELIVERY_LIMITS = {
  timeout_ms_max: 60_000,
  concurrency_max: 1_000,
  response_excerpt_max: 10_000,
  /** A lease outlives its attempt by this much, so a slow but live worker keeps its delivery. */
  lease_margin_ms: 5_000,
  /** Kept errors are short codes; this bounds anything longer. */
  error_length_max: 200,
} as const;

export function checkDeliverySettings(settings: DeliverySettings): DeliverySettings {
  checkSchedule(settings.schedule);
  assert(
    Number.isInteger(settings.timeout_ms) && settings.timeout_ms >= 1 && settings.timeout_ms <= DELIVERY_LIMITS.timeout_ms_max,
    'webhook timeout_ms out of range',
  );
  assert(
    Number.isInteger(settings.per_endpoint_concurrency) &&
      settings.per_endpoint_concurrency >= 1 &&
      settings.per_endpoint_concurrency <= settings.concurrency_max,
    'per_endpoint_concurrency must be 1 to concurrency_max',
  );
  assert(
    Number.isInteger(settings.concurrency_max) && settings.concurrency_max >= 1 && settings.concurrency_max <= DELIVERY_LIMITS.concurrency_max,
    'webhook concurrency_max out of range',
  );
  assert(
    Number.isInteger(settings.response_excerpt_max) &&
      settings.response_excerpt_max >= 0 &&
      settings.response_excerpt_max <= DELIVERY_LIMITS.response_excerpt_max,
    'response_excerpt_max out of range',
  );
  assert(settings.idle_ms > 0 && settings.backoff_ms > 0 && settings.backoff_max_ms >= settings.backoff_ms, 'webhook polling intervals out of range');
  return settings;
}
