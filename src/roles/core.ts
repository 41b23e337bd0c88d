import type { SpanExporter } from '@opentelemetry/sdk-trace';
import type { Config } from '../platform/config.js';
import type { Database } from '../platform/database.js';
import { openDatabase, openRoleDatabase } from '../platform/database.js';
import type { Logger } from '../platform/logger.js';
import { createLogger } from '../platform/logger.js';
import { metrics, metricsEnabledIn } from '../platform/metrics.js';
import { startTracing, tracePool } from '../platform/tracing.js';
import type { Clock } from '../kernel/clock.js';
import { systemClock } from '../kernel/clock.js';
import { UlidGenerator } from '../kernel/ids.js';
import { ALL_MIGRATIONS } from '../migrations.js';
import type { Connector } from '../services/connectors/index.js';
import type { EventServicesOptions } from '../services/events/index.js';
import type { FxService } from '../services/fx/index.js';
import { startFx } from '../services/fx/index.js';
import type { PaymentRisk } from '../services/payments/index.js';
import type { PaymentServices } from '../payment-services.js';
import { openPaymentServices } from '../payment-services.js';
import { webhookDestinations } from '../service-wiring.js';
import { databaseLogins } from './logins.js';
import type { RoleName } from './names.js';

/**
 * What every role of a process shares, opened once: the clock, ids, the logger (each line names the
 * role), the migrated database, metrics and tracing. The payments services — the vault's keys, the
 * request pools, the processor — open on first use, so roles that never need them (ledger, relay)
 * never load the vault key.
 */

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

export interface Core {
  role: RoleName;
  config: Config;
  options: StartOptions;
  clock: Clock;
  ids: UlidGenerator;
  logger: Logger;
  database: Database;
  webhook_destinations: ReturnType<typeof webhookDestinations>;
  /** Where clients reach this process (redirect and 3-D Secure links); the API role sets it once listening. */
  public_url: { current: string };
  /** The payments services and the rates service, opened on the first call. */
  payments(): Promise<{ services: PaymentServices; fx: FxService }>;
  close(): Promise<void>;
}

export async function openCore(config: Config, role: RoleName, options: StartOptions): Promise<Core> {
  const clock = options.clock ?? systemClock;
  // Live mode runs on real time: a moved clock would settle, release and pay out early (docs/settlement.md).
  if (config.mode === 'live' && clock !== systemClock) throw new Error('live mode runs on the system clock: an injected clock is for test mode only');
  const logger = (options.logger ?? createLogger(config.log_level)).child({ role });
  // Before anything opens: live mode refuses the development-only webhook setting.
  const webhook_destinations = webhookDestinations(config);
  if (webhook_destinations.allow_private) logger.warn('PAYRAIL_WEBHOOKS_ALLOW_PRIVATE=1: webhooks may reach loopback and private addresses (development only)');
  const ids = new UlidGenerator(clock);
  // PAYRAIL_MIGRATE=off: no owner login in this process, only its role's (docs/deployment.md, "Database logins").
  const database = config.migrate ? await openDatabase(config, ALL_MIGRATIONS) : await openRoleDatabase(config, databaseLogins(role, config), ALL_MIGRATIONS);
  if (options.metrics ?? metricsEnabledIn(process.env)) metrics.enable();
  const unbind_pool = metrics.bindPool(database.pool);
  const tracing = await startTracing({ exporter: options.trace_exporter });
  tracePool(database.pool);
  const public_url = { current: config.public_url ?? `${config.tls ? 'https' : 'http'}://${config.host}:${config.port}` };
  let opened: Promise<{ services: PaymentServices; fx: FxService }> | undefined;
  const openPayments = async () => {
    // Exchange rates (ECB), loaded at start-up when none is fresh; quotes go through a Redis-backed cache when REDIS_URL is set.
    const fx = await startFx({ settings: config, pool: database.pool, clock, logger });
    const services = await openPaymentServices(config, database, {
      clock,
      ids,
      logger,
      connector: options.connector,
      risk: options.risk,
      public_url: () => public_url.current,
      fx_rates: fx.rates,
    });
    tracePool(services.write.pool);
    tracePool(services.write.reader);
    return { services, fx };
  };
  return {
    role,
    config,
    options,
    clock,
    ids,
    logger,
    database,
    webhook_destinations,
    public_url,
    payments: () => (opened ??= openPayments()),
    close: async () => {
      unbind_pool();
      const payments = await opened?.catch(() => undefined);
      await payments?.services.close();
      await payments?.fx.close();
      await tracing?.shutdown();
      await database.close();
    },
  };
}
