import type { BillingDetails, CardDetails } from '../../vault/index.js';

/**
 * A card token (`tok_…`), Stripe's older way to hand a card to a server: single use, standing for a
 * card held in the vault as a PaymentMethod nobody has seen yet. Its card has an id of its own
 * (`card_…`), the id the legacy Charges API and a charge's `source` show.
 */
export interface CardToken {
  id: string;
  merchant_id: string;
  card_id: string;
  /** The vault's record of the card; the token is the only way to it until it is used. */
  payment_method: string;
  card: CardDetails;
  billing_details: BillingDetails;
  used: boolean;
  client_ip: string | null;
  created: number;
}

/**
 * Stripe's test tokens, reusable as in Stripe's test mode, each the card of the test PaymentMethod it
 * names. https://docs.stripe.com/testing lists them beside the PaymentMethods.
 */
export const TEST_TOKENS: ReadonlyMap<string, string> = new Map([
  ['tok_visa', 'pm_card_visa'],
  ['tok_visa_debit', 'pm_card_visa_debit'],
  ['tok_mastercard', 'pm_card_mastercard'],
  ['tok_mastercard_debit', 'pm_card_mastercard_debit'],
  ['tok_amex', 'pm_card_amex'],
  ['tok_discover', 'pm_card_discover'],
  ['tok_diners', 'pm_card_diners'],
  ['tok_jcb', 'pm_card_jcb'],
  ['tok_unionpay', 'pm_card_unionpay'],
  ['tok_chargeDeclined', 'pm_card_chargeDeclined'],
  ['tok_chargeDeclinedInsufficientFunds', 'pm_card_visa_chargeDeclinedInsufficientFunds'],
  ['tok_chargeDeclinedLostCard', 'pm_card_visa_chargeDeclinedLostCard'],
  ['tok_chargeDeclinedStolenCard', 'pm_card_visa_chargeDeclinedStolenCard'],
  ['tok_chargeDeclinedExpiredCard', 'pm_card_chargeDeclinedExpiredCard'],
  ['tok_chargeDeclinedIncorrectCvc', 'pm_card_chargeDeclinedIncorrectCvc'],
  ['tok_chargeDeclinedProcessingError', 'pm_card_chargeDeclinedProcessingError'],
  ['tok_chargeCustomerFail', 'pm_card_chargeCustomerFail'],
  ['tok_chargeDeclinedFraudulent', 'pm_card_chargeDeclinedFraudulent'],
  ['tok_riskLevelHighest', 'pm_card_riskLevelHighest'],
  ['tok_riskLevelElevated', 'pm_card_riskLevelElevated'],
  ['tok_threeDSecure2Required', 'pm_card_threeDSecure2Required'],
  ['tok_createDispute', 'pm_card_createDispute'],
  ['tok_createDisputeProductNotReceived', 'pm_card_createDisputeProductNotReceived'],
  ['tok_createDisputeInquiry', 'pm_card_createDisputeInquiry'],
  ['tok_createIssuerFraudRecord', 'pm_card_createIssuerFraudRecord'],
  ['tok_bypassPending', 'pm_card_bypassPending'],
]);

/** The brand as the legacy card object spells it (`Visa`, `MasterCard`), unlike a PaymentMethod's `visa`. */
const LEGACY_BRANDS: Readonly<Record<string, string>> = {
  visa: 'Visa',
  mastercard: 'MasterCard',
  amex: 'American Express',
  discover: 'Discover',
  diners: 'Diners Club',
  jcb: 'JCB',
  unionpay: 'UnionPay',
};

export function legacyBrand(brand: string): string {
  return LEGACY_BRANDS[brand] ?? 'Unknown';
}
