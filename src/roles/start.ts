import type { Config } from '../platform/config.js';
import type { Database } from '../platform/database.js';
import type { Logger } from '../platform/logger.js';
import type { EventServices } from '../services/events/index.js';
import type { FxService } from '../services/fx/index.js';
import type { LedgerWorker } from '../services/ledger/index.js';
import type { ApiRole, BuildApi } from './api.js';
import { openApiRole } from './api.js';
import type { Core, StartOptions } from './core.js';
import { openCore } from './core.js';
import { startLedgerRole } from './ledger.js';
import type { RoleName } from './names.js';
import { serveProbes } from './probes.js';
import type { SchedulerRole } from './scheduler.js';
import { startSchedulerRole } from './scheduler.js';
import { startRelayRole, startWebhooksRole } from './webhooks.js';
import { startVaultRole } from './vault.js';
import { startRiskRole } from './risk.js';

/**
 * Starts one role — or, for `all`, every role — on one opened core. Whatever the role, the process
 * answers /healthz and /readyz, exposes /metrics, and stops in the reverse order it started.
 */

export interface RoleProcess {
  role: RoleName;
  /** Where this process answers /healthz: the API's address, or the probe listener's. */
  url: string;
  metrics_url: string | undefined;
  logger: Logger;
  database: Database;
  /** Present when this process runs the role (for `all`, every one is). */
  api?: ApiRole;
  events?: EventServices;
  jobs?: SchedulerRole;
  fx?: FxService;
  stop(): Promise<void>;
}

export async function startRole(config: Config, role: RoleName, options: StartOptions, build: BuildApi): Promise<RoleProcess> {
  const core = await openCore(config, role, options);
  const runs = (part: RoleName) => role === 'all' || role === part;
  const stops: Array<() => Promise<void>> = [];
  try {
    const api = runs('api') ? await openApiRole(core, build) : undefined;
    const ledger: LedgerWorker | undefined = runs('ledger') ? startLedgerRole(core) : undefined;
    if (ledger) stops.push(() => ledger.stop());
    // In `all`, the NATS binding's relay runs beside the webhooks consumer, as one process always has.
    const events = runs('webhooks') ? await startWebhooksRole(core, role === 'all') : undefined;
    if (events) stops.push(() => events.stop());
    if (role === 'relay') {
      const relay = await startRelayRole(core);
      stops.push(() => relay.stop());
    }
    // Only on its own: `all` keeps the vault in process, as `npm start` always has.
    if (role === 'vault') {
      const vault = await startVaultRole(core);
      stops.push(() => vault.close());
    }
    // Only on its own: `all`, and an api without PAYRAIL_RISK_URL, score in process.
    if (role === 'risk') {
      const risk = await startRiskRole(core);
      stops.push(() => risk.close());
    }
    const jobs = runs('scheduler') ? await startSchedulerRole(core) : undefined;
    // Stopping: the API takes no new request at once and drains, then the scheduler, then the consumers.
    if (jobs) stops.push(() => jobs.stop());
    if (api) stops.push(() => api.stop());
    const probes = await serveProbes(core, api ? await api.listen() : undefined);
    stops.push(() => probes.close());
    const fx = runs('api') || runs('scheduler') || runs('webhooks') ? (await core.payments()).fx : undefined;
    return {
      role,
      url: probes.url,
      metrics_url: probes.metrics_url,
      logger: core.logger,
      database: core.database,
      api,
      events,
      jobs,
      fx,
      stop: () => stopAll(core, stops),
    };
  } catch (error) {
    await stopAll(core, stops).catch(() => undefined);
    throw error;
  }
}

/** Stops what started, last started first, then closes the core (pools, tracing, the database). */
async function stopAll(core: Core, stops: ReadonlyArray<() => Promise<void>>): Promise<void> {
  for (const stop of [...stops].reverse()) await stop();
  await core.close();
}
