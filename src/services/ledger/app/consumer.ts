import type pg from 'pg';
import type { ConsumedEvent, Consumer } from '../../events/index.js';
import type { TransferKind, TransferRequest } from '../domain/transfer.js';
import { isPosted } from '../domain/transfer.js';
import { LEDGER_EVENT_TYPES, transfersForEvent } from '../domain/flows.js';
import type { ConvertedCapture } from '../domain/fx-flows.js';
import { convertRefundTransfers } from '../domain/fx-flows.js';
import { convertedCaptures, kindsBySource, postTransfers, sourceKey } from '../adapters/store.js';
import { loadTerms, termsOf } from './terms.js';

export const LEDGER_CONSUMER_NAME = 'ledger';

const REFUND_UPDATE_TYPES = new Set(['refund.updated', 'charge.refund.updated']);
const REFUND_TYPES = new Set(['refund.created', ...REFUND_UPDATE_TYPES]);

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
  const conversions = await chargeConversions(batch, db);
  const requests: TransferRequest[] = [];
  for (const event of batch) {
    const history = (source_id: string): ReadonlySet<TransferKind> => posted.get(sourceKey({ merchant_id: event.merchant_id, source_id })) ?? new Set();
    for (const request of converted(event, transfersForEvent(event, termsOf(terms, event.merchant_id), history), conversions)) {
      const key = sourceKey(request);
      posted.set(key, (posted.get(key) ?? new Set<TransferKind>()).add(request.kind));
      requests.push(request);
    }
  }
  return requests;
}

/** The converted captures of the charges the batch's refunds refund, from the ledger (filled in as the batch posts more). */
async function chargeConversions(batch: readonly ConsumedEvent[], db: pg.PoolClient): Promise<Map<string, ConvertedCapture>> {
  const charges = batch
    .filter((e) => REFUND_TYPES.has(e.type) && typeof e.data.object.charge === 'string')
    .map((e) => ({ merchant_id: e.merchant_id, source_id: String(e.data.object.charge) }));
  return convertedCaptures(db, charges);
}

/**
 * A refund of a converted charge moves the merchant's money in the settlement currency at the capture's
 * rate (fx-flows.ts); a converted capture is remembered for the refunds later in the batch.
 */
function converted(event: ConsumedEvent, requests: TransferRequest[], conversions: Map<string, ConvertedCapture>): TransferRequest[] {
  for (const request of requests) {
    if (request.kind === 'capture' && request.conversion) conversions.set(sourceKey(request), { currency: request.currency, conversion: request.conversion });
  }
  const charge = event.data.object.charge;
  if (!REFUND_TYPES.has(event.type) || typeof charge !== 'string') return requests;
  const capture = conversions.get(sourceKey({ merchant_id: event.merchant_id, source_id: charge }));
  const created = event.data.object.created;
  return capture && typeof created === 'number' ? convertRefundTransfers(requests, capture, created) : requests;
}
