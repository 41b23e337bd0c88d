import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { WriteDeps } from '../../../platform/write/pipeline.js';
import * as P from '../../../platform/http/params.js';
import { expandable, expandableList } from '../../../platform/http/expandable.js';
import { listOf, pageOf, pathId, routeKit } from '../../../platform/http/routes.js';
import { listEvents, retrieveEvent } from '../app/queries.js';
import { registerWebhookRoutes } from '../webhooks/routes.js';
import type { SecretSealing } from '../webhooks/secrets.js';
import { webhookSecretBox } from '../webhooks/secrets.js';
import type { DestinationPolicy } from '../webhooks/destinations.js';

const EVENT_TYPES_MAX = 20;
/** An event's expandable fields (`data`, `request`) are embedded already: any path is refused, as Stripe refuses unknown ones. */
const nothingExpands = () => false;
const retrieveSchema = z.strictObject({ expand: expandable(nothingExpands).optional() });
const listSchema = z.strictObject({
  ...P.listParams,
  expand: expandableList(nothingExpands).optional(),
  type: P.text(100).optional(),
  types: P.textList(100, EVENT_TYPES_MAX).optional(),
});

export interface EventRouteDeps {
  write: WriteDeps;
  /** Platform secret the webhook signing secrets sealed before the KMS were sealed with (see webhooks/secrets.ts). */
  key_material: Buffer;
  /** Seals new signing secrets through the KMS (the vault's sealer). */
  webhook_sealing?: SecretSealing;
  /** Where webhook endpoint URLs may point (PAYRAIL_WEBHOOKS_ALLOW_PRIVATE). */
  webhook_destinations: DestinationPolicy;
}

/** The events service's HTTP surface, as a Fastify plugin: /v1/events and /v1/webhook_endpoints. */
export function eventsRoutes(deps: EventRouteDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const { get } = routeKit(app, deps.write);
    const reader = deps.write.reader;
    get('/v1/events/:id', retrieveSchema, (m, _q, r) => retrieveEvent(reader, m, pathId(r)));
    get('/v1/events', listSchema, async (m, q) => listOf('/v1/events', await listEvents(reader, m, pageOf(q), q.types ?? (q.type ? [q.type] : []))));
    registerWebhookRoutes(app, deps.write, webhookSecretBox(deps.key_material, deps.webhook_sealing), deps.webhook_destinations);
  };
}
