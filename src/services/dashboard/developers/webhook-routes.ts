import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { PayrailError } from '../../../kernel/errors.js';
import * as P from '../../../platform/http/params.js';
import { pageSchema } from '../list-page.js';
import { AdminError, resendEvent } from '../../events/index.js';
import { recordDashboardAction, requirePermission } from '../auth/index.js';
import type { DashboardDeveloperDeps } from './deps.js';
import { actionContext, asUser, pathId } from './deps.js';
import { delivery, deliveryLog, endpointExists, webhookEndpoints } from './queries.js';

/**
 * Webhook endpoints, each one's delivery log (every attempt with its response code, and when the
 * next retry is due) and resend. Resend is the events service's own (`resendEvent`, the CLI's
 * `payrail events resend`): the delivery is queued again with a fresh retry schedule, and the
 * delivery worker sends it signed, as any other. Endpoint secrets are never read here.
 */

const ENDPOINT_ID = /^we_[0-9A-Za-z]{1,64}$/;
const DELIVERY_ID = /^\d{1,18}$/;
/** The delivery log's cursor: `<delivery id>-<attempt>` of the last row shown. */
const DELIVERY_CURSOR = /^(\d{1,18})-(\d{1,9})$/;

const emptySchema = z.strictObject({});

export function webhookRoutes(deps: DashboardDeveloperDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/dashboard/api/developers/webhook_endpoints', { preHandler: requirePermission('developers.read') }, async (request) => {
      P.parseParams(emptySchema, request.query);
      const data = await asUser(request, (user) => webhookEndpoints(deps.reader, user.merchant_id));
      return { data, has_more: false, next_cursor: null };
    });

    app.get('/dashboard/api/developers/webhook_endpoints/:id/deliveries', { preHandler: requirePermission('developers.read') }, async (request) => {
      const params = P.parseParams(pageSchema, request.query);
      const endpoint_id = pathId(request, ENDPOINT_ID);
      return asUser(request, async (user) => {
        if (!(await endpointExists(deps.reader, user.merchant_id, endpoint_id))) {
          throw new PayrailError('resource_missing', { param: 'id', message: `No such webhook endpoint: '${endpoint_id}'` });
        }
        return deliveryLog(deps.reader, user.merchant_id, endpoint_id, params.limit ?? 50, deliveryCursor(params.starting_after));
      });
    });

    app.post('/dashboard/api/developers/deliveries/:id/resend', { preHandler: requirePermission('developers.write') }, async (request) => {
      P.parseParams(emptySchema, request.body ?? {});
      const delivery_id = pathId(request, DELIVERY_ID);
      return asUser(request, async (user) => {
        const found = await delivery(deps.reader, user.merchant_id, delivery_id);
        if (!found) throw new PayrailError('resource_missing', { param: 'id', message: `No such webhook delivery: '${delivery_id}'` });
        try {
          await resendEvent(deps.system, found.event_id, found.endpoint_id, deps.clock.now_ms());
        } catch (error) {
          if (!(error instanceof AdminError)) throw error;
          // The one refusal left once the delivery is known to be this merchant's: its endpoint is disabled.
          throw new PayrailError('webhook_endpoint_disabled', { message: error.message });
        }
        await recordDashboardAction(
          deps.system,
          user,
          'webhook_delivery.resent',
          found.event_id,
          { endpoint_id: found.endpoint_id, delivery_id },
          actionContext(request, deps.clock),
        );
        return { delivery: await delivery(deps.reader, user.merchant_id, delivery_id) };
      });
    });
  };
}

function deliveryCursor(cursor: string | undefined): { delivery_id: string; attempt: number } | undefined {
  if (cursor === undefined) return undefined;
  const match = DELIVERY_CURSOR.exec(cursor);
  if (!match) throw new PayrailError('parameter_invalid', { param: 'starting_after', message: 'Invalid cursor: pass the next_cursor of the previous page.' });
  return { delivery_id: match[1] ?? '', attempt: Number(match[2]) };
}
