import type { WriteDeps } from '../../../platform/write/pipeline.js';

export interface ConnectChargesDeps {
  /** The write pipeline (refunds of fees go through it, as the platform), and its merchant-scoped reader. */
  write: WriteDeps;
}
