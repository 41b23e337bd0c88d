import type { EventServices } from '../services/events/index.js';
import { startEventServices, startOutboxRelay } from '../services/events/index.js';
import type { Core } from './core.js';

/**
 * The `webhooks` role: the consumer that turns events into deliveries and the worker that sends them
 * (signed, retried). With `with_relay` (the `all` role) the NATS binding's outbox relay runs here too;
 * otherwise it is the `relay` role's. Needs the vault's keys: webhook secrets are sealed.
 */
export async function startWebhooksRole(core: Core, with_relay: boolean): Promise<EventServices> {
  const { services } = await core.payments();
  return startEventServices(
    {
      pool: core.database.pool,
      clock: core.clock,
      logger: core.logger,
      key_material: services.idempotency_hash_key,
      webhook_sealing: services.webhook_sealing,
      webhook_destinations: core.webhook_destinations,
      env: process.env,
    },
    { ...core.options.events, relay: with_relay },
  );
}

/**
 * The `relay` role: publishes the outbox to NATS JetStream (NATS_URL required). Run two or more: one
 * leads by a PostgreSQL advisory lock, and when it dies another takes the lock and carries on from
 * the durable offset. It holds no secrets and never opens the vault.
 */
export function startRelayRole(core: Core): Promise<{ stop(): Promise<void> }> {
  return startOutboxRelay({ pool: core.database.pool, clock: core.clock, logger: core.logger, env: process.env }, core.options.events);
}
