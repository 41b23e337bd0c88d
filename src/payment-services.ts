import { createHmac } from 'node:crypto';
import type { Config } from './platform/config.js';
import { poolLimits } from './platform/config.js';
import type { Database } from './platform/database.js';
import type { Logger } from './platform/logger.js';
import { metrics } from './platform/metrics.js';
import { tracePool, tracingActive } from './platform/tracing.js';
import type { Clock } from './kernel/clock.js';
import type { UlidGenerator } from './kernel/ids.js';
import type { KeySettings, SecretSealer } from './services/vault/index.js';
import { Vault, loadVaultKeyring, openKms } from './services/vault/index.js';
import { secretsDir } from './platform/secrets-dir.js';
import type { Connector } from './services/connectors/index.js';
import { SandboxProcessor, instrumentConnector } from './services/connectors/index.js';
import type { PaymentRisk } from './services/payments/index.js';
import { openRadarRules, openRiskScorer } from './services/risk/index.js';
import { recordDetokenization } from './services/audit/index.js';
import type { Pool } from './platform/db.js';
import { createPool } from './platform/db.js';
import { errorBody } from './platform/http/errors.js';
import { takeProcessLease } from './platform/write/lease.js';
import type { WriteDeps } from './platform/write/pipeline.js';
import type { PaymentsDeps } from './services/payments/index.js';

/**
 * The payments service and the write pipeline on an open database, with the vault and the processor
 * behind them: what the server (compose.ts) and the CLI's write commands share.
 */

const SANDBOX_POOL_MAX = 10;
const VAULT_POOL_MAX = 4;
/** Connections of the write pool opened at start (concurrent queries each take one). */
const WARM_WRITE_CONNECTIONS = 4;

export interface PaymentServices {
  /** The write pipeline: every use case runs through it, from HTTP, the CLI or a job. */
  write: WriteDeps;
  payments: PaymentsDeps;
  /** The platform secret the idempotency request hash (and webhook secrets sealed before the KMS) derive from. */
  idempotency_hash_key: Buffer;
  /** Seals webhook signing secrets through the KMS, under their own key. */
  webhook_sealing: SecretSealer;
  close(): Promise<void>;
}

/**
 * The payments service and the write pipeline on an open database: what the server and the CLI's
 * write commands share, so both run use cases with the same guarantees (keys, leases, the sandbox).
 */
export async function openPaymentServices(
  config: Config,
  database: Database,
  context: {
    clock: Clock;
    ids: UlidGenerator;
    logger: Logger;
    connector?: Connector | undefined;
    public_url: () => string;
    /** Replaces the risk engine (the bench measures payments without it; tests, with one that fails). */
    risk?: PaymentRisk | undefined;
  },
): Promise<PaymentServices> {
  const kms = await openKms(keySettings(config), (message, fields) => context.logger.info(fields, message));
  const keyring = await withPool(database.urls.vault, (pool) => loadVaultKeyring(pool, kms, context.clock.now_ms()));
  // Sealed cards are read only through the vault's own role, scoped to the merchant like the request path.
  const vault_reader = createPool(database.urls.vault, VAULT_POOL_MAX, poolLimits(config), { read_only: true, merchant_scoped: true });
  tracePool(vault_reader);
  const vault = new Vault(keyring, vault_reader);
  const idempotency_hash_key = idempotencyHashKey(keyring.fingerprint_key);
  // The request path connects as the app role, each statement scoped to the merchant it acts for.
  const writer = createPool(database.urls.app, config.db_pool_max, poolLimits(config), { merchant_scoped: true });
  const reader = createPool(database.urls.app, Math.max(2, Math.ceil(config.db_pool_max / 2)), poolLimits(config), { read_only: true, merchant_scoped: true });
  // Logged in before the first request: a role that cannot log in stops the start, and the first
  // payments after a start (or a crash) find connections open instead of waiting for new backends.
  await Promise.all([...Array<Pool>(WARM_WRITE_CONNECTIONS).fill(writer), reader, vault_reader].map((pool) => pool.query('SELECT 1')));
  const lease = await takeProcessLease(database.url, (error) => context.logger.warn({ err: error }, 'process lease connection lost; reconnecting'));
  // The sandbox stands in for a remote processor. Its records commit without waiting for the WAL
  // flush: Payrail's own durable commit of an answer flushes the WAL that holds the record behind it,
  // so a crash can only lose a record Payrail never acted on — which the retry then asks for, finds
  // missing and sends again under the same id. It costs the hot path no fsync of its own.
  const sandbox_pool = createPool(database.url, SANDBOX_POOL_MAX, poolLimits(config), { asynchronous_commit: true });
  // A risk engine handed in is its owner's to close.
  const risk = context.risk ? { ...context.risk, close: async () => {} } : await openRisk(config, database, reader, context);
  const payments: PaymentsDeps = {
    reader,
    vault,
    connector: observed(context.connector ?? new SandboxProcessor({ pool: sandbox_pool, latency_ms: config.sandbox_latency_ms, clock: context.clock })),
    risk,
    public_url: context.public_url,
    record_detokenization: (entry) => recordDetokenization(database.pool, entry),
  };
  return {
    write: { pool: writer, reader, ids: context.ids, clock: context.clock, lease, hash_key: idempotency_hash_key, render_error: errorBody },
    payments,
    idempotency_hash_key,
    webhook_sealing: vault.sealer('webhook_secrets'),
    close: async () => {
      await lease.stop();
      await risk.close();
      await reader.end();
      await writer.end();
      await vault_reader.end();
      await sandbox_pool.end();
    },
  };
}

/**
 * The risk engine every confirm goes through: the scorer (velocity windows in Redis with REDIS_URL,
 * in process otherwise) and the merchants' Radar rules, read in each merchant's scope and dropped from
 * the cache when the database announces a change. Failures are logged; the payment goes to review.
 */
async function openRisk(
  config: Config,
  database: Database,
  reader: Pool,
  context: { clock: Clock; logger: Logger },
): Promise<PaymentRisk & { close(): Promise<void> }> {
  const { clock, logger } = context;
  const scorer = await openRiskScorer({
    redis_url: config.redis_url,
    redis_prefix: config.redis_prefix,
    clock,
    on_store_error: (error) => logger.warn({ err: error }, 'risk velocity store unavailable; this process’s own windows answer'),
  });
  const rules = openRadarRules({ pool: reader, clock, database_url: database.urls.app, logger });
  return {
    scorer,
    rules,
    livemode: config.mode === 'live',
    on_failure: (part, error) =>
      part === 'record'
        ? logger.warn({ err: error }, 'risk: recording an attempt in the velocity windows failed')
        : logger.error({ err: error, part }, 'risk evaluation failed; the payment goes to review'),
    close: async () => {
      await rules.close();
      await scorer.close();
    },
  };
}

/** The idempotency request hash's secret (webhook secrets sealed before the KMS were sealed with a key derived from it). */
export function idempotencyHashKey(fingerprint_key: Buffer): Buffer {
  return createHmac('sha256', fingerprint_key).update('payrail idempotency request hash v1').digest();
}

/** A pool of one connection for one piece of start-up work (the vault's role loading its keyring). */
async function withPool<T>(url: string, work: (pool: Pool) => Promise<T>): Promise<T> {
  const pool = createPool(url, 1);
  try {
    return await work(pool);
  } finally {
    await pool.end();
  }
}

/** Where the vault finds its keys: the KMS chosen, and development keys outside the data dir. */
export function keySettings(config: Config): KeySettings {
  return {
    kms: config.kms,
    vault_key: config.vault_key_hex,
    data_dir: config.data_dir,
    secrets_dir: secretsDir({ ...process.env, PAYRAIL_SECRETS_DIR: config.secrets_dir }, config.data_dir),
    transit: config.vault_transit,
    live: config.mode === 'live',
  };
}

/** Processor calls timed, counted and traced, when metrics or tracing are on. */
function observed(connector: Connector): Connector {
  return metrics.enabled || tracingActive() ? instrumentConnector(connector) : connector;
}
