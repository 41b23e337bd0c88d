import type { FastifyInstance } from 'fastify';
import { merchantOf } from '../../../platform/http/request-context.js';
import { withMerchant } from '../../../platform/merchant-scope.js';
import type { PaymentsDeps } from '../app/deps.js';
import { chargesOfIntent } from './store.js';
import { renderCharge } from './render.js';

/**
 * Older Stripe API versions SDKs still send, answered in their shape where it differs in what payments
 * serves. The gateway validates `Stripe-Version` and echoes the version the answer is in; this reads
 * that echo. Until 2022-11-15 a PaymentIntent carried its charges as a list; until 2020-08-27 a
 * customer carried its sources, subscriptions and tax ids (Payrail has none of those: empty lists).
 */
const CHARGES_ON_INTENTS_UNTIL = '2022-11-15';
const CUSTOMER_LISTS_UNTIL = '2020-08-27';
/** Stripe listed at most this many of an intent's charges. */
const INTENT_CHARGES_LIMIT = 10;

type Json = Record<string, unknown>;

export function registerLegacyShapes(app: FastifyInstance, deps: PaymentsDeps): void {
  app.addHook('onSend', async (request, reply, payload) => {
    const version = reply.getHeader('stripe-version');
    if (typeof version !== 'string' || version >= CHARGES_ON_INTENTS_UNTIL || typeof payload !== 'string') return payload;
    // Only a merchant's own objects: an authentication error has no merchant and no object to reshape.
    if (!payload.startsWith('{') || request.merchant_id === undefined) return payload;
    const body = JSON.parse(payload) as Json;
    const merchant_id = merchantOf(request);
    // After the handler, so outside its merchant scope: row-level security needs it again for the reads.
    return JSON.stringify(await withMerchant(merchant_id, () => reshape(deps, merchant_id, body, version)));
  });
}

async function reshape(deps: PaymentsDeps, merchant_id: string, value: unknown, version: string): Promise<unknown> {
  if (Array.isArray(value)) return Promise.all(value.map((item) => reshape(deps, merchant_id, item, version)));
  if (typeof value !== 'object' || value === null) return value;
  const object = value as Json;
  const entries = await Promise.all(Object.entries(object).map(async ([key, item]) => [key, await reshape(deps, merchant_id, item, version)] as const));
  const result: Json = Object.fromEntries(entries);
  if (object.object === 'payment_intent' && typeof object.id === 'string') result.charges = await intentCharges(deps, merchant_id, object.id);
  if (object.object === 'customer' && typeof object.id === 'string' && !object.deleted && version < CUSTOMER_LISTS_UNTIL) {
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
