import type { FastifyInstance } from 'fastify';
import type { Pool } from '../../../platform/db.js';
import type { Logger } from '../../../platform/logger.js';
import type { Clock } from '../../../kernel/clock.js';
import { unixSeconds } from '../../../kernel/clock.js';
import type { StepOutcome } from '../../events/consumer.js';
import { OutboxConsumerRunner, startPolling } from '../../events/consumer.js';
import type { Consumer } from '../../events/consumer.js';
import { metrics } from '../../../platform/metrics.js';
import { LEDGER_CONSUMER_NAME, ledgerConsumer } from './consumer.js';

/** The ledger consumer, also reporting how long each event waited between commit and posting. */
function observedLedgerConsumer(clock: Clock): Consumer {
  const consumer = ledgerConsumer();
  return {
    ...consumer,
    handle: async (batch, tx) => {
      await consumer.handle(batch, tx);
      const now_s = unixSeconds(clock);
      for (const event of batch) metrics.ledgerPostingLag(Math.max(0, now_s - event.created));
    },
  };
}
import { RELEASE_BATCH_MAX, releaseDue } from './release.js';

export const LEDGER_POLLING = { idle_ms: 10, backoff_ms: 100, backoff_max_ms: 5_000 } as const;
/** Releases are due on a scale of days: looking once a second is plenty, and keeps idle polls to one query. */
export const RELEASE_CHECK_INTERVAL_MS = 1_000;

export interface LedgerWorkerDeps {
  pool: Pool;
  clock: Clock;
  logger: Logger;
  /** When given, the worker stops when the app closes (before the pool does). */
  app?: FastifyInstance;
}

export interface LedgerWorker {
  runner: OutboxConsumerRunner;
  /** One step by hand (tests): consume a batch, then release what is due. */
  step(): Promise<StepOutcome>;
  stop(): Promise<void>;
}

/**
 * The ledger's background work in this process: post from the outbox, and release pending funds
 * whose settlement delay has passed on the injected clock. Several processes may run it: the
 * consumer is held by one at a time (advisory lock), releases are shared (SKIP LOCKED).
 */
export function startLedgerWorker(deps: LedgerWorkerDeps, options: { batch_size?: number; poll?: boolean } = {}): LedgerWorker {
  const runner = new OutboxConsumerRunner(deps.pool, observedLedgerConsumer(deps.clock), { batch_size: options.batch_size });
  const unregister_lag = metrics.registerConsumerLag(LEDGER_CONSUMER_NAME, () => runner.lag(unixSeconds(deps.clock)));
  const log = deps.logger.child({ worker: 'ledger' });
  let last_release_check_ms = -Infinity;
  const step = async (): Promise<StepOutcome> => {
    const started_ms = performance.now();
    const round = await runner.runOnce();
    if (round.kind === 'applied') {
      metrics.consumerEvents(LEDGER_CONSUMER_NAME, 'applied', round.applied);
      metrics.consumerEvents(LEDGER_CONSUMER_NAME, 'parked', round.parked);
    }
    if (round.kind === 'applied') log.debug({ read: round.read, applied: round.applied, round_ms: Math.round(performance.now() - started_ms) }, 'ledger round');
    if (round.kind === 'retry_later') {
      log.warn({ event_id: round.event_id, attempts: round.attempts, error: round.error }, 'ledger: event failed, will retry');
    }
    if (round.kind === 'applied' && round.parked > 0) log.error({ parked: round.parked }, 'ledger: events parked in events.dead_letters; run payrail ledger verify');
    let released = 0;
    if (performance.now() - last_release_check_ms >= RELEASE_CHECK_INTERVAL_MS || options.poll === false) {
      last_release_check_ms = performance.now();
      released = await releaseDue(deps.pool, unixSeconds(deps.clock));
      if (released === RELEASE_BATCH_MAX) last_release_check_ms = -Infinity; // more are due: look again at once
    }
    if (round.kind === 'retry_later') return 'failed';
    return round.kind === 'applied' || released === RELEASE_BATCH_MAX ? 'more' : 'idle';
  };
  const polling = options.poll === false
    ? { stop: async () => {} }
    : startPolling(step, { ...LEDGER_POLLING, onError: (error) => log.warn({ err: error }, 'ledger: round failed, backing off') });
  const worker: LedgerWorker = { runner, step, stop: async () => { unregister_lag(); await polling.stop(); } };
  deps.app?.addHook('onClose', async () => { await worker.stop(); });
  return worker;
}
