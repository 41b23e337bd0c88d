import type { Pool } from '../../../platform/db.js';
import type { WriteDeps } from '../../../platform/write/pipeline.js';
import type { PaymentsDeps } from '../../payments/index.js';

export interface CheckoutDeps {
  /** The write pipeline: sessions and the payments use cases the hosted page runs go through it. */
  write: WriteDeps;
  /** The payments service: the session's PaymentIntent, the card's PaymentMethod, customers. */
  payments: PaymentsDeps;
  /** Reads across merchants: the hosted page knows a session by its id alone, and the expiry sweep spans merchants. */
  lookup: Pool;
  /** Base URL of the hosted page. */
  public_url: () => string;
}
