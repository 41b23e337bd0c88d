import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { nanos } from '@nats-io/transport-node';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { assert } from '../../../../kernel/assert.js';

/**
 * The NATS JetStream binding's names and limits, and the stream and durable consumers it creates.
 * One file-backed stream holds every event (subject `<prefix>.<merchant>.<type>`), published by the
 * relay in the outbox's commit-safe order with message id = event id, so JetStream drops a
 * re-publish inside the duplicate window.
 */
export interface NatsSettings {
  /** One or more servers, comma-separated (NATS_URL). */
  url: string;
  /** This database's installation id; the stream carries it and refuses another database. */
  installation: string;
  /** Stream name; default PAYRAIL_EVENTS_<installation id>, so installations sharing a NATS never mix. */
  stream: string;
  /** Subjects are `<prefix>.<merchant_id>.<event type>`. */
  subject_prefix: string;
  /** Stream replicas (3 on a production cluster). */
  replicas: number;
  /** Events older than this leave the stream (consumers that far behind skip them, loudly). */
  max_age_ms: number;
  /** JetStream remembers message ids this long; a re-publish within it is dropped. */
  duplicate_window_ms: number;
  /** Outbox rows per relay round (one pipelined window of publishes). */
  relay_batch_size: number;
  relay_idle_ms: number;
  publish_timeout_ms: number;
  /** How often a standby relay or consumer tries to take the lead. */
  standby_retry_ms: number;
  /** Messages per consumer transaction (and the client's buffer). */
  consumer_batch_size: number;
  /** JetStream redelivers an unacknowledged message after this. */
  ack_wait_ms: number;
  /** Bounded redelivery: JetStream stops after this many deliveries of one message. */
  max_deliver: number;
  /** Failed attempts of one event in the consumer before it is parked (kept below max_deliver). */
  attempts_max: number;
}

export const DEFAULT_NATS_SETTINGS: Omit<NatsSettings, 'url' | 'installation' | 'stream' | 'subject_prefix'> = {
  replicas: 1,
  max_age_ms: 7 * 24 * 60 * 60_000,
  duplicate_window_ms: 10 * 60_000,
  relay_batch_size: 500,
  relay_idle_ms: 20,
  publish_timeout_ms: 10_000,
  standby_retry_ms: 1_000,
  consumer_batch_size: 256,
  ack_wait_ms: 30_000,
  max_deliver: 20,
  attempts_max: 5,
};

export const NATS_LIMITS = {
  batch_size_max: 1_000,
  replicas_max: 5,
  /** An event is a few kB; JetStream's default message limit (1 MB) is far above any event. */
  name_length_max: 64,
} as const;

/** Default names for an installation (events.installation): stream `PAYRAIL_EVENTS_<ID>`, subjects `payrail.<id>`. */
export function defaultNames(installation_id: string): { stream: string; subject_prefix: string } {
  assert(/^[a-z0-9]{1,32}$/.test(installation_id), 'installation ids are short lowercase hex');
  return { stream: `PAYRAIL_EVENTS_${installation_id.toUpperCase()}`, subject_prefix: `payrail.${installation_id}` };
}

export function checkNatsSettings(settings: NatsSettings): NatsSettings {
  assert(settings.url.length > 0, 'NATS url is empty');
  assert(/^[A-Za-z0-9_-]{1,64}$/.test(settings.stream), 'NATS stream names are 1-64 letters, digits, _ or -');
  assert(/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(settings.subject_prefix), 'NATS subject prefix must be dot-separated tokens of a-z, 0-9, _ or -');
  assert(Number.isInteger(settings.replicas) && settings.replicas >= 1 && settings.replicas <= NATS_LIMITS.replicas_max, 'NATS replicas 1 to 5');
  for (const size of [settings.relay_batch_size, settings.consumer_batch_size]) {
    assert(Number.isInteger(size) && size >= 1 && size <= NATS_LIMITS.batch_size_max, 'NATS batch sizes 1 to 1000');
  }
  assert(settings.attempts_max >= 1 && settings.attempts_max < settings.max_deliver, 'consumer attempts_max must stay below max_deliver');
  assert(settings.duplicate_window_ms >= 1_000 && settings.duplicate_window_ms <= settings.max_age_ms, 'duplicate window 1 s to max_age');
  return settings;
}

export function subjectOf(settings: Pick<NatsSettings, 'subject_prefix'>, merchant_id: string, type: string): string {
  // Ids and types are [A-Za-z0-9_.]: safe subject tokens. Anything else would be a bug upstream.
  assert(/^[A-Za-z0-9_]+$/.test(merchant_id) && /^[a-z_]+(\.[a-z_]+)*$/.test(type), `event ${type} of ${merchant_id} makes no valid subject`);
  return `${settings.subject_prefix}.${merchant_id}.${type}`;
}

export interface JetStreamHandle {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  close(): Promise<void>;
}

/** One connection attempt gives up after this (an unreachable host, not a refused port, takes that long). */
export const CONNECT_TIMEOUT_MS = 5_000;
/** Once connected, the client reconnects for ever, waiting this long between tries of one server. */
const RECONNECT_WAIT_MS = 500;

/** Connects once (one try of each server); the NatsLink retries a failed first connect. */
export async function connectJetStream(settings: Pick<NatsSettings, 'url' | 'publish_timeout_ms'>, name = 'payrail'): Promise<JetStreamHandle> {
  const nc = await connect({
    servers: settings.url
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
    name,
    timeout: CONNECT_TIMEOUT_MS,
    // Reconnect for ever: the relay and consumers resume from durable positions when it comes back.
    maxReconnectAttempts: -1,
    reconnectTimeWait: RECONNECT_WAIT_MS,
  });
  const jsm = await jetstreamManager(nc, { timeout: settings.publish_timeout_ms });
  const js = jetstream(nc, { timeout: settings.publish_timeout_ms });
  return {
    nc,
    js,
    jsm,
    close: async () => {
      await nc.drain().catch(() => nc.close());
    },
  };
}

/**
 * Creates the stream, or brings its limits to the settings. File storage, limits retention. A stream
 * made by another installation (another database) is refused: its events and consumer state are not ours.
 */
export async function ensureStream(jsm: JetStreamManager, settings: NatsSettings): Promise<void> {
  const description = `payrail installation ${settings.installation}`;
  const config = {
    description,
    subjects: [`${settings.subject_prefix}.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(settings.max_age_ms),
    duplicate_window: nanos(settings.duplicate_window_ms),
    num_replicas: settings.replicas,
  };
  const existing = await jsm.streams.info(settings.stream).catch((error: unknown) => {
    if (isNotFound(error)) return null;
    throw error;
  });
  if (!existing) {
    await jsm.streams.add({ name: settings.stream, ...config });
    return;
  }
  const current = existing.config;
  if (current.description !== description) {
    throw new Error(
      `NATS stream ${settings.stream} belongs to another Payrail database ("${current.description ?? 'no description'}"); ` +
        `choose another PAYRAIL_NATS_STREAM, or delete the stream if that installation is gone`,
    );
  }
  if (current.max_age !== config.max_age || current.duplicate_window !== config.duplicate_window || current.subjects?.[0] !== config.subjects[0]) {
    await jsm.streams.update(settings.stream, { ...current, subjects: config.subjects, max_age: config.max_age, duplicate_window: config.duplicate_window });
  }
}

/** The durable pull consumer for one Payrail consumer: explicit acks, bounded redelivery, all subjects. */
export async function ensureDurableConsumer(jsm: JetStreamManager, settings: NatsSettings, durable: string): Promise<void> {
  const config = durableConfig(settings, durable);
  const existing = await jsm.consumers.info(settings.stream, durable).catch((error: unknown) => {
    if (isNotFound(error)) return null;
    throw error;
  });
  if (!existing) {
    await jsm.consumers.add(settings.stream, durableConfig(settings, durable));
    return;
  }
  if (
    existing.config.ack_wait !== config.ack_wait ||
    existing.config.max_deliver !== config.max_deliver ||
    existing.config.max_ack_pending !== config.max_ack_pending
  ) {
    await jsm.consumers.update(settings.stream, durable, {
      ack_wait: config.ack_wait,
      max_deliver: config.max_deliver,
      max_ack_pending: config.max_ack_pending,
    });
  }
}

/**
 * Replaces the durable consumer with one that delivers from `from_seq` on: after the stream was
 * re-created or truncated, the old consumer's delivered sequence is past messages it must now deliver.
 */
export async function resetDurableConsumer(jsm: JetStreamManager, settings: NatsSettings, durable: string, from_seq: number): Promise<void> {
  assert(Number.isSafeInteger(from_seq) && from_seq >= 1, 'a stream sequence starts at 1');
  await jsm.consumers.delete(settings.stream, durable).catch((error: unknown) => {
    if (!isNotFound(error)) throw error;
  });
  const config = durableConfig(settings, durable);
  await jsm.consumers.add(settings.stream, from_seq === 1 ? config : { ...config, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from_seq });
}

function durableConfig(settings: NatsSettings, durable: string) {
  assert(/^[A-Za-z0-9_-]{1,64}$/.test(durable), 'durable consumer names are 1-64 letters, digits, _ or -');
  return {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(settings.ack_wait_ms),
    max_deliver: settings.max_deliver,
    max_ack_pending: settings.consumer_batch_size * 4,
  };
}

/** The relay's offset row in events.consumer_offsets (also rewound by consumers that need a replay). */
export function relayOffsetName(stream: string): string {
  return `nats_relay.${stream.toLowerCase()}`;
}

/** Removes a stream and its consumers (tests and benches; never done by the platform itself). */
export async function deleteStream(settings: Pick<NatsSettings, 'url' | 'stream' | 'publish_timeout_ms'>): Promise<void> {
  const handle = await connectJetStream(settings, 'payrail-cleanup');
  try {
    await handle.jsm.streams.delete(settings.stream).catch(() => false);
  } finally {
    await handle.close();
  }
}

export function durableName(consumer_name: string): string {
  return `payrail-${consumer_name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

function isNotFound(error: unknown): boolean {
  const e = error as { code?: unknown; api_error?: { code?: number }; message?: string };
  return e.api_error?.code === 404 || e.code === 404 || e.code === '404' || /not found/i.test(e.message ?? '');
}
