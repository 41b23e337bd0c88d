import type { LedgerWorker } from '../services/ledger/index.js';
import { startLedgerWorker } from '../services/ledger/index.js';
import { destinationChargeHandler } from '../services/connect-charges/index.js';
import type { Core } from './core.js';

/**
 * The `ledger` role: posts the payments events of the outbox to the ledger. Replicas are safe: the
 * consumer is held by one process at a time (an advisory lock), the others wait to take it over.
 * A destination charge's transfer, fee and refunds' reversals commit with their postings (connect-charges).
 */
export function startLedgerRole(core: Core): LedgerWorker {
  return startLedgerWorker({ pool: core.database.pool, clock: core.clock, logger: core.logger, in_batch: destinationChargeHandler(core.ids) });
}
