import type { FastifyInstance } from 'fastify';
import { PayrailError } from '../../../kernel/errors.js';
import { metrics } from '../../../platform/metrics.js';
import { scrapeAuthorized } from '../../../platform/metrics-server.js';

/** The unauthenticated routes of operators and load balancers: liveness, readiness and the Prometheus scrape. */

/** A load balancer's probe answers within a second, whatever the database does. */
const READINESS_TIMEOUT_MS = 800;

/**
 * `ready`: whether migrations are done and the database answers. `/metrics` is here only with a
 * `metrics_token` (scrapes must bear it); otherwise it has a listener of its own (metrics-server.ts).
 */
export function registerHealthRoutes(app: FastifyInstance, ready: () => Promise<boolean>, metrics_token: string | undefined): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  // Prometheus exposition (PAYRAIL_METRICS=off removes it). Label values hold no ids or secrets.
  if (metrics.enabled && metrics_token !== undefined) {
    app.get('/metrics', async (request, reply) => {
      if (!scrapeAuthorized(request.headers.authorization, metrics_token)) {
        throw new PayrailError('api_key_invalid', { message: 'Scraping /metrics needs the PAYRAIL_METRICS_TOKEN as a bearer token.' });
      }
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
