import type { Price, PriceTier } from '../domain/price.js';
import type { Product } from '../domain/product.js';

type Json = Record<string, unknown>;
/** A rendered object: events and expansions need its id. */
type StripeObject = { id: string } & Json;

/** Products and prices as Stripe's API shows them (API version 2023-08-16). */

export function renderProduct(product: Product): StripeObject {
  return {
    id: product.id,
    object: 'product',
    active: product.active,
    created: product.created,
    default_price: product.default_price,
    description: product.description,
    features: product.features,
    images: product.images,
    livemode: false,
    metadata: product.metadata,
    name: product.name,
    package_dimensions: product.package_dimensions,
    shippable: product.shippable,
    statement_descriptor: product.statement_descriptor,
    tax_code: null,
    unit_label: product.unit_label,
    updated: product.updated,
    url: product.url,
  };
}

/** Stripe includes `tiers` only when asked for (`expand[]=tiers`). */
export function renderPrice(price: Price, options: { tiers?: boolean } = {}): StripeObject {
  return {
    id: price.id,
    object: 'price',
    active: price.active,
    billing_scheme: price.billing_scheme,
    created: price.created,
    currency: price.currency,
    custom_unit_amount: null,
    livemode: false,
    lookup_key: price.lookup_key,
    metadata: price.metadata,
    nickname: price.nickname,
    product: price.product,
    recurring: price.recurring ? { aggregate_usage: null, ...price.recurring } : null,
    tax_behavior: price.tax_behavior,
    ...(options.tiers && price.tiers ? { tiers: price.tiers.map(renderTier) } : {}),
    tiers_mode: price.tiers_mode,
    transform_quantity: price.transform_quantity,
    type: price.type,
    unit_amount: price.unit_amount,
    unit_amount_decimal: price.unit_amount === null ? null : String(price.unit_amount),
  };
}

function renderTier(tier: PriceTier): Json {
  return {
    flat_amount: tier.flat_amount,
    flat_amount_decimal: tier.flat_amount === null ? null : String(tier.flat_amount),
    unit_amount: tier.unit_amount,
    unit_amount_decimal: tier.unit_amount === null ? null : String(tier.unit_amount),
    up_to: tier.up_to,
  };
}

export function deletedProduct(id: string): Json {
  return { id, object: 'product', deleted: true };
}
