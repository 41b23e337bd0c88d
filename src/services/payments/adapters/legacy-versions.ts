import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PayrailError } from '../../../kernel/errors.js';
import { expandEntries } from '../../../platform/http/params.js';
import { merchantOf } from '../../../platform/http/request-context.js';
import { withMerchant } from '../../../platform/merchant-scope.js';
import type { PaymentsDeps } from '../app/deps.js';
import { chargesOfIntent } from './store.js';
import { renderCharge } from './render.js';
import { applyExpand } from './expand.js';

/**
 * Older Stripe API versions SDKs still send, answered in their shape where it differs in what payments
 * serves. The gateway validates `Stripe-Version` and echoes the version the answer is in; this reads
 * that echo. Until 2022-11-15 a PaymentIntent carried its charges as a list; until 2020-08-27 a
 * customer carried its sources, subscriptions and tax ids (Payrail has none of those: empty lists).
 */
const CHARGES_ON_INTENTS_UNTIL = '2022-11-15';
const CUSTOMER_LISTS_UNTIL = '2020-08-27';
/** From 2023-08-16 an intent made without `payment_method_types` has automatic payment methods on; before, it was a card intent. */
const AUTOMATIC_METHODS_DEFAULT_FROM = '2023-08-16';
/** Stripe listed at most this many of an intent's charges. */
const INTENT_CHARGES_LIMIT = 10;

type Json = Record<string, unknown>;

export function registerLegacyShapes(app: FastifyInstance, deps: PaymentsDeps): void {
  app.addHook('preHandler', async (request, reply) => {
    const version = reply.getHeader('stripe-version');
    if (typeof version === 'string' && version < AUTOMATIC_METHODS_DEFAULT_FROM) defaultToCards(request);
  });
  // Before the handler: a path into `charges` in a version without them is a 400 that changes nothing.
  app.addHook('preHandler', async (request, reply) => {
    const version = reply.getHeader('stripe-version');
    if (typeof version === 'string' && version < CHARGES_ON_INTENTS_UNTIL) return;
    const path = expandPaths(request).find((entry) => throughCharges(entry) !== undefined);
    if (path !== undefined)
      throw new PayrailError('parameter_invalid', { param: 'expand', message: `This property cannot be expanded (${path.slice(0, 200)}).` });
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const version = reply.getHeader('stripe-version');
    if (typeof version !== 'string' || version >= CHARGES_ON_INTENTS_UNTIL || typeof payload !== 'string') return payload;
    // Only a merchant's own objects: an authentication error has no merchant and no object to reshape.
    if (!payload.startsWith('{') || request.merchant_id === undefined) return payload;
    const body = JSON.parse(payload) as Json;
    const merchant_id = merchantOf(request);
    // After the handler, so outside its merchant scope: row-level security needs it again for the reads.
    const charge_paths = expandPaths(request).flatMap((path) => throughCharges(path) ?? []);
    const shape: Shape = { version, charge_paths };
    return JSON.stringify(await withMerchant(merchant_id, () => reshape(deps, merchant_id, body, shape)));
  });
}

/**
 * Before 2023-08-16 a PaymentIntent created with neither `payment_method_types` nor
 * `automatic_payment_methods` took `payment_method_types: ['card']`, and showed no automatic methods.
 */
function defaultToCards(request: FastifyRequest): void {
  if (request.method !== 'POST' || request.routeOptions.url !== '/v1/payment_intents') return;
  const body = request.body as Json | undefined;
  if (typeof body !== 'object' || body === null || body.payment_method_types !== undefined || body.automatic_payment_methods !== undefined) return;
  body.payment_method_types = ['card'];
}

interface Shape {
  version: string;
  /** What `expand[]` asks of each intent's charges, as paths in that list (`data.balance_transaction`). */
  charge_paths: string[];
}

function expandPaths(request: FastifyRequest): string[] {
  const params = (request.method === 'GET' ? request.query : request.body) as { expand?: unknown } | undefined;
  return params?.expand === undefined ? [] : expandEntries(params.expand).filter((entry): entry is string => typeof entry === 'string');
}

/** `charges.data.x` (or `data.charges.data.x` on a list) as the path inside the charges list, `data.x`. */
function throughCharges(path: string): string | undefined {
  const segments = path.split('.');
  const start = segments[0] === 'data' ? 1 : 0;
  if (segments[start] !== 'charges') return undefined;
  return segments.slice(start + 1).join('.');
}

async function reshape(deps: PaymentsDeps, merchant_id: string, value: unknown, shape: Shape): Promise<unknown> {
  if (Array.isArray(value)) return Promise.all(value.map((item) => reshape(deps, merchant_id, item, shape)));
  if (typeof value !== 'object' || value === null) return value;
  const object = value as Json;
  const entries = await Promise.all(Object.entries(object).map(async ([key, item]) => [key, await reshape(deps, merchant_id, item, shape)] as const));
  const result: Json = Object.fromEntries(entries);
  if (object.object === 'payment_intent' && typeof object.id === 'string') {
    const charges = await intentCharges(deps, merchant_id, object.id);
    result.charges = await applyExpand(
      deps,
      merchant_id,
      charges,
      shape.charge_paths.filter((path) => path !== ''),
    );
  }
  if (object.object === 'customer' && typeof object.id === 'string' && !object.deleted && shape.version < CUSTOMER_LISTS_UNTIL) {
    for (const list of ['sources', 'subscriptions', 'tax_ids']) {
      result[list] = { object: 'list', data: [], has_more: false, total_count: 0, url: `/v1/customers/${object.id}/${list}` };
    }
  }
  return result;
}

async function intentCharges(deps: PaymentsDeps, merchant_id: string, intent_id: string): Promise<Json> {
  const charges = await chargesOfIntent(deps.reader, merchant_id, intent_id);
  return {
    object: 'list',
    data: charges.slice(0, INTENT_CHARGES_LIMIT).map((charge) => renderCharge(charge)),
    has_more: charges.length > INTENT_CHARGES_LIMIT,
    total_count: charges.length,
    url: `/v1/charges?payment_intent=${intent_id}`,
  };
}
