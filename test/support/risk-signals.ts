import type { RiskSignals } from '../../src/services/risk/index.js';

/** An ordinary attempt: a US card from a US address, checks passing, $40. Tests override what they vary. */
export function riskSignals(overrides: Partial<RiskSignals> = {}): RiskSignals {
  return {
    merchant_id: 'acct_riskTest0001',
    livemode: false,
    created: 1_790_000_000,
    amount: 4000,
    currency: 'usd',
    amount_in_usd: 4000,
    card_fingerprint: 'fpRiskTest000001',
    card_bin: '424242',
    card_last4: '4242',
    card_brand: 'visa',
    card_country: 'US',
    card_funding: 'credit',
    ip_address: '8.8.8.8',
    email: 'jenny@example.com',
    customer_id: null,
    cvc_check: 'pass',
    address_line1_check: 'pass',
    address_postal_code_check: 'pass',
    ...overrides,
  };
}
