import type { CardDetails } from '../../vault/index.js';
import type { BillingDetails } from '../../vault/index.js';
import type { CardToken } from '../domain/token.js';
import { legacyBrand } from '../domain/token.js';

type Json = { id: string } & Record<string, unknown>;

/** A token as Stripe shows it: its card, never the number. */
export function renderToken(token: CardToken): Json {
  return {
    id: token.id,
    object: 'token',
    card: renderLegacyCard(token.card_id, token.card, token.billing_details, null),
    client_ip: token.client_ip,
    created: token.created,
    livemode: false,
    type: 'card',
    used: token.used,
  };
}

/** The legacy `card` object (a token's card, a charge's `source`), with the billing address in its flat fields. */
export function renderLegacyCard(id: string, card: CardDetails, billing: BillingDetails, cvc_check: string | null): Json {
  const address = billing.address ?? {};
  return {
    id,
    object: 'card',
    account: null,
    address_city: address.city ?? null,
    address_country: address.country ?? null,
    address_line1: address.line1 ?? null,
    address_line1_check: address.line1 ? 'unchecked' : null,
    address_line2: address.line2 ?? null,
    address_state: address.state ?? null,
    address_zip: address.postal_code ?? null,
    address_zip_check: address.postal_code ? 'unchecked' : null,
    available_payout_methods: null,
    brand: legacyBrand(card.brand),
    country: card.country,
    currency: null,
    customer: null,
    cvc_check,
    default_for_currency: null,
    dynamic_last4: null,
    exp_month: card.exp_month,
    exp_year: card.exp_year,
    fingerprint: card.fingerprint,
    funding: card.funding,
    last4: card.last4,
    metadata: {},
    name: billing.name,
    status: null,
    tokenization_method: null,
  };
}
