import type { Logger } from '../../../../platform/logger.js';
import { metrics } from '../../../../platform/metrics.js';
import { assert } from '../../../../kernel/assert.js';
import type { JetStreamHandle, NatsSettings } from './jetstream.js';
import { connectJetStream, ensureStream } from './jetstream.js';
import { Alarm } from '../../../../platform/alarm.js';

/**
 * The events service's connection to NATS, made in the background: Payrail starts and takes payments
 * while NATS is unreachable (the outbox is the system of record and keeps every event), and the relay
 * and consumers start working once the link is up. A failed first connect is retried with bounded
 * backoff; once connected, the client itself reconnects for ever. On every (re)connect the stream is
 * ensured, so a NATS that came back without its store gets the stream back at once.
 */

/** Where the relay and consumers get their JetStream client. */
export interface JetStreamSource {
  /** Undefined until the first connect succeeds. */
  readonly handle: JetStreamHandle | undefined;
  /** False while the connection is down (the client is reconnecting). */
  readonly connected: boolean;
  /**
   * Settles when the current connection is lost. Requests in flight then never get their answer, so
   * waiting for them would only wait out their timeout.
   */
  lost(): Promise<void>;
}

/** A source that is simply this handle (tests, tools). */
export function fixedSource(handle: JetStreamHandle): JetStreamSource {
  return {
    handle,
    get connected() {
      return !handle.nc.isClosed();
    },
    lost: () => handle.nc.closed().then(() => {}),
  };
}

/** Waits between first-connect attempts: doubling from `first_ms`, at most `max_ms`. */
export const LINK_BACKOFF = { first_ms: 100, max_ms: 5_000 } as const;
/** A failed first connect is logged on its first attempt and then every this many attempts. */
const LOG_EVERY_ATTEMPTS = 10;
/** Stopping waits at most this for buffered messages to be flushed. */
const DRAIN_TIMEOUT_MS = 2_000;

export interface NatsLinkDeps {
  settings: NatsSettings;
  logger: Logger;
  /** Connection name shown by the NATS server. */
  name: string;
}

export class NatsLink implements JetStreamSource {
  private current: JetStreamHandle | undefined;
  private up = false;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private readonly alarm = new Alarm();
  private unregister_metric: (() => void) | undefined;
  private connection_lost = signal();
  private readonly log: Logger;

  constructor(private readonly deps: NatsLinkDeps) {
    this.log = deps.logger.child({ service: 'events', stream: deps.settings.stream });
  }

  get handle(): JetStreamHandle | undefined {
    return this.current;
  }

  get connected(): boolean {
    return this.up && this.current !== undefined;
  }

  lost(): Promise<void> {
    return this.connection_lost.settled;
  }

  start(): void {
    assert(this.loop === undefined, 'NATS link started twice');
    this.unregister_metric = metrics.registerNatsLink(this.deps.settings.stream, () => this.connected);
    this.loop = this.connectUntilUp();
  }

  /** Creates the stream if it is missing (NATS lost its store), or brings its limits to the settings. */
  async ensureStream(): Promise<void> {
    const handle = this.current;
    if (!handle) return;
    await ensureStream(handle.jsm, this.deps.settings);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.alarm.ring();
    await this.loop;
    this.unregister_metric?.();
    const handle = this.current;
    this.current = undefined;
    this.up = false;
    this.connection_lost.settle();
    if (!handle) return;
    // Draining a connection that is down would wait for a server that may never come back.
    if (handle.nc.isClosed()) return;
    const drained = handle.nc.drain().then(
      () => true,
      () => false,
    );
    const timeout = new Promise<boolean>((resolve) => setTimeout(resolve, DRAIN_TIMEOUT_MS, false).unref());
    if (!(await Promise.race([drained, timeout]))) await handle.nc.close().catch(() => {});
  }

  private async connectUntilUp(): Promise<void> {
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        const handle = await connectJetStream(this.deps.settings, this.deps.name);
        if (this.stopping) {
          await handle.nc.close();
          return;
        }
        this.current = handle;
        this.up = true;
        this.watch(handle);
        this.log.info({ attempts: attempt }, 'events: connected to NATS');
        await this.ensureStreamLogged();
        return;
      } catch (error) {
        const wait_ms = Math.min(LINK_BACKOFF.max_ms, LINK_BACKOFF.first_ms * 2 ** Math.min(attempt - 1, 16));
        if (attempt === 1 || attempt % LOG_EVERY_ATTEMPTS === 0) {
          this.log.warn({ err: error, attempts: attempt, retry_in_ms: wait_ms }, 'events: NATS unreachable; events wait in the outbox until it is back');
        }
        await this.sleep(wait_ms);
      }
    }
  }

  /** Follows the client's reconnects until the connection closes. */
  private watch(handle: JetStreamHandle): void {
    void (async () => {
      for await (const status of handle.nc.status()) {
        if (status.type === 'disconnect') {
          this.up = false;
          this.connection_lost.settle();
          this.log.warn('events: NATS connection lost; reconnecting (events wait in the outbox)');
        } else if (status.type === 'reconnect') {
          this.connection_lost = signal();
          this.up = true;
          this.log.info('events: NATS connection back');
          await this.ensureStreamLogged();
        }
      }
    })().catch((error: unknown) => this.log.warn({ err: error }, 'events: NATS status watch ended'));
  }

  private async ensureStreamLogged(): Promise<void> {
    // Not fatal: the relay ensures the stream again after a failed publish.
    await this.ensureStream().catch((error: unknown) => this.log.error({ err: error }, 'events: cannot create or check the NATS stream'));
  }

  private sleep(ms: number): Promise<void> {
    return this.alarm.sleep(ms);
  }
}

function signal(): { settled: Promise<void>; settle: () => void } {
  let settle: () => void = () => {};
  const settled = new Promise<void>((resolve) => {
    settle = resolve;
  });
  return { settled, settle };
}
