import type { FastifyInstance } from 'fastify';
import type { Config } from './platform/config.js';
import type { Database } from './platform/database.js';
import { openDatabase } from './platform/database.js';
import type { Logger } from './platform/logger.js';
import { createLogger } from './platform/logger.js';
import { metrics, metricsEnabledIn } from './platform/metrics.js';
import { listenForScrapes } from './platform/metrics-server.js';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { startTracing, tracePool } from './platform/tracing.js';
import { pendingMigrations } from './platform/migrations.js';
import { ALL_MIGRATIONS } from './migrations.js';
import type { Clock } from './kernel/clock.js';
import { systemClock } from './kernel/clock.js';
import { UlidGenerator } from './kernel/ids.js';
import type { KeyHasher } from './services/merchants/index.js';
import { ApiKeyResolver, adminRoutes, loadKeyHasher, merchantExists } from './services/merchants/index.js';
import type { Connector } from './services/connectors/index.js';
import { buildGateway } from './services/gateway/index.js';
import { purgeExpired } from './platform/write/idempotency.js';
import { createScheduler } from './platform/scheduler.js';
import { ledgerRoutes, startLedgerWorker } from './services/ledger/index.js';
import type { DaySettled, PayoutJobs, RunSummary } from './services/settlement/index.js';
import {
  RECONCILE_CHECK_INTERVAL_MS,
  RECONCILE_JOB,
  SANDBOX_TERMS,
  reconcileSettledDays,
  reconciliationAdminRoutes,
  sandboxDiscrepancies,
} from './services/settlement/index.js';
import {
  SETTLEMENT_CHECK_INTERVAL_MS,
  SETTLEMENT_JOB,
  payoutRoutes,
  payoutTransactions,
  settleDueDays,
  startPayoutJobs,
  testClockRoutes,
} from './services/settlement/index.js';
import type { EventServices, EventServicesOptions } from './services/events/index.js';
import { eventsRoutes, startEventServices } from './services/events/index.js';
import { closeWithin } from './platform/http/draining-server.js';
import type { PaymentServices } from './payment-services.js';
import { openPaymentServices } from './payment-services.js';
import { checkoutDeps, clientSecretCheck, disputesDeps, ensureDefaultMerchant, webhookDestinations } from './service-wiring.js';
import { readTlsCredentials } from './platform/http/tls.js';
import { CHECKOUT_EXPIRY_INTERVAL_MS, CHECKOUT_EXPIRY_JOB, checkoutPageRoutes, checkoutRoutes, expireDueSessions } from './services/checkout/index.js';
import { radarAdminRoutes, valueListRoutes } from './services/risk/index.js';
import type { DisputesDeps } from './services/disputes/index.js';
import {
  DISPUTE_DECISION_INTERVAL_MS,
  DISPUTE_DECISION_JOB,
  PROCESSOR_NOTIFICATIONS_INTERVAL_MS,
  PROCESSOR_NOTIFICATIONS_JOB,
  decideDueDisputes,
  deliverProcessorNotifications,
  disputesRoutes,
  retrieveDispute,
} from './services/disputes/index.js';
import type { PaymentRisk, PaymentsDeps } from './services/payments/index.js';
import {
  ORPHAN_SWEEP_INTERVAL_MS,
  ORPHAN_SWEEP_JOB,
  balanceTransactionSource,
  ledgerRecords,
  paymentsRoutes,
  settleOrphanedCalls,
  unsettledCallAge,
} from './services/payments/index.js';

export interface Platform {
  url: string;
  /** Where Prometheus scrapes this process (its own listener, or the API port with PAYRAIL_METRICS_TOKEN); undefined with metrics off. */
  metrics_url: string | undefined;
  app: FastifyInstance;
  database: Database;
  /** The default merchant's secret key when this start created it (the only time it is known in clear). */
  secret_key: string | undefined;
  /** Hashes API keys as they are stored (tests create keys with it). */
  key_hasher: KeyHasher;
  /** Secret of the keyed request hash stored with Idempotency-Keys (tests plant rows with it). */
  idempotency_hash_key: Buffer;
  /** Webhook delivery and the event bus binding (embedded, or NATS JetStream with NATS_URL). */
  events: EventServices;
  /** The disputes service as the server runs it (tests drive its notification handler and decision job). */
  disputes: DisputesDeps;
  /** Payout work (automatic runs, the bank worker), also callable by hand (tests, the bench). */
  payouts: PayoutJobs;
  /** Processor settlement: the daily run's work for every day due on the clock, also callable by hand (tests). */
  settlement: { runDue(): Promise<DaySettled[]> };
  /** Reconciliation: every settled day not yet reconciled, as its scheduled job runs it (tests call it by hand). */
  reconciliation: { runDue(): Promise<RunSummary[]> };
  stop(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  logger?: Logger;
  connector?: Connector;
  /** Events service options (tests: retry schedule, webhook timeout, NATS on or off). */
  events?: EventServicesOptions;
  /** Prometheus metrics and `/metrics`; default: on unless PAYRAIL_METRICS=off. */
  metrics?: boolean;
  /** Tests: export spans here (tracing is otherwise on only when the OTEL_* variables ask for it). */
  trace_exporter?: SpanExporter;
  /** Replaces the risk engine every confirm goes through (the bench's risk-off run; tests of its failures). */
  risk?: PaymentRisk;
}

/** Expired Idempotency-Keys are purged every ten minutes, by one process (a scheduled job). */
const IDEMPOTENCY_PURGE_CRON = '*/10 * * * *';

/** Starts every service in this process: database, migrations, default merchant, HTTP API. */
export async function startPlatform(config: Config, options: StartOptions = {}): Promise<Platform> {
  const clock = options.clock ?? systemClock;
  // Live mode runs on real time: a moved clock would settle, release and pay out early (docs/settlement.md).
  if (config.mode === 'live' && clock !== systemClock) throw new Error('live mode runs on the system clock: an injected clock is for test mode only');
  const logger = options.logger ?? createLogger(config.log_level);
  // Before anything opens: live mode refuses the development-only webhook setting.
  const webhook_destinations = webhookDestinations(config);
  if (webhook_destinations.allow_private) logger.warn('PAYRAIL_WEBHOOKS_ALLOW_PRIVATE=1: webhooks may reach loopback and private addresses (development only)');
  const ids = new UlidGenerator(clock);
  const database = await openDatabase(config, ALL_MIGRATIONS);
  if (options.metrics ?? metricsEnabledIn(process.env)) metrics.enable();
  const unbind_pool = metrics.bindPool(database.pool);
  const tracing = await startTracing({ exporter: options.trace_exporter });
  tracePool(database.pool);
  // Beside the vault's development keys: the secrets dir the config names, never the data dir.
  const key_hasher = loadKeyHasher({ ...process.env, PAYRAIL_SECRETS_DIR: config.secrets_dir }, config.data_dir);
  const secret_key = await ensureDefaultMerchant(config, { pool: database.pool, hasher: key_hasher, ids }, clock);
  const keys = new ApiKeyResolver(database.pool, key_hasher, () => clock.now_ms());
  // Revocations and rolls reach this process within a round trip of their commit.
  await keys.listen(database.url, logger);
  let public_url = config.public_url ?? `${config.tls ? 'https' : 'http'}://${config.host}:${config.port}`;
  const services = await openPaymentServices(config, database, {
    clock,
    ids,
    logger,
    connector: options.connector,
    public_url: () => public_url,
    risk: options.risk,
  });
  const { write, payments, idempotency_hash_key } = services;
  tracePool(write.pool);
  tracePool(write.reader);
  const app = buildApi(config, database, services, { clock, ids, logger, keys, key_hasher });
  // Timed work (idempotency purge, ledger release), durable and run by one process at a time.
  // pg-boss creates and upgrades its own schema, so it connects as the owner; no request reaches it.
  const scheduler = createScheduler({ database_url: database.owner_url, logger });
  scheduler.every('idempotency-purge', { cron: IDEMPOTENCY_PURGE_CRON }, async () => {
    await purgeExpired(database.pool, clock.now_ms());
  });
  // Posts payments events to the ledger in the background; stops when the app closes, before the pool.
  startLedgerWorker({ pool: database.pool, clock, logger, app, scheduler });
  // Webhooks: the consumer that enqueues deliveries and the worker that sends them, off the request
  // path; with NATS_URL also the outbox relay to JetStream. Stops when the app closes, before the pool.
  const events = await startEventServices(
    {
      pool: database.pool,
      clock,
      logger,
      app,
      key_material: idempotency_hash_key,
      webhook_sealing: services.webhook_sealing,
      webhook_destinations,
      env: process.env,
    },
    options.events,
  );
  // Settles processor calls whose caller died, in one process at a time. It finds them across
  // merchants through the system role; each is then settled through the write pipeline, as its merchant.
  const across_merchants: PaymentsDeps = { ...payments, reader: database.pool };
  scheduler.every(ORPHAN_SWEEP_JOB, { interval_ms: ORPHAN_SWEEP_INTERVAL_MS }, async () => {
    await settleOrphanedCalls(across_merchants, write, logger);
  });
  // Expires open Checkout Sessions past their expires_at (and completes any whose payment went through).
  scheduler.every(CHECKOUT_EXPIRY_JOB, { interval_ms: CHECKOUT_EXPIRY_INTERVAL_MS }, async () => {
    await expireDueSessions(checkoutDeps(database, services), logger);
  });
  // Disputes: the processor's notifications (a chargeback opened) and test mode's decisions on evidence.
  scheduler.every(PROCESSOR_NOTIFICATIONS_JOB, { interval_ms: PROCESSOR_NOTIFICATIONS_INTERVAL_MS }, async () => {
    await deliverProcessorNotifications(disputesDeps(database, services), logger);
  });
  scheduler.every(DISPUTE_DECISION_JOB, { interval_ms: DISPUTE_DECISION_INTERVAL_MS }, async () => {
    await decideDueDisputes(disputesDeps(database, services), logger);
  });
  // Payouts: the bank worker and the automatic payout schedule, off the request path.
  const payouts = startPayoutJobs({ write, system: database.pool, clock, logger, sealer: payments.vault.sealer('bank_accounts'), scheduler });
  // Processor settlement: each day that is over on the injected clock, the processor's report imported into the ledger.
  // In test mode PAYRAIL_SANDBOX_DISCREPANCIES puts a seeded plan of faults into the processor's reports (docs/settlement.md).
  const reporting = sandboxDiscrepancies(payments.connector, process.env, config.mode);
  const settlement = { runDue: () => settleDueDays({ pool: database.pool, clock, connector: reporting }) };
  scheduler.every(SETTLEMENT_JOB, { interval_ms: SETTLEMENT_CHECK_INTERVAL_MS }, async () => {
    const settled = await settlement.runDue();
    if (settled.length > 0) logger.info({ days: settled.map((day) => day.batch_date) }, 'settlement: days settled');
  });
  // Reconciliation: each settled day's report against Payrail's books, once the settlement run has imported it.
  const reconciliation = {
    runDue: () => reconcileSettledDays({ pool: database.pool, payments: ledgerRecords, terms: SANDBOX_TERMS, ids, clock, reports: reporting }, logger),
  };
  scheduler.every(RECONCILE_JOB, { interval_ms: RECONCILE_CHECK_INTERVAL_MS }, async () => {
    await reconciliation.runDue();
  });
  const unregister_unsettled = metrics.registerUnsettledCalls(() => unsettledCallAge(across_merchants, clock.now_ms()));
  await scheduler.start();
  const address = await app.listen({ port: config.port, host: config.host });
  // Without a scrape token, /metrics has a listener of its own, off the API port.
  const metrics_listener = metrics.enabled && !config.metrics_token ? await listenForScrapes(config.metrics_host, config.metrics_port) : undefined;
  if (!config.public_url) public_url = address;
  return {
    url: address,
    metrics_url: metrics_listener?.url ?? (metrics.enabled ? `${address}/metrics` : undefined),
    app,
    database,
    secret_key,
    key_hasher,
    idempotency_hash_key,
    events,
    disputes: disputesDeps(database, services),
    payouts,
    settlement,
    reconciliation,
    stop: async () => {
      await scheduler.stop();
      await closeWithin(app);
      await metrics_listener?.close();
      await keys.stop();
      unbind_pool();
      unregister_unsettled();
      await services.close();
      await tracing?.shutdown();
      await database.close();
    },
  };
}

/** The HTTP API with every service's routes, each handed what it needs from the others as functions. */
function buildApi(
  config: Config,
  database: Database,
  services: PaymentServices,
  context: { clock: Clock; ids: UlidGenerator; logger: Logger; keys: ApiKeyResolver; key_hasher: KeyHasher },
): FastifyInstance {
  const { write, payments, idempotency_hash_key } = services;
  const { clock } = context;
  return buildGateway({
    keys: context.keys,
    client_secrets: clientSecretCheck(payments),
    ids: context.ids,
    clock,
    logger: context.logger,
    body_limit_bytes: config.body_limit_bytes,
    limits: {
      rate: { rate_per_s: config.rate_limit_per_s, burst: config.rate_limit_burst },
      failed_authentications: { limit: config.auth_failure_limit, window_ms: config.auth_failure_window_s * 1000 },
      redis_url: config.redis_url,
      redis_prefix: config.redis_prefix,
    },
    http: {
      request_timeout_ms: config.http_request_timeout_ms,
      keep_alive_timeout_ms: config.http_keep_alive_timeout_ms,
      max_connections: config.http_max_connections,
      trust_proxy: config.trust_proxy,
    },
    tls: config.tls ? readTlsCredentials(config.tls) : undefined,
    metrics_token: config.metrics_token,
    routes: [
      paymentsRoutes({ payments, write }),
      eventsRoutes({ write, key_material: idempotency_hash_key, webhook_sealing: services.webhook_sealing, webhook_destinations: webhookDestinations(config) }),
      ledgerRoutes({
        reader: write.reader,
        clock,
        source: (merchant_id, id) =>
          id.startsWith('dp_') ? retrieveDispute(disputesDeps(database, services), merchant_id, id) : balanceTransactionSource(payments, merchant_id, id),
        payout_transactions: (merchant_id, id) => payoutTransactions(write.reader, merchant_id, id),
      }),
      payoutRoutes({
        write,
        bank_accounts: {
          sealer: payments.vault.sealer('bank_accounts'),
          fingerprint: (m, routing, number) => payments.vault.bankAccountFingerprint(m, routing, number),
        },
      }),
      checkoutRoutes(checkoutDeps(database, services)),
      checkoutPageRoutes(checkoutDeps(database, services)),
      testClockRoutes({ write }),
      valueListRoutes({ write }),
      disputesRoutes(disputesDeps(database, services)),
      ...(config.admin_token
        ? [adminRoutes({ store: { pool: database.pool, hasher: context.key_hasher, ids: context.ids }, clock, admin_token: config.admin_token })]
        : []),
      ...(config.admin_token ? [reconciliationAdminRoutes({ pool: database.pool, admin_token: config.admin_token })] : []),
      ...(config.admin_token
        ? [
            radarAdminRoutes({
              pool: database.pool,
              ids: context.ids,
              clock,
              admin_token: config.admin_token,
              merchant_exists: (merchant_id) => merchantExists(database.pool, merchant_id),
            }),
          ]
        : []),
    ],
    ready: async () => (await pendingMigrations(database.pool, ALL_MIGRATIONS)).length === 0,
  });
}
