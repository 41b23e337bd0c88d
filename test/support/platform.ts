import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Stripe from 'stripe';
import type { Config } from '../../src/platform/config.js';
import { loadConfig } from '../../src/platform/config.js';
import { createLogger } from '../../src/platform/logger.js';
import type { Platform, StartOptions } from '../../src/compose.js';
import { startPlatform } from '../../src/compose.js';
import { createMerchant } from '../../src/services/merchants/app/merchants.js';
import { UlidGenerator } from '../../src/kernel/ids.js';
import { createTestDatabase } from './database.js';
import pg from 'pg';
import type { Pool } from '../../src/platform/db.js';
import { deleteStream } from '../../src/services/events/adapters/nats/jetstream.js';

export const TEST_SECRET_KEY = 'sk_test_payrailTestKey0000000000000001';

export interface TestPlatform {
  platform: Platform;
  /** What the platform was started with (the CLI gets the same database and data dir from it). */
  config: Config;
  url: string;
  secret_key: string;
  stripe: Stripe;
  /** Every log line the platform wrote, for tests that search logs for secrets. */
  logs: string[];
  /**
   * The test database as its owner sees it: every row of every table, the vault's sealed cards
   * included, for tests that inspect what is stored. The platform's own pools never can (docs/security.md).
   */
  owner: Pool;
  /** A second merchant, for isolation tests. */
  newMerchant(): Promise<{ secret_key: string; stripe: Stripe }>;
  stop(): Promise<void>;
}

/** The official SDK against `url`; with `stripe_account`, every call carries `Stripe-Account` (Connect). */
export function stripeClient(url: string, secret_key: string, stripe_account?: string): Stripe {
  const { hostname, port } = new URL(url);
  return new Stripe(secret_key, {
    apiVersion: '2023-08-16',
    host: hostname,
    port: Number(port),
    protocol: 'http',
    maxNetworkRetries: 0,
    telemetry: false,
    ...(stripe_account === undefined ? {} : { stripeAccount: stripe_account }),
  });
}

export interface TestStartOptions extends StartOptions {
  /** The URL the platform uses for its fresh database, e.g. through a TCP proxy (fault tests). */
  route_database?: (url: string) => string;
}

/** The whole platform in this process, on a fresh database and port, driven by the official SDK. */
export async function startTestPlatform(overrides: Partial<Config> = {}, test_options: TestStartOptions = {}): Promise<TestPlatform> {
  const { route_database, ...options } = test_options;
  const database = await createTestDatabase();
  const data_dir = mkdtempSync(join(tmpdir(), 'payrail-test-data-'));
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const config: Config = {
    ...loadConfig({}),
    port: 0,
    host: '127.0.0.1',
    database_url: route_database ? route_database(database.url) : database.url,
    data_dir,
    bootstrap_secret_key: TEST_SECRET_KEY,
    db_pool_max: 10,
    log_level: 'info',
    // Each platform's own /metrics listener, on a free port (Platform.metrics_url says which).
    metrics_port: 0,
    // Test receivers listen on 127.0.0.1: these platforms opt in to private destinations, as a developer
    // would (test/e2e/webhooks-ssrf.test.ts starts its own without, to prove the refusals).
    webhooks_allow_private: true,
    ...overrides,
  };
  const platform = await startPlatform(config, { logger: createLogger('info', sink), ...options });
  const owner = new pg.Pool({ connectionString: database.url, max: 2, application_name: 'payrail-test-owner' });
  owner.on('error', () => {}); // fault tests end every backend of the database, idle ones included
  return {
    platform,
    config,
    url: platform.url,
    secret_key: TEST_SECRET_KEY,
    stripe: stripeClient(platform.url, TEST_SECRET_KEY),
    logs,
    owner,
    newMerchant: async () => {
      const store = { pool: platform.database.pool, hasher: platform.key_hasher, ids: new UlidGenerator() };
      const keys = await createMerchant(store, Math.floor(Date.now() / 1000), { name: 'Other merchant' });
      return { secret_key: keys.secret_key, stripe: stripeClient(platform.url, keys.secret_key) };
    },
    stop: async () => {
      // With NATS_URL set each platform has its own JetStream stream; nothing else would delete it.
      const nats = platform.events.nats;
      await platform.stop();
      await owner.end();
      if (nats) await deleteStream(nats.settings);
      await database.drop();
      rmSync(data_dir, { recursive: true, force: true });
    },
  };
}
