import type { AccountRow } from './account.js';

/** What the account object shows of payouts, from the settlement service: bank accounts and payout settings. */
export interface PayoutParts {
  external_accounts: Record<string, unknown>;
  payouts: Record<string, unknown>;
}

const NO_REQUIREMENTS = {
  alternatives: [],
  current_deadline: null,
  currently_due: [],
  disabled_reason: null,
  errors: [],
  eventually_due: [],
  past_due: [],
  pending_verification: [],
};

/**
 * Stripe's Account object. Payrail collects no identity details, so nothing is ever due; a connected
 * account is controlled by its platform (`controller`), which Stripe shows only on connected accounts.
 */
export function renderAccount(row: AccountRow, payouts: PayoutParts): Record<string, unknown> {
  return {
    id: row.id,
    object: 'account',
    business_profile: {
      mcc: null,
      name: null,
      product_description: null,
      support_address: null,
      support_email: null,
      support_phone: null,
      support_url: null,
      url: null,
    },
    business_type: row.business_type,
    capabilities: row.capabilities,
    charges_enabled: row.charges_enabled,
    ...(row.platform_id === null ? {} : { controller: { is_controller: true, type: 'application' } }),
    country: row.country,
    created: row.created,
    default_currency: row.default_currency,
    details_submitted: true,
    email: row.email,
    external_accounts: payouts.external_accounts,
    future_requirements: NO_REQUIREMENTS,
    metadata: row.metadata,
    payouts_enabled: row.payouts_enabled,
    requirements: NO_REQUIREMENTS,
    settings: {
      branding: { icon: null, logo: null, primary_color: null, secondary_color: null },
      card_payments: { decline_on: { avs_failure: false, cvc_failure: false }, statement_descriptor_prefix: null },
      dashboard: { display_name: null, timezone: 'Etc/UTC' },
      payments: { statement_descriptor: null },
      payouts: payouts.payouts,
    },
    tos_acceptance: { date: null, ip: null, user_agent: null },
    type: row.type,
  };
}

/** DELETE /v1/accounts/:id's answer. */
export function renderDeletedAccount(id: string): Record<string, unknown> {
  return { id, object: 'account', deleted: true };
}
