import type { FastifyInstance } from 'fastify';
import type { Config } from '../platform/config.js';
import type { Database } from '../platform/database.js';
import type { Logger } from '../platform/logger.js';
import { closeWithin } from '../platform/http/draining-server.js';
import type { Clock } from '../kernel/clock.js';
import type { UlidGenerator } from '../kernel/ids.js';
import type { KeyHasher } from '../services/merchants/index.js';
import { ApiKeyResolver, loadKeyHasher } from '../services/merchants/index.js';
import type { PaymentServices } from '../payment-services.js';
import { ensureDefaultMerchant } from '../service-wiring.js';
import type { Core } from './core.js';

/**
 * The `api` role: the HTTP gateway with every /v1 route (and the dashboard, checkout pages, admin API)
 * and no background work. Risk scoring runs here, in process, on every confirm (docs/architecture.md#roles).
 */

export type BuildApi = (
  config: Config,
  database: Database,
  services: PaymentServices,
  context: { clock: Clock; ids: UlidGenerator; logger: Logger; keys: ApiKeyResolver; key_hasher: KeyHasher },
) => FastifyInstance;

export interface ApiRole {
  app: FastifyInstance;
  /** The default merchant's secret key when this start created it (the only time it is known in clear). */
  secret_key: string | undefined;
  key_hasher: KeyHasher;
  /** Secret of the keyed request hash stored with Idempotency-Keys (tests plant rows with it). */
  idempotency_hash_key: Buffer;
  /** Listens on PORT; returns the address (and makes it the public URL unless PAYRAIL_PUBLIC_URL says otherwise). */
  listen(): Promise<string>;
  /** Drains in-flight requests, then stops following key changes. */
  stop(): Promise<void>;
}

export async function openApiRole(core: Core, build: BuildApi): Promise<ApiRole> {
  const { config, database, clock, ids, logger } = core;
  // Beside the vault's development keys: the secrets dir the config names, never the data dir.
  const key_hasher = loadKeyHasher({ ...process.env, PAYRAIL_SECRETS_DIR: config.secrets_dir }, config.data_dir);
  const secret_key = await ensureDefaultMerchant(config, { pool: database.pool, hasher: key_hasher, ids }, clock);
  const keys = new ApiKeyResolver(database.pool, key_hasher, () => clock.now_ms());
  // Revocations and rolls reach this process within a round trip of their commit.
  await keys.listen(database.url, logger);
  const { services } = await core.payments();
  const app = build(config, database, services, { clock, ids, logger, keys, key_hasher });
  return {
    app,
    secret_key,
    key_hasher,
    idempotency_hash_key: services.idempotency_hash_key,
    listen: async () => {
      const address = await app.listen({ port: config.port, host: config.host });
      if (!config.public_url) core.public_url.current = address;
      return address;
    },
    stop: async () => {
      await closeWithin(app);
      await keys.stop();
    },
  };
}
