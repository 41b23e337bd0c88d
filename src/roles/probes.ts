import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { metrics } from '../platform/metrics.js';
import { listenForScrapes } from '../platform/metrics-server.js';
import { pendingMigrations } from '../platform/migrations.js';
import { closeWithin } from '../platform/http/draining-server.js';
import { registerHealthRoutes } from '../services/gateway/index.js';
import { ALL_MIGRATIONS } from '../migrations.js';
import type { Core } from './core.js';

/**
 * What an orchestrator and Prometheus reach in every role's process. A role without the API serves
 * `/healthz` and `/readyz` (and `/metrics` with PAYRAIL_METRICS_TOKEN) on PORT, as the API does, so
 * one probe configuration fits every role — except the vault and risk, on PAYRAIL_HEALTH_PORT. `/metrics`
 * otherwise has its own loopback listener.
 */

export interface Probes {
  /** Where this process answers `/healthz` (the API's address for the API role). */
  url: string;
  metrics_url: string | undefined;
  close(): Promise<void>;
}

/** Ready once every migration this code knows is applied and the database answers (as the API's /readyz). */
export async function migrationsApplied(core: Core): Promise<boolean> {
  return (await pendingMigrations(core.database.pool, ALL_MIGRATIONS)).length === 0;
}

export async function serveProbes(core: Core, api_url: string | undefined): Promise<Probes> {
  const { config } = core;
  let url = api_url;
  let health: FastifyInstance | undefined;
  if (url === undefined) {
    health = Fastify();
    registerHealthRoutes(health, () => migrationsApplied(core), config.metrics_token);
    // The vault's and risk's PORT speaks mutual TLS, which load balancers' and kubelets' probes do not.
    const on_mtls_port = core.role === 'vault' || core.role === 'risk';
    url = await health.listen({ port: on_mtls_port ? config.health_port : config.port, host: config.host });
  }
  // Without a scrape token, /metrics has a listener of its own, off the port a load balancer publishes.
  const scrapes = metrics.enabled && !config.metrics_token ? await listenForScrapes(config.metrics_host, config.metrics_port) : undefined;
  return {
    url,
    metrics_url: scrapes?.url ?? (metrics.enabled ? `${url}/metrics` : undefined),
    close: async () => {
      if (health !== undefined) await closeWithin(health);
      await scrapes?.close();
    },
  };
}
