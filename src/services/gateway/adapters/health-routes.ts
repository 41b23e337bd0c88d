import type { FastifyInstance } from 'fastify';
import { metrics } from '../../../platform/metrics.js';

/** The unauthenticated routes of operators and load balancers: liveness, readiness and the Prometheus scrape. */

/** A load balancer's probe answers within a second, whatever the database does. */
const READINESS_TIMEOUT_MS = 800;

/** `ready`: whether migrations are done and the database answers. */
export function registerHealthRoutes(app: FastifyInstance, ready: () => Promise<boolean>): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  // Prometheus exposition (PAYRAIL_METRICS=off removes it). Label values hold no ids or secrets.
  if (metrics.enabled) {
    app.get('/metrics', async (_request, reply) => {
      const { content_type, body } = await metrics.exposition();
      reply.header('content-type', content_type).send(body);
    });
  }
  // A frozen database must not hang the probe: the check races a timeout. One check runs at a time,
  // so probes during an outage do not each hold a pool connection until the query times out.
  let readiness: Promise<boolean> | undefined;
  app.get('/readyz', async (_request, reply) => {
    readiness ??= ready()
      .catch(() => false)
      .finally(() => {
        readiness = undefined;
      });
    const is_ready = await resolvesWithin(readiness, READINESS_TIMEOUT_MS, false);
    reply.code(is_ready ? 200 : 503).send({ status: is_ready ? 'ready' : 'not_ready' });
  });
}

function resolvesWithin<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
