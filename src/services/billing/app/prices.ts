import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { PayrailError } from '../../../kernel/errors.js';
import { mergeMetadata } from '../../../kernel/metadata.js';
import type { Price, TaxBehavior } from '../domain/price.js';
import type { PriceInput } from '../domain/price-draft.js';
import { draftPrice } from '../domain/price-draft.js';
import { renderPrice, renderProduct } from '../adapters/catalog-render.js';
import type { PriceFilters } from '../adapters/catalog-store.js';
import { countPriceOn, getPrice, getProduct, insertPrice, insertProduct, listPrices as listStoredPrices, updatePrice } from '../adapters/catalog-store.js';
import type { BillingDeps } from './deps.js';
import type { ProductInput } from './products.js';
import { newProduct } from './products.js';
import { claimLookupKey, commitCatalog } from './catalog-writes.js';
import { previousAttributes } from '../../../kernel/previous-attributes.js';

/** Prices: create (on a product, or with a new one), update what Stripe lets change, retrieve, list. */

export interface CreatePriceParams extends PriceInput {
  product?: string | undefined;
  product_data?: ProductInput | undefined;
  transfer_lookup_key?: boolean | undefined;
}

export async function createPrice(ctx: OperationContext, params: CreatePriceParams): Promise<Outcome> {
  if (params.product !== undefined && params.product_data !== undefined) {
    throw new PayrailError('parameters_exclusive', { param: 'product_data', message: 'You may only specify one of these parameters: product, product_data.' });
  }
  const product = params.product_data ? newProduct(ctx, params.product_data) : undefined;
  const product_id = product?.id ?? params.product;
  if (product_id === undefined) throw new PayrailError('parameter_missing', { param: 'product', message: 'Missing required param: product.' });
  if (!product) await getProduct(ctx.reader, ctx.merchant_id, product_id, 'product');
  const price = draftPrice(params, { id: ctx.ids.next('price'), merchant_id: ctx.merchant_id, product: product_id, created: ctx.now_s });
  const lookup = await claimLookupKey(ctx, price.lookup_key, params.transfer_lookup_key ?? false, price.id);
  const outcome: Outcome = { ok: renderPrice(price) };
  return commitCatalog(
    ctx,
    {
      // The lookup key's previous holder lets go before this price takes it (one statement).
      writes: [...lookup.writes, product ? insertProduct(product, 1) : countPriceOn(ctx.merchant_id, product_id), insertPrice(price)],
      events: [
        ...(product ? [{ type: 'product.created', object: renderProduct(product) }] : []),
        ...lookup.events,
        { type: 'price.created', object: renderPrice(price) },
      ],
    },
    outcome,
  );
}

export interface UpdatePriceParams {
  active?: boolean | undefined;
  lookup_key?: string | null | undefined;
  transfer_lookup_key?: boolean | undefined;
  nickname?: string | null | undefined;
  metadata?: Record<string, string | null> | null | undefined;
  tax_behavior?: TaxBehavior | undefined;
}

/** A concurrent change of the same price fails the version guard: `lock_timeout` (409), retried by the SDKs. */
export async function updatePriceParams(ctx: OperationContext, id: string, params: UpdatePriceParams): Promise<Outcome> {
  const before = await getPrice(ctx.reader, ctx.merchant_id, id, 'price');
  if (params.active === false && before.active) await refuseArchivingDefault(ctx, before);
  const price: Price = {
    ...before,
    active: params.active ?? before.active,
    lookup_key: params.lookup_key === undefined ? before.lookup_key : params.lookup_key,
    nickname: params.nickname === undefined ? before.nickname : params.nickname,
    metadata: params.metadata === undefined ? before.metadata : mergeMetadata(before.metadata, params.metadata),
    tax_behavior: taxBehavior(before.tax_behavior, params.tax_behavior),
    version: before.version + 1,
  };
  const lookup = await claimLookupKey(ctx, price.lookup_key, params.transfer_lookup_key ?? false, price.id);
  const outcome: Outcome = { ok: renderPrice(price) };
  const previous_attributes = previousAttributes(renderPrice(before), renderPrice(price));
  return commitCatalog(
    ctx,
    {
      writes: [...lookup.writes, updatePrice(price, before.version)],
      events: [...lookup.events, { type: 'price.updated', object: renderPrice(price), previous_attributes }],
    },
    outcome,
  );
}

/** Stripe: once a price is tax inclusive or exclusive, that cannot change. */
function taxBehavior(before: TaxBehavior, requested: TaxBehavior | undefined): TaxBehavior {
  if (requested === undefined || requested === before) return before;
  if (before !== 'unspecified') {
    throw new PayrailError('parameter_invalid', {
      param: 'tax_behavior',
      message: `This price's tax_behavior is already ${before}; once inclusive or exclusive it cannot change.`,
    });
  }
  return requested;
}

/** Stripe: a product's default price cannot be archived while it is the default. */
async function refuseArchivingDefault(ctx: OperationContext, price: Price): Promise<void> {
  const product = await getProduct(ctx.reader, ctx.merchant_id, price.product);
  if (product.default_price === price.id) {
    throw new PayrailError('parameter_invalid', {
      param: 'active',
      message: 'This price cannot be archived because it is the default price of its product. Unset or change the product’s default_price first.',
    });
  }
}

export async function retrievePrice(deps: BillingDeps, merchant_id: string, id: string): Promise<Record<string, unknown>> {
  return renderPrice(await getPrice(deps.reader, merchant_id, id, 'price'));
}

export async function listPrices(deps: BillingDeps, merchant_id: string, filters: PriceFilters, page: PageRequest): Promise<Page<Record<string, unknown>>> {
  const found = await listStoredPrices(deps.reader, merchant_id, filters, page);
  return { data: found.data.map((price) => renderPrice(price)), has_more: found.has_more };
}
