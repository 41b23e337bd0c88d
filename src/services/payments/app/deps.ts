import type { Db, Pool } from '../../../platform/db.js';
import type { Vault } from '../../vault/index.js';
import type { Connector } from '../../connectors/index.js';
import type { RadarRules, RiskScorer } from '../../risk/index.js';
import type { Detokenization } from '../../audit/index.js';
import type { PaymentsFx } from './conversion.js';

export interface PaymentsDeps {
  /** Read-only connections for queries; use cases write only through their OperationContext. */
  reader: Pool;
  vault: Vault;
  connector: Connector;
  /** Every confirm is scored and judged by the merchant's rules before it reaches the processor. */
  risk: PaymentRisk;
  /** Base URL for links Payrail hands to customers, such as the 3-D Secure page. */
  public_url: () => string;
  /** Commits a detokenization audit record on its own (the audit service's `recordDetokenization`). */
  record_detokenization: (entry: Detokenization) => Promise<void>;
  /** Billing's test clocks: a customer is created on one (it must exist), and `expand[]=test_clock` shows it. */
  test_clocks: TestClocks;
  /** Quotes the rate a charge in another currency than the merchant's settlement one converts with. */
  fx: PaymentsFx;
}

/** Reads the merchant's test clock as Stripe renders it; a missing (or deleted) one is `resource_missing` naming `test_clock`. */
export interface TestClocks {
  retrieve(db: Db, merchant_id: string, id: string): Promise<Record<string, unknown>>;
}

/** The risk engine as payments sees it: opened and closed with the platform (payment-services.ts). */
export interface PaymentRisk {
  scorer: RiskScorer;
  rules: RadarRules;
  /** Live mode: Stripe's Radar test cards behave as test cards only in test mode. */
  livemode: boolean;
  /** A part of the evaluation failed (the payment then goes to review): logged and counted by the caller. */
  on_failure: (part: 'score' | 'rules' | 'record', error: unknown) => void;
}
