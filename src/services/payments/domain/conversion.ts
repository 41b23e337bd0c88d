/**
 * The quote a charge in another currency than the merchant's settlement currency is converted with
 * (docs/currencies.md): kept on the intent and the charge, never rendered, and handed to the ledger in
 * the capture event's internal facts.
 */
export interface ChargeConversion {
  quote_id: string;
  /** Exact decimal: settlement-currency units per charge-currency unit. */
  rate: string;
  settlement_currency: string;
}
