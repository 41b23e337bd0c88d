import Fastify from 'fastify';
import type { Clock } from '../../src/kernel/clock.js';
import type { Pool } from '../../src/platform/db.js';
import type { AdyenCredentials } from '../../src/services/connectors/adapters/adyen-connector.js';
import { AdyenConnector } from '../../src/services/connectors/adapters/adyen-connector.js';
import type { ProcessorEvent } from '../../src/services/connectors/domain/port.js';
import type { AdyenSimulator, AdyenSimulatorOptions } from '../../src/simulators/adyen/server.js';
import { startAdyenSimulator } from '../../src/simulators/adyen/server.js';

export const ADYEN_API_KEY = 'AQEyhmfxTESTKEYsimulator0000000000000000';
export const ADYEN_HMAC_KEY = '44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056';
export const ADYEN_MERCHANT_ACCOUNT = 'PayrailTestECOM';

/**
 * A notification endpoint standing in for the router's POST /connectors/:id/notifications: verifies
 * with the connector, records, then acknowledges. `refuse_next` answers 500 to that many deliveries.
 */
export interface NotificationReceiver {
  url: string;
  events: ProcessorEvent[];
  rejected: string[];
  refuse_next: number;
  close(): Promise<void>;
}

export async function startNotificationReceiver(connector: () => AdyenConnector): Promise<NotificationReceiver> {
  const app = Fastify();
  const receiver = { events: [] as ProcessorEvent[], rejected: [] as string[], refuse_next: 0 };
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.post('/notifications', async (request, reply) => {
    if (receiver.refuse_next > 0) {
      receiver.refuse_next -= 1;
      return reply.status(500).send('busy');
    }
    const verified = connector().verifyNotification(request.headers, request.body as Buffer);
    if (!verified.ok) {
      receiver.rejected.push(verified.reason);
      return reply.status(401).send('rejected');
    }
    await connector().recordEvents(verified.events);
    receiver.events.push(...verified.events);
    return reply.status(verified.ack.status).type(verified.ack.content_type).send(verified.ack.body);
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return Object.assign(receiver, { url: `${address}/notifications`, close: () => app.close() });
}

export interface AdyenWorld {
  simulator: AdyenSimulator;
  receiver: NotificationReceiver;
  credentials: AdyenCredentials;
  connector(overrides?: Partial<{ timeout_ms: number; clock: Clock; settle_after_ms: number; credentials: Partial<AdyenCredentials> }>): AdyenConnector;
  close(): Promise<void>;
}

/** A simulator, a connector against it, and a receiver of its notifications that the connector verifies. */
export async function startAdyenWorld(pool: Pool, simulator_options: Partial<AdyenSimulatorOptions> = {}): Promise<AdyenWorld> {
  const simulator = await startAdyenSimulator({
    api_key: ADYEN_API_KEY,
    hmac_key_hex: ADYEN_HMAC_KEY,
    merchant_accounts: [ADYEN_MERCHANT_ACCOUNT],
    notification_retry_ms: [50, 100, 200, 400],
    hold_ms: 5_000,
    ...simulator_options,
  });
  const credentials: AdyenCredentials = { api_key: ADYEN_API_KEY, merchant_account: ADYEN_MERCHANT_ACCOUNT, base_url: simulator.url, hmac_key: ADYEN_HMAC_KEY };
  const make: AdyenWorld['connector'] = (overrides = {}) =>
    new AdyenConnector({
      credentials: { ...credentials, ...overrides.credentials },
      merchant_id: 'acct_adyen_test',
      pool,
      clock: overrides.clock ?? { now_ms: () => Date.now() },
      timeout_ms: overrides.timeout_ms ?? 2_000,
      ...(overrides.settle_after_ms === undefined ? {} : { settle_after_ms: overrides.settle_after_ms }),
    });
  const default_connector = make();
  const receiver = await startNotificationReceiver(() => default_connector);
  simulator.notifyTo(receiver.url);
  return {
    simulator,
    receiver,
    credentials,
    connector: make,
    async close() {
      await simulator.close();
      await receiver.close();
    },
  };
}

/**
 * Polls until `check` holds (the simulator's notifications arrive on their own schedule), failing after
 * `timeout_ms`: long enough for a 2-core machine running other suites at once (5 s once fell short).
 */
export async function eventually<T>(check: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeout_ms = 15_000): Promise<T> {
  const deadline = Date.now() + timeout_ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
