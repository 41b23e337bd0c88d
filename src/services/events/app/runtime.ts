import type { FastifyInstance } from 'fastify';
import type { Pool } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { Logger } from '../../../platform/logger.js';
import type { Clock } from '../../../kernel/clock.js';
import { unixSeconds } from '../../../kernel/clock.js';
import { metrics } from '../../../platform/metrics.js';
import { onCommit } from '../../../platform/write/commit-signal.js';
import type { Consumer } from './consumer.js';
import { OutboxConsumerRunner } from './consumer-runner.js';
import { consumerLag } from './consumer-status.js';
import type { StepOutcome } from './polling.js';
import { startPolling } from './polling.js';
import { webhookConsumer } from '../webhooks/consumer.js';
import type { DeliverySettings } from '../webhooks/delivery-settings.js';
import { DeliveryWorker } from '../webhooks/worker.js';
import type { WebhookTransport } from '../webhooks/transport.js';
import { webhookTransport } from '../webhooks/transport.js';
import type { DestinationPolicy } from '../webhooks/destinations.js';
import { parseSchedule } from '../webhooks/schedule.js';
import type { SecretSealing } from '../webhooks/secrets.js';
import { webhookSecretBox } from '../webhooks/secrets.js';
import type { NatsSettings } from '../adapters/nats/jetstream.js';
import { DEFAULT_NATS_SETTINGS, checkNatsSettings, defaultNames } from '../adapters/nats/jetstream.js';
import { NatsLink } from '../adapters/nats/link.js';
import type { RelayFaults } from '../adapters/nats/relay.js';
import { NatsRelay } from '../adapters/nats/relay.js';
import { JetStreamConsumerWorker } from '../adapters/nats/consumer.js';

/**
 * The events service's background work in this process, with its binding chosen at start-up:
 * - embedded (default): the webhooks consumer reads the outbox table (OutboxConsumerRunner);
 * - NATS (`NATS_URL`): a relay publishes the outbox to JetStream (one leader among the processes),
 *   and the webhooks consumer is a durable JetStream consumer. The connection is made in the
 *   background: start-up never waits for NATS, and the outbox keeps events until it is reachable.
 * Either way the delivery worker sends what the consumer enqueued. Everything stops when the app
 * closes, before the database pool.
 */

/**
 * The webhooks consumer's polling (embedded binding): woken by this process's commits; idle, the wait
 * grows from 50 to 100 ms for commits of other processes, nothing next to a webhook's own latency.
 */
export const EMBEDDED_POLLING = { idle_ms: 50, idle_max_ms: 100, backoff_ms: 100, backoff_max_ms: 5_000 } as const;

export interface EventServicesOptions {
  /** NATS servers for the JetStream binding; null forces the embedded binding. Default: NATS_URL. */
  nats_url?: string | null;
  nats?: Partial<NatsSettings>;
  delivery?: Partial<DeliverySettings>;
  transport?: WebhookTransport;
  random?: () => number;
  /** false: no background loops; tests drive consumeStep() and delivery.drain() themselves. */
  background?: boolean;
  relay_faults?: RelayFaults;
  /** false: the NATS binding runs no outbox relay here (the webhooks role; relays run as their own role). Default true. */
  relay?: boolean;
}

export interface EventServicesDeps {
  pool: Pool;
  clock: Clock;
  logger: Logger;
  /** Platform secret the webhook secrets sealed before the KMS were sealed with (the same the routes use). */
  key_material: Buffer;
  /** Seals webhook secrets through the KMS, under their own key (the vault's sealer). */
  webhook_sealing?: SecretSealing;
  /** Where webhooks may be delivered (PAYRAIL_WEBHOOKS_ALLOW_PRIVATE); checked on every connection. */
  webhook_destinations: DestinationPolicy;
  /** Where settings are read from (PAYRAIL_WEBHOOK_*, NATS_URL, PAYRAIL_NATS_*). */
  env: NodeJS.ProcessEnv;
  app?: FastifyInstance;
}

export interface EventServices {
  binding: 'embedded' | 'nats';
  delivery: DeliveryWorker;
  /** One round of the webhooks consumer; 'more' when it handed events over. */
  consumeStep(): Promise<StepOutcome>;
  runner?: OutboxConsumerRunner;
  relay?: NatsRelay;
  jetstream?: JetStreamConsumerWorker;
  nats?: { link: NatsLink; settings: NatsSettings };
  stop(): Promise<void>;
}

/** Settings from the environment (variables documented in docs/events.md). */
export function eventSettingsFromEnv(env: NodeJS.ProcessEnv): {
  nats_url: string | undefined;
  nats: Partial<NatsSettings>;
  delivery: Partial<DeliverySettings>;
} {
  const delivery: Partial<DeliverySettings> = {};
  if (env.PAYRAIL_WEBHOOK_RETRY) delivery.schedule = parseSchedule(env.PAYRAIL_WEBHOOK_RETRY);
  const int = (name: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value < 1) throw new Error(`Setting ${name} must be a positive integer, got "${raw}"`);
    return value;
  };
  const timeout_ms = int('PAYRAIL_WEBHOOK_TIMEOUT_MS');
  if (timeout_ms !== undefined) delivery.timeout_ms = timeout_ms;
  const per_endpoint = int('PAYRAIL_WEBHOOK_CONCURRENCY_PER_ENDPOINT');
  if (per_endpoint !== undefined) delivery.per_endpoint_concurrency = per_endpoint;
  const concurrency = int('PAYRAIL_WEBHOOK_CONCURRENCY');
  if (concurrency !== undefined) delivery.concurrency_max = concurrency;
  const nats: Partial<NatsSettings> = {};
  if (env.PAYRAIL_NATS_STREAM) nats.stream = env.PAYRAIL_NATS_STREAM;
  if (env.PAYRAIL_NATS_SUBJECT_PREFIX) nats.subject_prefix = env.PAYRAIL_NATS_SUBJECT_PREFIX;
  const replicas = int('PAYRAIL_NATS_REPLICAS');
  if (replicas !== undefined) nats.replicas = replicas;
  return { nats_url: env.NATS_URL || undefined, nats, delivery };
}

/** The NATS settings for this database: names derived from its installation id unless set. */
export async function natsSettingsFor(pool: Pool, url: string, overrides: Partial<NatsSettings> = {}): Promise<NatsSettings> {
  const installation = await run<{ id: string }>(pool, sql`SELECT id FROM events.installation`);
  const id = installation.rows[0]?.id;
  if (id === undefined) throw new Error('events.installation is empty: run the migrations');
  return checkNatsSettings({ ...DEFAULT_NATS_SETTINGS, ...defaultNames(id), ...overrides, installation: id, url });
}

/** What both bindings share: the webhooks consumer, the delivery worker it wakes, and how they run. */
interface BindingContext {
  deps: EventServicesDeps;
  options: EventServicesOptions;
  from_env: ReturnType<typeof eventSettingsFromEnv>;
  log: Logger;
  /** false: no background loops (tests step them). */
  background: boolean;
  delivery: DeliveryWorker;
  consumer: Consumer;
}

export async function startEventServices(deps: EventServicesDeps, options: EventServicesOptions = {}): Promise<EventServices> {
  const from_env = eventSettingsFromEnv(deps.env);
  const background = options.background ?? true;
  const delivery = new DeliveryWorker({
    pool: deps.pool,
    clock: deps.clock,
    logger: deps.logger,
    secrets: webhookSecretBox(deps.key_material, deps.webhook_sealing),
    transport: options.transport ?? webhookTransport(deps.webhook_destinations),
    random: options.random,
    settings: { ...from_env.delivery, ...options.delivery },
  });
  const log = deps.logger.child({ service: 'events' });
  const binding: BindingContext = { deps, options, from_env, log, background, delivery, consumer: webhookConsumer(deps.clock) };
  const nats_url = options.nats_url === undefined ? from_env.nats_url : (options.nats_url ?? undefined);
  const services = nats_url === undefined ? startEmbeddedBinding(binding) : await startNatsBinding(binding, nats_url);
  if (background) delivery.start();
  // Shutdown never fails because of events: everything here resumes from durable state next start.
  deps.app?.addHook('onClose', async () => {
    await services.stop().catch((error: unknown) => log.warn({ err: error }, 'events: stopping failed'));
  });
  return services;
}

function startEmbeddedBinding({ deps, log, background, delivery, consumer }: BindingContext): EventServices {
  const runner = new OutboxConsumerRunner(deps.pool, consumer);
  const unregister_lag = metrics.registerConsumerLag(consumer.name, () => runner.lag(unixSeconds(deps.clock)));
  const consumeStep = async (): Promise<StepOutcome> => {
    const round = await runner.runOnce();
    if (round.kind === 'applied') {
      metrics.consumerEvents(consumer.name, 'applied', round.applied);
      metrics.consumerEvents(consumer.name, 'parked', round.parked);
    }
    if (round.kind === 'retry_later') {
      log.warn({ event_id: round.event_id, attempts: round.attempts, error: round.error }, 'webhooks consumer: event failed, will retry');
      return 'failed';
    }
    if (round.kind !== 'applied') return 'idle';
    if (round.parked > 0) log.error({ parked: round.parked }, 'webhooks consumer: events parked in events.dead_letters');
    if (round.applied > 0) delivery.wake();
    return 'more';
  };
  const polling = background
    ? startPolling(consumeStep, {
        ...EMBEDDED_POLLING,
        wake_on: onCommit,
        onError: (error) => log.warn({ err: error }, 'webhooks consumer: round failed, backing off'),
      })
    : { stop: async () => {} };
  return {
    binding: 'embedded',
    delivery,
    consumeStep,
    runner,
    stop: async () => {
      unregister_lag();
      await polling.stop();
      await delivery.stop();
    },
  };
}

async function startNatsBinding({ deps, options, from_env, log, background, delivery, consumer }: BindingContext, nats_url: string): Promise<EventServices> {
  const settings = await natsSettingsFor(deps.pool, nats_url, { ...from_env.nats, ...options.nats });
  const link = new NatsLink({ settings, logger: deps.logger, name: 'payrail-events' });
  link.start();
  const relay =
    options.relay === false ? undefined : new NatsRelay({ pool: deps.pool, nats: link, settings, logger: deps.logger, faults: options.relay_faults });
  const jetstream = new JetStreamConsumerWorker({ pool: deps.pool, nats: link, settings, logger: deps.logger, consumer, onApplied: () => delivery.wake() });
  // Both read from the database, so they grow (and alert) while NATS is down.
  const unregister_lags = [
    ...(relay ? [registerRelayLag(deps, relay)] : []),
    metrics.registerConsumerLag(consumer.name, () => jetstream.lag(unixSeconds(deps.clock))),
  ];
  const consumeStep = async (): Promise<StepOutcome> => {
    await relay?.step();
    const round = await jetstream.step();
    return round.kind === 'applied' ? 'more' : round.kind === 'retry_later' ? 'failed' : 'idle';
  };
  if (background) {
    relay?.start();
    jetstream.start();
  }
  log.info({ stream: settings.stream, subjects: `${settings.subject_prefix}.>` }, 'events: NATS JetStream binding');
  return {
    binding: 'nats',
    delivery,
    consumeStep,
    relay,
    jetstream,
    nats: { link, settings },
    stop: async () => {
      for (const unregister of unregister_lags) unregister();
      await Promise.all([relay?.stop(), jetstream.stop(), delivery.stop()]);
      await link.stop();
    },
  };
}

function registerRelayLag(deps: Pick<EventServicesDeps, 'pool' | 'clock'>, relay: NatsRelay): () => void {
  return metrics.registerConsumerLag('nats_relay', () => consumerLag(deps.pool, relay.offset_name, unixSeconds(deps.clock)));
}

/**
 * The outbox → JetStream relay alone (the relay role): no webhooks consumer, no delivery, no secrets.
 * Several may run; one leads by advisory lock and the others take over when it dies (relay.ts).
 */
export async function startOutboxRelay(
  deps: Pick<EventServicesDeps, 'pool' | 'clock' | 'logger' | 'env'>,
  options: Pick<EventServicesOptions, 'nats' | 'relay_faults'> = {},
): Promise<{ relay: NatsRelay; stop(): Promise<void> }> {
  const from_env = eventSettingsFromEnv(deps.env);
  if (from_env.nats_url === undefined) throw new Error('the relay role publishes the outbox to NATS JetStream: set NATS_URL');
  const settings = await natsSettingsFor(deps.pool, from_env.nats_url, { ...from_env.nats, ...options.nats });
  const link = new NatsLink({ settings, logger: deps.logger, name: 'payrail-relay' });
  link.start();
  const relay = new NatsRelay({ pool: deps.pool, nats: link, settings, logger: deps.logger, faults: options.relay_faults });
  const unregister_lag = registerRelayLag(deps, relay);
  relay.start();
  deps.logger.info({ stream: settings.stream }, 'events: outbox relay to NATS JetStream');
  return {
    relay,
    stop: async () => {
      unregister_lag();
      await relay.stop();
      await link.stop();
    },
  };
}
