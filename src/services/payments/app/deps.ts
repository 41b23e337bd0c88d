import type { Pool } from '../../../platform/db.js';
import type { Vault } from '../../vault/index.js';
import type { Connector } from '../../connectors/index.js';
import type { RiskRules } from '../../risk/index.js';
import type { Detokenization } from '../../audit/index.js';

export interface PaymentsDeps {
  /** Read-only connections for queries; use cases write only through their OperationContext. */
  reader: Pool;
  vault: Vault;
  connector: Connector;
  risk_rules: RiskRules;
  /** Base URL for links Payrail hands to customers, such as the 3-D Secure page. */
  public_url: () => string;
  /** Commits a detokenization audit record on its own (the audit service's `recordDetokenization`). */
  record_detokenization: (entry: Detokenization) => Promise<void>;
}
