import type pg from 'pg';
import type { ConsumedEvent, Consumer } from '../../events/index.js';
import type { TransferKind, TransferRequest } from '../domain/transfer.js';
import { isPosted } from '../domain/transfer.js';
import { LEDGER_EVENT_TYPES, transfersForEvent } from '../domain/flows.js';
import { kindsBySource, postTransfers, sourceKey } from '../adapters/store.js';
import { loadTerms, termsOf } from './terms.js';

export const LEDGER_CONSUMER_NAME = 'ledger';

const REFUND_UPDATE_TYPES = new Set(['refund.updated', 'charge.refund.updated']);

/**
 * The ledger's outbox consumer: each batch of payments events becomes one call to postTransfers,
 * in the transaction that also records the batch in the inbox and moves the offset. A transfer
 * that cannot be posted (exists with different fields, a malformed event) fails the batch; the
 * runner then isolates the event, retries it, and parks it in the dead letters after its attempts.
 */
export function ledgerConsumer(): Consumer {
  return {
    name: LEDGER_CONSUMER_NAME,
    types: LEDGER_EVENT_TYPES,
    handle: async (batch, tx) => {
      const requests = await transfersForBatch(batch, tx);
      const results = await postTransfers(tx, requests);
      const refused = results.filter((r) => !isPosted(r.result));
      if (refused.length > 0) {
        throw new Error(
          `ledger refused ${refused.length} transfer(s): ${refused
            .slice(0, 5)
            .map((r) => `${r.id} ${r.result}`)
            .join(', ')}`,
        );
      }
    },
  };
}

/** The batch's transfers, in event order; refund updates see what earlier events in the batch posted. */
export async function transfersForBatch(batch: readonly ConsumedEvent[], db: pg.PoolClient): Promise<TransferRequest[]> {
  const terms = await loadTerms(
    db,
    batch.map((e) => e.merchant_id),
  );
  const refund_sources = batch
    .filter((e) => REFUND_UPDATE_TYPES.has(e.type) && typeof e.data.object.id === 'string')
    .map((e) => ({ merchant_id: e.merchant_id, source_id: String(e.data.object.id) }));
  const posted = await kindsBySource(db, refund_sources);
  const requests: TransferRequest[] = [];
  for (const event of batch) {
    const history = (source_id: string): ReadonlySet<TransferKind> => posted.get(sourceKey({ merchant_id: event.merchant_id, source_id })) ?? new Set();
    for (const request of transfersForEvent(event, termsOf(terms, event.merchant_id), history)) {
      const key = sourceKey(request);
      posted.set(key, (posted.get(key) ?? new Set<TransferKind>()).add(request.kind));
      requests.push(request);
    }
  }
  return requests;
}
