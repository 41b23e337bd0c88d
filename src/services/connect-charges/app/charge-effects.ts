import type pg from 'pg';
import { run } from '../../../platform/db.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import type { ConsumedEvent, EventDraft } from '../../events/index.js';
import { outboxInsert } from '../../events/index.js';
import { connectLegs, loadTerms, postTransfers, termsOf } from '../../ledger/index.js';
import type { CapturedCharge } from '../domain/destination-charge.js';
import { captureEffects } from '../domain/destination-charge.js';
import { insertFeeOnce, insertTransferOnce, publishTransferOnce, scheduleLegReleases } from '../adapters/store.js';
import { renderApplicationFee } from '../adapters/render.js';
import { renderDestinationTransfer } from '../adapters/transfer-render.js';
import { applyRefund, refundSharesOf } from './refund-effects.js';

/**
 * A destination charge's capture and refunds, carried out inside the ledger consumer's transaction for
 * the batch that posts the capture (or refund) itself: the transfer, the application fee, both sides'
 * money and their events commit with that posting and the consumer's inbox, or not at all. Ids derive
 * from the charge (or refund) and inserts decide, so an event handed over twice acts once.
 */
export function destinationChargeHandler(ids: IdGenerator) {
  return async (batch: readonly ConsumedEvent[], tx: pg.PoolClient): Promise<void> => {
    const captures = batch.filter(isDestinationCapture);
    const refunds = batch.filter((event) => refundSharesOf(event) !== undefined);
    if (captures.length === 0 && refunds.length === 0) return;
    const terms = await loadTerms(
      tx,
      captures.flatMap((e) => [e.merchant_id, destinationOf(e)]),
    );
    const delay_s = (merchant_id: string) => termsOf(terms, merchant_id).settlement_delay_s;
    // In event order: a refund later in the batch finds the transfer its charge's capture made.
    for (const event of batch) {
      const shares = refundSharesOf(event);
      const drafts = isDestinationCapture(event) ? await applyCapture(tx, event, delay_s) : shares ? await applyRefund(tx, event, shares) : [];
      if (drafts.length > 0) await run(tx, outboxInsert(ids, event.merchant_id, event.created, { id: null, idempotency_key: null }, drafts));
    }
  };
}

function isDestinationCapture(event: ConsumedEvent): boolean {
  const charge = event.data.object;
  if (event.type !== 'charge.captured' && !(event.type === 'charge.succeeded' && charge.captured === true)) return false;
  return typeof (charge.transfer_data as { destination?: unknown } | null | undefined)?.destination === 'string';
}

function destinationOf(event: ConsumedEvent): string {
  return (event.data.object.transfer_data as { destination: string }).destination;
}

async function applyCapture(tx: pg.PoolClient, event: ConsumedEvent, delay_s: (merchant_id: string) => number): Promise<EventDraft[]> {
  const charge = event.data.object as unknown as CapturedCharge;
  const effects = captureEffects(charge, {
    platform_id: event.merchant_id,
    event: { id: event.id, type: event.type, created: event.created },
    immediate: event.internal?.funds === 'immediate',
    platform_delay_s: delay_s(event.merchant_id),
    destination_delay_s: delay_s(destinationOf(event)),
  });
  const drafts: EventDraft[] = [];
  if (effects.transfer && effects.movement && (await insertTransferOnce(tx, effects.transfer))) {
    const legs = connectLegs(effects.movement);
    const results = await postTransfers(tx, [legs.platform, legs.connected]);
    const refused = results.filter((r) => r.result !== 'ok');
    if (refused.length > 0) throw new Error(`destination charge ${charge.id}: ledger refused ${refused.map((r) => `${r.id} ${r.result}`).join(', ')}`);
    await scheduleLegReleases(tx, [legs.platform, legs.connected]);
    await run(tx, publishTransferOnce(effects.transfer));
    drafts.push({ type: 'transfer.created', object: renderDestinationTransfer(effects.transfer) });
  }
  if (effects.application_fee && (await insertFeeOnce(tx, effects.application_fee))) {
    drafts.push({ type: 'application_fee.created', object: renderApplicationFee(effects.application_fee) });
  }
  return drafts;
}
