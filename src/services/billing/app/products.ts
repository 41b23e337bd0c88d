import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { PayrailError } from '../../../kernel/errors.js';
import { mergeMetadata } from '../../../kernel/metadata.js';
import type { Product } from '../domain/product.js';
import type { PriceInput } from '../domain/price-draft.js';
import { draftPrice, withoutEmptyValues } from '../domain/price-draft.js';
import { deletedProduct, renderPrice, renderProduct } from '../adapters/catalog-render.js';
import type { ProductFilters } from '../adapters/catalog-store.js';
import {
  deleteProductRow,
  getPrice,
  getProduct,
  insertPrice,
  insertProduct,
  listProducts as listStoredProducts,
  updateProduct,
} from '../adapters/catalog-store.js';
import type { BillingDeps } from './deps.js';
import { commitCatalog } from './catalog-writes.js';
import { previousAttributes } from '../../../kernel/previous-attributes.js';

/** Products: create (optionally with a default price), update, delete while no price names them, retrieve, list. */

type Dimensions = NonNullable<Product['package_dimensions']>;

export interface ProductInput {
  name: string;
  active?: boolean | undefined;
  description?: string | undefined;
  features?: { name: string }[] | undefined;
  images?: string[] | undefined;
  metadata?: Record<string, string | null> | null | undefined;
  package_dimensions?: Dimensions | undefined;
  shippable?: boolean | undefined;
  statement_descriptor?: string | undefined;
  unit_label?: string | undefined;
  url?: string | undefined;
}

/** A new product from its creation parameters (also a price's `product_data`). */
export function newProduct(ctx: OperationContext, input: ProductInput): Product {
  return {
    id: ctx.ids.next('product'),
    merchant_id: ctx.merchant_id,
    active: input.active ?? true,
    name: input.name,
    description: input.description || null,
    default_price: null,
    features: input.features ?? [],
    images: input.images ?? [],
    package_dimensions: input.package_dimensions ?? null,
    shippable: input.shippable ?? null,
    statement_descriptor: input.statement_descriptor ?? null,
    unit_label: input.unit_label || null,
    url: input.url || null,
    metadata: withoutEmptyValues(input.metadata),
    created: ctx.now_s,
    updated: ctx.now_s,
    version: 1,
  };
}

export async function createProduct(ctx: OperationContext, params: ProductInput & { default_price_data?: PriceInput | undefined }): Promise<Outcome> {
  const draft = newProduct(ctx, params);
  const price = params.default_price_data
    ? draftPrice(params.default_price_data, { id: ctx.ids.next('price'), merchant_id: ctx.merchant_id, product: draft.id, created: ctx.now_s })
    : undefined;
  const product = { ...draft, default_price: price?.id ?? null };
  const outcome: Outcome = { ok: renderProduct(product) };
  return commitCatalog(
    ctx,
    {
      writes: [insertProduct(product, price ? 1 : 0), ...(price ? [insertPrice(price)] : [])],
      events: [{ type: 'product.created', object: renderProduct(product) }, ...(price ? [{ type: 'price.created', object: renderPrice(price) }] : [])],
    },
    outcome,
  );
}

type Clearable<T> = T | null | undefined;

export interface UpdateProductParams {
  name?: string | undefined;
  active?: boolean | undefined;
  default_price?: Clearable<string>;
  description?: Clearable<string>;
  features?: Clearable<{ name: string }[]>;
  images?: Clearable<string[]>;
  metadata?: Record<string, string | null> | null | undefined;
  package_dimensions?: Clearable<Dimensions>;
  shippable?: boolean | undefined;
  statement_descriptor?: string | undefined;
  unit_label?: Clearable<string>;
  url?: Clearable<string>;
}

/** A concurrent change of the same product fails the version guard: `lock_timeout` (409), retried by the SDKs. */
export async function updateProductParams(ctx: OperationContext, id: string, params: UpdateProductParams): Promise<Outcome> {
  const { price_count: _count, ...before } = await getProduct(ctx.reader, ctx.merchant_id, id);
  if (params.default_price) await checkDefaultPrice(ctx, id, params.default_price);
  const set = <T>(value: T | undefined, current: T): T => (value === undefined ? current : value);
  const product: Product = {
    ...before,
    name: set(params.name, before.name),
    active: set(params.active, before.active),
    default_price: set(params.default_price, before.default_price),
    description: set(params.description, before.description),
    features: params.features === undefined ? before.features : (params.features ?? []),
    images: params.images === undefined ? before.images : (params.images ?? []),
    metadata: params.metadata === undefined ? before.metadata : mergeMetadata(before.metadata, params.metadata),
    package_dimensions: set(params.package_dimensions, before.package_dimensions),
    shippable: set(params.shippable, before.shippable),
    statement_descriptor: set(params.statement_descriptor, before.statement_descriptor),
    unit_label: set(params.unit_label, before.unit_label),
    url: set(params.url, before.url),
    updated: ctx.now_s,
    version: before.version + 1,
  };
  const outcome: Outcome = { ok: renderProduct(product) };
  const previous_attributes = previousAttributes(renderProduct(before), renderProduct(product));
  return commitCatalog(
    ctx,
    { writes: [updateProduct(product, before.version)], events: [{ type: 'product.updated', object: renderProduct(product), previous_attributes }] },
    outcome,
  );
}

/** Stripe: a product's default price is one of its own active prices. */
async function checkDefaultPrice(ctx: OperationContext, product_id: string, price_id: string): Promise<void> {
  const price = await getPrice(ctx.reader, ctx.merchant_id, price_id, 'default_price');
  if (price.product !== product_id) {
    throw new PayrailError('parameter_invalid', { param: 'default_price', message: `The price ${price.id} belongs to another product, not ${product_id}.` });
  }
  if (!price.active) {
    throw new PayrailError('parameter_invalid', {
      param: 'default_price',
      message: `The price ${price.id} is archived (active=false): it cannot be the default price.`,
    });
  }
}

/** Stripe refuses to delete a product that has prices; archive it (active=false) instead. */
export async function deleteProduct(ctx: OperationContext, id: string): Promise<Outcome> {
  const product = await getProduct(ctx.reader, ctx.merchant_id, id);
  if (product.price_count > 0) {
    throw new PayrailError('parameter_invalid', { message: 'This product cannot be deleted because it has one or more user-created prices.' });
  }
  const { price_count: _count, ...stored } = product;
  const outcome: Outcome = { ok: deletedProduct(id) };
  return commitCatalog(ctx, { writes: [deleteProductRow(stored)], events: [{ type: 'product.deleted', object: renderProduct(stored) }] }, outcome);
}

export async function retrieveProduct(deps: BillingDeps, merchant_id: string, id: string): Promise<Record<string, unknown>> {
  const { price_count: _count, ...product } = await getProduct(deps.reader, merchant_id, id);
  return renderProduct(product);
}

export async function listProducts(deps: BillingDeps, merchant_id: string, filters: ProductFilters, page: PageRequest): Promise<Page<Record<string, unknown>>> {
  const found = await listStoredProducts(deps.reader, merchant_id, filters, page);
  return { data: found.data.map(renderProduct), has_more: found.has_more };
}
