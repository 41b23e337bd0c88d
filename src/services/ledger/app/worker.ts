import type { FastifyInstance } from 'fastify';
import type { Pool } from '../../../platform/db.js';
import type { Logger } from '../../../platform/logger.js';
import type { Clock } from '../../../kernel/clock.js';
import { unixSeconds } from '../../../kernel/clock.js';
import type { StepOutcome } from '../../events/index.js';
import { OutboxConsumerRunner, startPolling } from '../../events/index.js';
import type { Consumer } from '../../events/index.js';
import { metrics } from '../../../platform/metrics.js';
import { onCommit } from '../../../platform/write/commit-signal.js';
import type { Scheduler } from '../../../platform/scheduler.js';
import { LEDGER_CONSUMER_NAME, ledgerConsumer } from './consumer.js';
import { RELEASE_BATCH_MAX, releaseAllDue, releaseDue } from './release.js';

/**
 * The ledger consumer, also reporting how long each event waited between commit and posting, and
 * running `in_batch` (another service's effects of the same events) in the batch's transaction.
 */
function observedLedgerConsumer(clock: Clock, in_batch: Consumer['handle'] | undefined): Consumer {
  const consumer = ledgerConsumer();
  return {
    ...consumer,
    handle: async (batch, tx) => {
      await consumer.handle(batch, tx);
      if (in_batch) await in_batch(batch, tx);
      const now_s = unixSeconds(clock);
      for (const event of batch) metrics.ledgerPostingLag(Math.max(0, now_s - event.created));
    },
  };
}

/**
 * Woken by this process's commits (the commit signal); idle, the wait grows to 100 ms, which bounds
 * the posting lag of commits made by other processes (an API apart from the ledger role).
 */
export const LEDGER_POLLING = { idle_ms: 10, idle_max_ms: 100, backoff_ms: 100, backoff_max_ms: 5_000 } as const;
/** The scheduled job that releases settled funds (pending → available). */
export const LEDGER_RELEASE_JOB = 'ledger-release';
/** Releases are due on a scale of days: looking once a second is plenty, and keeps idle runs to one query. */
export const RELEASE_CHECK_INTERVAL_MS = 1_000;

export interface LedgerWorkerDeps {
  pool: Pool;
  clock: Clock;
  logger: Logger;
  /** When given, the worker stops when the app closes (before the pool does). */
  app?: FastifyInstance;
  /** Effects of the ledger's events that must commit with their postings (destination charges' transfers). */
  in_batch?: Consumer['handle'];
}

export interface LedgerWorkerOptions {
  batch_size?: number;
  /** false: no background loop; tests call step(). */
  poll?: boolean;
  /** Idle waits other than LEDGER_POLLING's (tests: waits long enough that only a wake explains a prompt posting). */
  idle?: { idle_ms: number; idle_max_ms: number; wake_gap_ms: number };
}

export interface LedgerWorker {
  runner: OutboxConsumerRunner;
  /** One step by hand (tests): consume a batch, then release what is due on the injected clock. */
  step(): Promise<StepOutcome>;
  stop(): Promise<void>;
}

/**
 * Releases settled funds (pending → available) every second, in one process at a time: a scheduled
 * job on `scheduler` (register before it starts), run by the process that runs the scheduler role.
 */
export function scheduleLedgerRelease(scheduler: Scheduler, deps: Pick<LedgerWorkerDeps, 'pool' | 'clock' | 'logger'>): void {
  scheduler.every(LEDGER_RELEASE_JOB, { interval_ms: RELEASE_CHECK_INTERVAL_MS }, async () => {
    const released = await releaseAllDue(deps.pool, unixSeconds(deps.clock));
    if (released > 0) deps.logger.debug({ released, worker: 'ledger' }, 'ledger: released settled funds');
  });
}

/**
 * The ledger's posting worker in this process: post from the outbox (polling; the consumer is held
 * by one process at a time through an advisory lock). `step()` also releases what is due, for tests.
 */
export function startLedgerWorker(deps: LedgerWorkerDeps, options: LedgerWorkerOptions = {}): LedgerWorker {
  const runner = new OutboxConsumerRunner(deps.pool, observedLedgerConsumer(deps.clock, deps.in_batch), { batch_size: options.batch_size });
  const unregister_lag = metrics.registerConsumerLag(LEDGER_CONSUMER_NAME, () => runner.lag(unixSeconds(deps.clock)));
  const log = deps.logger.child({ worker: 'ledger' });
  const consume = async (): Promise<StepOutcome> => {
    const started_ms = performance.now();
    const round = await runner.runOnce();
    if (round.kind === 'retry_later') {
      log.warn({ event_id: round.event_id, attempts: round.attempts, error: round.error }, 'ledger: event failed, will retry');
      return 'failed';
    }
    if (round.kind !== 'applied') return 'idle';
    metrics.consumerEvents(LEDGER_CONSUMER_NAME, 'applied', round.applied);
    metrics.consumerEvents(LEDGER_CONSUMER_NAME, 'parked', round.parked);
    log.debug({ read: round.read, applied: round.applied, round_ms: Math.round(performance.now() - started_ms) }, 'ledger round');
    if (round.parked > 0) log.error({ parked: round.parked }, 'ledger: events parked in events.dead_letters; run payrail ledger verify');
    return 'more';
  };
  const step = async (): Promise<StepOutcome> => {
    const consumed = await consume();
    const released = await releaseDue(deps.pool, unixSeconds(deps.clock));
    if (consumed === 'failed') return 'failed';
    return consumed === 'more' || released === RELEASE_BATCH_MAX ? 'more' : 'idle';
  };
  const polling =
    options.poll === false
      ? { stop: async () => {} }
      : startPolling(consume, {
          ...LEDGER_POLLING,
          ...options.idle,
          wake_on: onCommit,
          onError: (error) => log.warn({ err: error }, 'ledger: round failed, backing off'),
        });
  const worker: LedgerWorker = {
    runner,
    step,
    stop: async () => {
      unregister_lag();
      await polling.stop();
    },
  };
  deps.app?.addHook('onClose', async () => {
    await worker.stop();
  });
  return worker;
}
