import type { Config } from './platform/config.js';
import { poolLimits } from './platform/config.js';
import type { Database } from './platform/database.js';
import type { Logger } from './platform/logger.js';
import { metrics } from './platform/metrics.js';
import { tracePool, tracingActive } from './platform/tracing.js';
import type { Clock } from './kernel/clock.js';
import { unixSeconds } from './kernel/clock.js';
import type { UlidGenerator } from './kernel/ids.js';
import type { KeySettings, SecretSealer } from './services/vault/index.js';
import { Vault, idempotencyHashKey, loadVaultKeyring, openKms, remoteVaultBinding } from './services/vault/index.js';
import { readMtlsCredentials } from './platform/http/mtls.js';
import { secretsDir } from './platform/secrets-dir.js';
import type { ConnectorAccounts, Connector, HealthView } from './services/connectors/index.js';
import {
  SandboxProcessor,
  accountsDirectory,
  faultPlanFromEnv,
  instrumentConnector,
  openConnectorAccounts,
  openRouter,
  withFaults,
} from './services/connectors/index.js';
import type { PaymentRisk } from './services/payments/index.js';
import type { RiskScorer } from './services/risk/index.js';
import { openRadarRules, openRiskScorer, remoteRiskScorer } from './services/risk/index.js';
import { recordDetokenization } from './services/audit/index.js';
import type { Pool } from './platform/db.js';
import { createPool } from './platform/db.js';
import { errorBody } from './platform/http/errors.js';
import { takeProcessLease } from './platform/write/lease.js';
import type { WriteDeps } from './platform/write/pipeline.js';
import type { PaymentsDeps } from './services/payments/index.js';
import { retrieveTestClock } from './services/billing/index.js';
import type { FxRates } from './services/fx/index.js';
import { EcbRates, LocalDayCache } from './services/fx/index.js';
import { settlementCurrencyOf } from './services/merchants/index.js';
import { settlementFx } from './services/payments/index.js';

/**
 * The payments service and the write pipeline on an open database, with the vault and the processor
 * behind them: what the server (compose.ts) and the CLI's write commands share.
 */

const SANDBOX_POOL_MAX = 10;
/** The router's records of tries: one short statement before and after each processor call. */
const ROUTER_POOL_MAX = 6;
/** A connector's own HTTP timeout: under the router's breaker timeout, so the connector names its own timeouts. */
const CONNECTOR_FETCH_TIMEOUT_MS = 20_000;
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
  /** The router's measure of each connector account (the admin API's routing dry runs read it). */
  connector_health: HealthView;
  /** The merchants' connector accounts, opened (the processors' notifications are verified by them). */
  connector_accounts: ConnectorAccounts;
  /** The processor whose settlement reports the platform imports and reconciles: the built-in sandbox, under its own name. */
  settlement_processor: Connector;
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
    /** The platform's rates service (compose.ts); without one (the CLI), fx.rates through an in-process cache. */
    fx_rates?: FxRates | undefined;
  },
): Promise<PaymentServices> {
  const { vault, idempotency_hash_key, vault_pools, closeVault } = await openVault(config, database, context);
  // The request path connects as the app role, each statement scoped to the merchant it acts for.
  const writer = createPool(database.urls.app, config.db_pool_max, poolLimits(config), { merchant_scoped: true });
  const reader = createPool(database.urls.app, Math.max(2, Math.ceil(config.db_pool_max / 2)), poolLimits(config), { read_only: true, merchant_scoped: true });
  // Logged in before the first request: a role that cannot log in stops the start, and the first
  // payments after a start (or a crash) find connections open instead of waiting for new backends.
  await Promise.all([...Array<Pool>(WARM_WRITE_CONNECTIONS).fill(writer), reader, ...vault_pools].map((pool) => pool.query('SELECT 1')));
  const lease = await takeProcessLease(database.url, (error) => context.logger.warn({ err: error }, 'process lease connection lost; reconnecting'));
  // The sandbox stands in for a remote processor. Its records commit without waiting for the WAL
  // flush: Payrail's own durable commit of an answer flushes the WAL that holds the record behind it,
  // so a crash can only lose a record Payrail never acted on — which the retry then asks for, finds
  // missing and sends again under the same id. It costs the hot path no fsync of its own.
  const sandbox_pool = createPool(database.url, SANDBOX_POOL_MAX, poolLimits(config), { asynchronous_commit: true });
  // A risk engine handed in is its owner's to close.
  const risk = context.risk ? { ...context.risk, close: async () => {} } : await openRisk(config, database, reader, context);
  // The router's tries commit synchronously: each is durable before the processor hears of it.
  const router_pool = createPool(database.url, ROUTER_POOL_MAX, poolLimits(config));
  const sandbox = observed(new SandboxProcessor({ pool: sandbox_pool, latency_ms: config.sandbox_latency_ms, clock: context.clock }));
  const built_in = withFaults(sandbox, faultPlanFromEnv(config.sandbox_faults));
  // The merchants' connector accounts and routing rules, cached here and dropped at each change's commit.
  const accounts = openConnectorAccounts({
    pool: database.pool,
    sealer: vault.sealer('connector_credentials'),
    clock: context.clock,
    logger: context.logger,
    sandbox: built_in,
    fetch_timeout_ms: CONNECTOR_FETCH_TIMEOUT_MS,
    database_url: database.url,
  });
  const router = openRouter({ pool: router_pool, answer_pool: sandbox_pool, clock: context.clock, sandbox: built_in, directory: accountsDirectory(accounts) });
  const payments: PaymentsDeps = {
    reader,
    vault,
    // A connector handed in (tests, benches) is called as it is; otherwise the router over the merchants' accounts.
    connector: context.connector !== undefined ? observed(context.connector) : router,
    risk,
    public_url: context.public_url,
    record_detokenization: (entry) => recordDetokenization(database.pool, entry),
    test_clocks: { retrieve: (db, merchant_id, id) => retrieveTestClock(db, merchant_id, id, unixSeconds(context.clock)) },
    fx: settlementFx(context.fx_rates ?? new EcbRates({ db: reader, cache: new LocalDayCache(), max_age_s: config.fx_rate_max_age_s }), settlementCurrencyOf),
  };
  return {
    write: { pool: writer, reader, ids: context.ids, clock: context.clock, lease, hash_key: idempotency_hash_key, render_error: errorBody },
    payments,
    idempotency_hash_key,
    webhook_sealing: vault.sealer('webhook_secrets'),
    connector_health: router.health,
    connector_accounts: accounts,
    settlement_processor: built_in,
    close: async () => {
      await lease.stop();
      await risk.close();
      await reader.end();
      await writer.end();
      await closeVault();
      await sandbox_pool.end();
      await router_pool.end();
      await accounts.close();
    },
  };
}

/**
 * The risk engine every confirm goes through: the scorer (velocity windows in Redis with REDIS_URL,
 * in process otherwise; the risk process's with PAYRAIL_RISK_URL) and the merchants' Radar rules,
 * read in each merchant's scope and dropped from the cache when the database announces a change. Failures are logged; the payment goes to review.
 */
async function openRisk(
  config: Config,
  database: Database,
  reader: Pool,
  context: { clock: Clock; logger: Logger },
): Promise<PaymentRisk & { close(): Promise<void> }> {
  const { clock, logger } = context;
  const scorer = await openScorer(config, context);
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

/** The risk process's scorer over mutual TLS with PAYRAIL_RISK_URL; otherwise this process scores. */
async function openScorer(config: Config, { clock, logger }: { clock: Clock; logger: Logger }): Promise<RiskScorer> {
  if (config.risk_url) {
    if (!config.vault_tls) throw new Error('PAYRAIL_RISK_URL needs PAYRAIL_VAULT_TLS_CA, PAYRAIL_VAULT_TLS_CERT and PAYRAIL_VAULT_TLS_KEY');
    return remoteRiskScorer({ url: config.risk_url, tls: readMtlsCredentials(config.vault_tls), timeout_ms: config.risk_timeout_ms });
  }
  return openRiskScorer({
    redis_url: config.redis_url,
    redis_prefix: config.redis_prefix,
    clock,
    on_store_error: (error) => logger.warn({ err: error }, 'risk velocity store unavailable; this process’s own windows answer'),
  });
}

export { idempotencyHashKey };

/**
 * The vault in this process (its keys opened here), or, with PAYRAIL_VAULT_URL, the vault process's
 * key port over mutual TLS: then this process never opens the KMS nor reads a sealed card.
 */
async function openVault(config: Config, database: Database, context: { clock: Clock; logger: Logger }) {
  if (config.vault_url) {
    if (!config.vault_tls) throw new Error('PAYRAIL_VAULT_URL needs PAYRAIL_VAULT_TLS_CA, PAYRAIL_VAULT_TLS_CERT and PAYRAIL_VAULT_TLS_KEY');
    const remote = remoteVaultBinding({ url: config.vault_url, tls: readMtlsCredentials(config.vault_tls) });
    const { key } = await remote.idempotency_hash_key({});
    return { vault: new Vault(remote), idempotency_hash_key: Buffer.from(key, 'base64'), vault_pools: [], closeVault: async () => remote.close() };
  }
  const kms = await openKms(keySettings(config), (message, fields) => context.logger.info(fields, message));
  const keyring = await withPool(database.urls.vault, (pool) => loadVaultKeyring(pool, kms, context.clock.now_ms()));
  // Sealed cards are read only through the vault's own role, scoped to the merchant like the request path.
  const vault_reader = createPool(database.urls.vault, VAULT_POOL_MAX, poolLimits(config), { read_only: true, merchant_scoped: true });
  tracePool(vault_reader);
  const vault = new Vault(keyring, vault_reader);
  return { vault, idempotency_hash_key: idempotencyHashKey(keyring.fingerprint_key), vault_pools: [vault_reader], closeVault: () => vault_reader.end() };
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
