import { PayrailError } from '../../../kernel/errors.js';
import type { BillingDeps } from '../app/deps.js';
import { renderPrice, renderProduct } from './catalog-render.js';
import { getPrice, getProduct } from './catalog-store.js';

type Json = Record<string, unknown>;

/**
 * `expand[]` on products (`default_price`) and prices (`product`, and `tiers`, which Stripe leaves
 * out of a price unless asked for); `data.` on lists and search results. The route schemas have
 * already refused any other path, so a request with a bad path changes nothing.
 */
export async function expandCatalog(deps: BillingDeps, merchant_id: string, body: Json, fields: readonly string[]): Promise<Json> {
  if (body.object === 'list' || body.object === 'search_result') {
    const inner = fields.map((field) => field.replace(/^data\./, ''));
    const data = await Promise.all((body.data as Json[]).map((item) => expandCatalog(deps, merchant_id, item, inner)));
    return { ...body, data };
  }
  let expanded = { ...body };
  for (const field of fields) expanded = await expandField(deps, merchant_id, expanded, field);
  return expanded;
}

async function expandField(deps: BillingDeps, merchant_id: string, body: Json, field: string): Promise<Json> {
  const id = String(body.id);
  if (body.object === 'price' && field === 'tiers') {
    const tiers = renderPrice(await getPrice(deps.reader, merchant_id, id), { tiers: true }).tiers;
    return { ...body, tiers: tiers ?? null };
  }
  if (body.object === 'price' && field === 'product' && typeof body.product === 'string') {
    const { price_count: _count, ...product } = await getProduct(deps.reader, merchant_id, body.product);
    return { ...body, product: renderProduct(product) };
  }
  if (body.object === 'product' && field === 'default_price') {
    return typeof body.default_price === 'string'
      ? { ...body, default_price: renderPrice(await getPrice(deps.reader, merchant_id, body.default_price)) }
      : body;
  }
  // A deleted product ({id, object, deleted}) has nothing to expand; any other path was refused by the schema.
  if (body.deleted === true) return body;
  throw new PayrailError('parameter_invalid', { param: 'expand', message: `This property cannot be expanded (${field}).` });
}
