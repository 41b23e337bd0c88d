/**
 * An issuer's early fraud warning (Stripe's `radar.early_fraud_warning`): the card's bank reports a
 * payment as fraudulent before any chargeback, so the merchant can refund it and avoid one. It moves
 * no money. `actionable` says a refund or a dispute has not already settled the matter.
 */
export interface EarlyFraudWarning {
  id: string;
  merchant_id: string;
  charge: string;
  payment_intent: string | null;
  /** Stripe's fraud types: `made_with_stolen_card`, `unauthorized_use_of_card`, … */
  fraud_type: string;
  actionable: boolean;
  created: number;
  /** `processor:notification id`, unique: a repeated notification raises one warning. */
  opened_by: string;
}

export const FRAUD_TYPES = [
  'card_never_received',
  'fraudulent_card_application',
  'made_with_counterfeit_card',
  'made_with_lost_card',
  'made_with_stolen_card',
  'misc',
  'unauthorized_use_of_card',
] as const;

/** A fraud type Stripe does not name is reported as `misc`. */
export function fraudTypeOf(reported: string): string {
  return (FRAUD_TYPES as readonly string[]).includes(reported) ? reported : 'misc';
}
