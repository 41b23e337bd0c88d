import type { Db, SqlFragment } from '../../../platform/db.js';
import { mergeMetadata } from '../../../kernel/metadata.js';
import { run, sql } from '../../../platform/db.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { listPage } from '../../../platform/pagination.js';
import { PayrailError } from '../../../kernel/errors.js';
import { assert } from '../../../kernel/assert.js';
import { API_VERSION } from '../adapters/outbox.js';
import { isStripeEventType } from '../domain/event-types.js';
import { STRIPE_EVENT_TYPES } from '../domain/stripe-event-types.js';
import type { WebhookSecret, WebhookSecretBox } from './secrets.js';
import { newWebhookSecret } from './secrets.js';
import type { DestinationPolicy } from './destinations.js';
import { checkDestination } from './destinations.js';
import { auditedChange, redactedUrl } from '../../audit/index.js';

/** Stripe's `webhook_endpoint`, and the use cases behind /v1/webhook_endpoints. */

export const WEBHOOK_ENDPOINT_LIMITS = {
  /** Stripe's limit per account and mode; it also bounds the fan-out of one event. */
  endpoints_per_merchant: 16,
  url_length_max: 2048,
  /** Every Stripe type once, plus '*'. */
  enabled_events_max: STRIPE_EVENT_TYPES.length + 1,
} as const;

export interface WebhookEndpoint {
  merchant_id: string;
  id: string;
  created: number;
  url: string;
  enabled_events: string[];
  status: 'enabled' | 'disabled';
  description: string | null;
  metadata: Record<string, string>;
  api_version: string | null;
  version: number;
}

export interface EndpointDeps {
  /** Seals the signing secrets (see secrets.ts). */
  secrets: WebhookSecretBox;
  /** Where URLs may point (destinations.ts). */
  destinations: DestinationPolicy;
  /** The mode of the key making the request: live mode accepts only https URLs. */
  livemode: boolean;
}

export interface CreateEndpointParams {
  url: string;
  enabled_events: string[];
  description?: string | null | undefined;
  metadata?: Record<string, string | null> | null | undefined;
  api_version?: string | undefined;
}

export interface UpdateEndpointParams {
  url?: string | undefined;
  enabled_events?: string[] | undefined;
  description?: string | null | undefined;
  metadata?: Record<string, string | null> | null | undefined;
  disabled?: boolean | undefined;
}

export function renderEndpoint(endpoint: WebhookEndpoint, secret?: WebhookSecret): Record<string, unknown> {
  return {
    id: endpoint.id,
    object: 'webhook_endpoint',
    api_version: endpoint.api_version,
    application: null,
    created: endpoint.created,
    description: endpoint.description,
    enabled_events: endpoint.enabled_events,
    livemode: false,
    metadata: endpoint.metadata,
    ...(secret ? { secret: secret.reveal() } : {}),
    status: endpoint.status,
    url: endpoint.url,
  };
}

/**
 * http(s) only (https in live mode), to a host not written as a private address; the message never
 * echoes the value (it may be anything).
 */
export function checkUrl(url: string, deps: Pick<EndpointDeps, 'destinations' | 'livemode'>): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PayrailError('parameter_invalid', { param: 'url', message: 'Invalid URL: must be an absolute http or https URL.' });
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new PayrailError('parameter_invalid', { param: 'url', message: 'Invalid URL: must use http or https.' });
  }
  if (url.length > WEBHOOK_ENDPOINT_LIMITS.url_length_max) {
    throw new PayrailError('parameter_invalid', { param: 'url', message: `Invalid URL: at most ${WEBHOOK_ENDPOINT_LIMITS.url_length_max} characters.` });
  }
  checkDestination(parsed, deps.destinations, deps.livemode);
  return url;
}

/**
 * `['*']` or distinct Stripe event types, emitted by Payrail yet or not (an endpoint set up for Stripe
 * keeps working); duplicates are dropped, order kept.
 */
export function checkEnabledEvents(values: readonly string[]): string[] {
  if (values.length === 0)
    throw new PayrailError('parameter_invalid_empty', { param: 'enabled_events', message: 'enabled_events must list at least one event type, or *.' });
  const distinct = [...new Set(values)];
  if (distinct.includes('*')) {
    if (distinct.length > 1) throw new PayrailError('parameter_invalid', { param: 'enabled_events', message: "Use '*' alone to enable every event type." });
    return ['*'];
  }
  for (const [index, value] of distinct.entries()) {
    if (!isStripeEventType(value)) {
      const shown = /^[a-z_.]{1,100}$/.test(value) ? `'${value}'` : 'a value';
      throw new PayrailError('parameter_invalid', {
        param: `enabled_events[${index}]`,
        message: `Invalid event type: ${shown} is not a Stripe event type. See docs/events.md.`,
      });
    }
  }
  return distinct;
}

export async function createEndpoint(deps: EndpointDeps, ctx: OperationContext, params: CreateEndpointParams): Promise<Outcome> {
  const url = checkUrl(params.url, deps);
  const enabled_events = checkEnabledEvents(params.enabled_events);
  if (params.api_version !== undefined && params.api_version !== API_VERSION) {
    throw new PayrailError('parameter_invalid', { param: 'api_version', message: `Payrail renders events as API version ${API_VERSION} only.` });
  }
  const count = await run<{ n: number }>(ctx.reader, sql`SELECT count(*)::int AS n FROM events.webhook_endpoints WHERE merchant_id = ${ctx.merchant_id}`);
  if ((count.rows[0]?.n ?? 0) >= WEBHOOK_ENDPOINT_LIMITS.endpoints_per_merchant) {
    throw new PayrailError('webhook_endpoints_limit', {
      message: `An account can have at most ${WEBHOOK_ENDPOINT_LIMITS.endpoints_per_merchant} webhook endpoints; delete one first.`,
    });
  }
  const endpoint: WebhookEndpoint = {
    merchant_id: ctx.merchant_id,
    id: ctx.ids.next('webhook_endpoint'),
    created: ctx.now_s,
    url,
    enabled_events,
    status: 'enabled',
    description: params.description ?? null,
    metadata: mergeMetadata({}, params.metadata ?? {}),
    api_version: params.api_version ?? null,
    version: 1,
  };
  const secret = newWebhookSecret();
  const outcome: Outcome = { ok: renderEndpoint(endpoint, secret) };
  const audit = auditedChange(ctx, { type: 'webhook_endpoint.created', object_id: endpoint.id, data: { url: redactedUrl(url), enabled_events } });
  await ctx.commit([insertEndpoint(endpoint, await deps.secrets.seal(secret, endpoint.id)), audit], outcome);
  return outcome;
}

export async function updateEndpoint(deps: EndpointDeps, ctx: OperationContext, id: string, params: UpdateEndpointParams): Promise<Outcome> {
  const before = await getEndpoint(ctx.reader, ctx.merchant_id, id);
  const after: WebhookEndpoint = {
    ...before,
    url: params.url !== undefined ? checkUrl(params.url, deps) : before.url,
    enabled_events: params.enabled_events !== undefined ? checkEnabledEvents(params.enabled_events) : before.enabled_events,
    description: params.description !== undefined ? params.description : before.description,
    metadata: params.metadata !== undefined ? mergeMetadata(before.metadata, params.metadata) : before.metadata,
    status: params.disabled === undefined ? before.status : params.disabled ? 'disabled' : 'enabled',
    version: before.version + 1,
  };
  const outcome: Outcome = { ok: renderEndpoint(after) };
  await ctx.commit(
    [
      sql`
    UPDATE events.webhook_endpoints SET url = ${after.url}, enabled_events = ${after.enabled_events}::text[], description = ${after.description},
      metadata = ${JSON.stringify(after.metadata)}::jsonb, status = ${after.status}, version = ${after.version}
    WHERE merchant_id = ${after.merchant_id} AND id = ${after.id} AND version = ${before.version}`,
      auditedChange(ctx, {
        type: 'webhook_endpoint.updated',
        object_id: after.id,
        data: { url: redactedUrl(after.url), enabled_events: after.enabled_events, status: after.status },
      }),
    ],
    outcome,
  );
  return outcome;
}

/** Removes the endpoint; its pending deliveries are canceled in the same statement (trigger). */
export async function deleteEndpoint(deps: EndpointDeps, ctx: OperationContext, id: string): Promise<Outcome> {
  const before = await getEndpoint(ctx.reader, ctx.merchant_id, id);
  const outcome: Outcome = { ok: { id: before.id, object: 'webhook_endpoint', deleted: true } };
  await ctx.commit(
    [
      sql`DELETE FROM events.webhook_endpoints WHERE merchant_id = ${before.merchant_id} AND id = ${before.id}`,
      auditedChange(ctx, { type: 'webhook_endpoint.deleted', object_id: before.id, data: { url: redactedUrl(before.url) } }),
    ],
    outcome,
  );
  return outcome;
}

export async function retrieveEndpoint(db: Db, merchant_id: string, id: string): Promise<Record<string, unknown>> {
  return renderEndpoint(await getEndpoint(db, merchant_id, id));
}

const ENDPOINT_JSON = `json_build_object('merchant_id', merchant_id, 'id', id, 'created', created, 'url', url, 'enabled_events', enabled_events,
  'status', status, 'description', description, 'metadata', metadata, 'api_version', api_version, 'version', version)`;

export async function listEndpoints(db: Db, merchant_id: string, page: PageRequest): Promise<Page<Record<string, unknown>>> {
  const result = await listPage<WebhookEndpoint>(db, { table: 'events.webhook_endpoints', column: ENDPOINT_JSON }, merchant_id, [], page);
  return { data: result.data.map((endpoint) => renderEndpoint(endpoint)), has_more: result.has_more };
}

export async function getEndpoint(db: Db, merchant_id: string, id: string): Promise<WebhookEndpoint> {
  const result = await run<WebhookEndpoint>(
    db,
    sql`SELECT merchant_id, id, created, url, enabled_events, status, description, metadata, api_version, version FROM events.webhook_endpoints WHERE merchant_id = ${merchant_id} AND id = ${id}`,
  );
  const endpoint = result.rows[0];
  if (!endpoint) throw new PayrailError('resource_missing', { param: 'id', message: `No such webhook endpoint: '${id.slice(0, 64)}'` });
  return endpoint;
}

function insertEndpoint(endpoint: WebhookEndpoint, secret_sealed: Buffer): SqlFragment {
  assert(endpoint.enabled_events.length > 0, 'an endpoint enables at least one event type');
  // The count guard keeps the limit against a concurrent create (best effort: both may see 15).
  return sql`
    INSERT INTO events.webhook_endpoints (merchant_id, id, created, url, enabled_events, status, description, metadata, api_version, secret_sealed, version)
    SELECT ${endpoint.merchant_id}, ${endpoint.id}, ${endpoint.created}, ${endpoint.url}, ${endpoint.enabled_events}::text[], ${endpoint.status},
      ${endpoint.description}, ${JSON.stringify(endpoint.metadata)}::jsonb, ${endpoint.api_version}, ${secret_sealed}, ${endpoint.version}
    WHERE (SELECT count(*) FROM events.webhook_endpoints WHERE merchant_id = ${endpoint.merchant_id}) < ${WEBHOOK_ENDPOINT_LIMITS.endpoints_per_merchant}`;
}
