import type { Pool } from '../../../platform/db.js';
import type { WriteDeps } from '../../../platform/write/pipeline.js';
import type { PaymentsDeps } from '../../payments/index.js';

export interface DisputesDeps {
  /** The write pipeline: every change to a dispute goes through it, as its merchant. */
  write: WriteDeps;
  /** The payments service: the disputed charge, and its `disputed` flag. */
  payments: PaymentsDeps;
  /** Reads across merchants through the system role: the decision job finds due disputes of every merchant. */
  lookup: Pool;
}
