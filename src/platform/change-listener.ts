import pg from 'pg';
import type { Logger } from './logger.js';

/**
 * LISTENs on one channel on a connection of its own, for caches that drop an entry when the database
 * announces its change at commit (a trigger's pg_notify, payload: the key). When the connection breaks
 * it reconnects and drops everything, since changes made while not listening are not announced again.
 */
export interface ChangeListener {
  /** Resolves once listening: from then on no change is missed. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

const LISTEN_RETRY_MS = 1_000;
const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;

export function listenForChanges(
  database_url: string,
  channel: string,
  handlers: { forget: (key: string) => void; forgetAll: () => void },
  logger: Logger | undefined,
): ChangeListener {
  if (!CHANNEL.test(channel)) throw new Error(`${channel} is not a plain channel name`);
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  let stopped = false;
  let listened: () => void = () => {};
  const ready = new Promise<void>((resolve) => (listened = resolve));
  const connect = () => {
    const current = new pg.Client({ connectionString: database_url });
    client = current;
    const reconnect = (error: unknown) => {
      if (stopped || client !== current) return;
      logger?.warn({ err: error, channel }, 'change listener lost; reconnecting');
      client = undefined;
      current.removeAllListeners('error');
      current.on('error', () => {});
      void current.end().catch(() => {});
      handlers.forgetAll();
      retry = setTimeout(connect, LISTEN_RETRY_MS);
    };
    current.on('error', reconnect);
    current.on('end', () => reconnect(new Error('connection ended')));
    current.on('notification', (message) => {
      if (message.channel === channel && message.payload) handlers.forget(message.payload);
    });
    current
      .connect()
      .then(() => current.query(`LISTEN ${channel}`))
      .then(() => {
        handlers.forgetAll();
        listened();
      })
      .catch(reconnect);
  };
  connect();
  return {
    ready,
    stop: async () => {
      stopped = true;
      clearTimeout(retry);
      const current = client;
      client = undefined;
      await current?.end().catch(() => {});
    },
  };
}
