import type { FastifyInstance } from 'fastify';
import type { Config } from './platform/config.js';
import type { Database } from './platform/database.js';
import type { Logger } from './platform/logger.js';
import { pendingMigrations } from './platform/migrations.js';
import { ALL_MIGRATIONS } from './migrations.js';
import type { Clock } from './kernel/clock.js';
import type { UlidGenerator } from './kernel/ids.js';
import type { ApiKeyResolver, KeyHasher } from './services/merchants/index.js';
import { ConnectedAccountAccess, adminRoutes, merchantExists } from './services/merchants/index.js';
import { accountRoutes } from './services/connect/index.js';
import { buildGateway } from './services/gateway/index.js';
import { ledgerRoutes } from './services/ledger/index.js';
import { transferRoutes, transferSource } from './services/connect/index.js';
import { applicationFeeRoutes } from './services/connect-charges/index.js';
import type { DaySettled, PayoutJobs, RunSummary } from './services/settlement/index.js';
import { reconciliationAdminRoutes } from './services/settlement/index.js';
import { payoutRoutes, payoutTransactions } from './services/settlement/index.js';
import type { EventServices } from './services/events/index.js';
import { eventsRoutes } from './services/events/index.js';
import {
  BufferedRequestLog,
  dashboardAuthRoutes,
  dashboardDeveloperRoutes,
  dashboardOidcSettings,
  dashboardPaymentRoutes,
  dashboardStatic,
} from './services/dashboard/index.js';
import type { PaymentServices } from './payment-services.js';
import { billingDeps, checkoutDeps, clientSecretCheck, disputesDeps, webhookDestinations } from './service-wiring.js';
import type { WorkDone } from './services/billing/index.js';
import { billingRoutes } from './services/billing/index.js';
import { readTlsCredentials } from './platform/http/tls.js';
import { checkoutPageRoutes, checkoutRoutes } from './services/checkout/index.js';
import { radarAdminRoutes, valueListRoutes } from './services/risk/index.js';
import type { FxService } from './services/fx/index.js';
import { connectorAdminRoutes, connectorNotificationRoutes } from './services/connectors/index.js';
import type { DisputesDeps } from './services/disputes/index.js';
import { disputesRoutes, retrieveDispute } from './services/disputes/index.js';
import { balanceTransactionSource, paymentsRoutes, settleNotifiedAttempt } from './services/payments/index.js';
import type { StartOptions } from './roles/core.js';
import type { RoleName } from './roles/names.js';
import type { RoleProcess } from './roles/start.js';
import { startRole } from './roles/start.js';

export type { StartOptions } from './roles/core.js';

/**
 * The composition root of the server: the HTTP API's routes (buildApi), and the platform as one
 * process runs it. The roles themselves (api, ledger, webhooks, relay, scheduler) start in src/roles/.
 */

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
  /** Billing: one run of the billing job (renewals, payment tries, trial notices, expiries due on the clock), as the scheduler runs it. */
  billing: { runDue(): Promise<WorkDone> };
  /** Exchange rates: quotes for conversions (docs/currencies.md), and the configured file's load as its hourly job runs it. */
  fx: FxService;
  stop(): Promise<void>;
}

/** Starts every role in this process (role `all`, `npm start`): database, migrations, default merchant, workers, jobs, HTTP API. */
export async function startPlatform(config: Config, options: StartOptions = {}): Promise<Platform> {
  const running = await startRole(config, 'all', options, buildApi);
  const { api, events, jobs, fx } = running;
  if (!api || !events || !jobs || !fx) throw new Error('role all started without one of its roles');
  return {
    url: running.url,
    metrics_url: running.metrics_url,
    app: api.app,
    database: running.database,
    secret_key: api.secret_key,
    key_hasher: api.key_hasher,
    idempotency_hash_key: api.idempotency_hash_key,
    events,
    disputes: jobs.disputes,
    payouts: jobs.payouts,
    settlement: jobs.settlement,
    reconciliation: jobs.reconciliation,
    billing: jobs.billing,
    fx,
    stop: () => running.stop(),
  };
}

/** Starts one role in this process (`payrail start --service NAME`); `all` is startPlatform's. */
export function startService(config: Config, role: RoleName, options: StartOptions = {}): Promise<RoleProcess> {
  return startRole(config, role, options, buildApi);
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
  const connected_accounts = new ConnectedAccountAccess(database.pool, () => clock.now_ms());
  // The dashboard's log of /v1 requests: the gateway hands it each one; it writes them in batches, off the request path.
  const request_log = new BufferedRequestLog(database.pool, context.logger);
  return buildGateway({
    keys: context.keys,
    connected_accounts,
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
    request_log,
    routes: [
      paymentsRoutes({ payments, write }),
      eventsRoutes({ write, key_material: idempotency_hash_key, webhook_sealing: services.webhook_sealing, webhook_destinations: webhookDestinations(config) }),
      ledgerRoutes({
        reader: write.reader,
        clock,
        source: (merchant_id, id) =>
          id.startsWith('dp_')
            ? retrieveDispute(disputesDeps(database, services), merchant_id, id)
            : id.startsWith('tr')
              ? transferSource(write.reader, merchant_id, id)
              : balanceTransactionSource(payments, merchant_id, id),
        payout_transactions: (merchant_id, id) => payoutTransactions(write.reader, merchant_id, id),
      }),
      transferRoutes({ write }),
      applicationFeeRoutes({ write }),
      payoutRoutes({
        write,
        bank_accounts: {
          sealer: payments.vault.sealer('bank_accounts'),
          fingerprint: (m, routing, number) => payments.vault.bankAccountFingerprint(m, routing, number),
        },
      }),
      accountRoutes({ write, forget: (account_id) => connected_accounts.forget(account_id) }),
      checkoutRoutes(checkoutDeps(database, services)),
      checkoutPageRoutes(checkoutDeps(database, services)),
      dashboardAuthRoutes({
        pool: database.pool,
        clock,
        ids: context.ids,
        totp_sealer: payments.vault.sealer('connector_credentials'),
        secure_cookie: Boolean(config.tls),
        public_url: config.public_url,
        oidc: dashboardOidcSettings(process.env),
      }),
      dashboardDeveloperRoutes({
        reader: write.reader,
        system: database.pool,
        keys: { pool: database.pool, hasher: context.key_hasher, ids: context.ids },
        clock,
        livemode: config.mode === 'live',
        request_log,
      }),
      dashboardPaymentRoutes({ payments, write, system: database.pool, clock }),
      dashboardStatic(),
      valueListRoutes({ write }),
      disputesRoutes(disputesDeps(database, services)),
      billingRoutes(billingDeps(database, services, context.logger)),
      connectorNotificationRoutes({
        pool: database.pool,
        accounts: services.connector_accounts,
        settle: (merchant_id, attempt_id) => settleNotifiedAttempt(payments, write, merchant_id, attempt_id),
        logger: context.logger,
      }),
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
      ...(config.admin_token
        ? [
            connectorAdminRoutes({
              pool: database.pool,
              ids: context.ids,
              clock,
              admin_token: config.admin_token,
              sealer: payments.vault.sealer('connector_credentials'),
              merchant_exists: (merchant_id) => merchantExists(database.pool, merchant_id),
              health: services.connector_health,
            }),
          ]
        : []),
    ],
    ready: async () => (await pendingMigrations(database.pool, ALL_MIGRATIONS)).length === 0,
  });
}
