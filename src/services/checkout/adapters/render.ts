import type { CheckoutSession, LineItem } from '../domain/session.js';
import { amountSubtotal } from '../domain/session.js';

/** Checkout objects in Stripe's shape (API 2023-08-16): every field present, null where Payrail has no value. */

type Json = Record<string, unknown>;

/** The hosted page's address: the page secret rides in the fragment, which browsers never send to a server. */
export function pageUrl(public_url: string, session: CheckoutSession): string {
  return `${public_url}/c/pay/${session.id}#${session.page_secret}`;
}

export function renderSession(session: CheckoutSession, public_url: string): { id: string } & Json {
  const is_payment = session.mode === 'payment';
  const total = is_payment ? amountSubtotal(session) : null;
  return {
    id: session.id,
    object: 'checkout.session',
    after_expiration: null,
    allow_promotion_codes: null,
    amount_subtotal: total,
    amount_total: total,
    automatic_tax: { enabled: false, status: null },
    billing_address_collection: null,
    cancel_url: session.cancel_url,
    client_reference_id: session.client_reference_id,
    consent: null,
    consent_collection: null,
    created: session.created,
    currency: session.currency,
    currency_conversion: null,
    custom_fields: [],
    custom_text: { shipping_address: null, submit: null },
    customer: session.customer,
    customer_creation: session.customer ? null : 'if_required',
    customer_details: session.customer_details ? { address: null, phone: null, tax_exempt: 'none', tax_ids: [], ...session.customer_details } : null,
    customer_email: session.customer_email,
    expires_at: session.expires_at,
    invoice: null,
    invoice_creation: null,
    livemode: false,
    locale: null,
    metadata: session.metadata,
    mode: session.mode,
    payment_intent: session.payment_intent,
    payment_link: null,
    payment_method_collection: 'always',
    payment_method_options: {},
    payment_method_types: ['card'],
    payment_status: session.payment_status,
    phone_number_collection: { enabled: false },
    recovered_from: null,
    setup_intent: session.setup_intent,
    shipping_address_collection: null,
    shipping_cost: null,
    shipping_details: null,
    shipping_options: [],
    status: session.status,
    submit_type: session.submit_type,
    subscription: null,
    success_url: session.success_url,
    tax_id_collection: { enabled: false },
    total_details: is_payment ? { amount_discount: 0, amount_shipping: 0, amount_tax: 0 } : null,
    url: session.status === 'open' ? pageUrl(public_url, session) : null,
  };
}

export function renderLineItem(item: LineItem, created: number): Json {
  const amount = item.unit_amount * item.quantity;
  return {
    id: item.id,
    object: 'item',
    amount_discount: 0,
    amount_subtotal: amount,
    amount_tax: 0,
    amount_total: amount,
    currency: item.currency,
    description: item.name,
    price: {
      id: item.price_id,
      object: 'price',
      active: false,
      billing_scheme: 'per_unit',
      created,
      currency: item.currency,
      custom_unit_amount: null,
      livemode: false,
      lookup_key: null,
      metadata: {},
      nickname: null,
      product: item.product_id,
      recurring: null,
      tax_behavior: 'unspecified',
      tiers_mode: null,
      transform_quantity: null,
      type: 'one_time',
      unit_amount: item.unit_amount,
      unit_amount_decimal: String(item.unit_amount),
    },
    quantity: item.quantity,
  };
}

export function renderLineItems(session: CheckoutSession, items: readonly LineItem[], has_more: boolean): Json {
  return {
    object: 'list',
    data: items.map((item) => renderLineItem(item, session.created)),
    has_more,
    url: `/v1/checkout/sessions/${session.id}/line_items`,
  };
}
