import type { FastifyInstance } from 'fastify';
import { PayrailError } from '../../../kernel/errors.js';

const TEST_HELPERS = '/v1/test_helpers/';

/**
 * Test helpers (the 3-D Secure completion among them) exist in test mode only: with a live key they
 * answer as an unknown URL, as Stripe's do, so nothing can complete a live customer's authentication.
 */
export function registerTestModeGuard(app: FastifyInstance): void {
  app.addHook('preHandler', async (request) => {
    if (!request.api_key?.livemode || !(request.routeOptions.url ?? '').startsWith(TEST_HELPERS)) return;
    throw new PayrailError('url_invalid', {
      message: `Unrecognized request URL (${request.method}: ${request.url.split('?', 1)[0]?.slice(0, 200)}). Test helpers are available with test keys only.`,
    });
  });
}
