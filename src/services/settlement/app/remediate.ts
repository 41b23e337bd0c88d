import type pg from 'pg';
import { run } from '../../../platform/db.js';
import type { TransferRequest } from '../../ledger/index.js';
import { postTransfers, transferId } from '../../ledger/index.js';
import { outboxInsert } from '../../events/index.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import { dayStart } from '../domain/reconciliation.js';
import type { ExceptionRow } from '../adapters/reconciliation-store.js';
import { renderException } from '../adapters/reconciliation-render.js';

/**
 * What follows a new exception, in the run's transaction: the fee adjustment its rule books (a
 * balanced transfer from processor_fees to processor_fee_variance, its id derived from the exception's,
 * so it is booked once however often the report is reconciled), and its event for the merchant.
 */

export function feeAdjustmentId(exception_id: string, report_date: string): string {
  return transferId('processor_fee_adjustment', exception_id, dayStart(report_date));
}

export async function applyRemedies(tx: pg.PoolClient, deps: { ids: IdGenerator }, rows: readonly ExceptionRow[]): Promise<void> {
  const transfers = rows.flatMap((row) => {
    const transfer = feeAdjustment(row);
    return transfer ? [transfer] : [];
  });
  const results = await postTransfers(tx, transfers);
  const refused = results.filter((r) => r.result !== 'ok' && r.result !== 'exists');
  if (refused.length > 0) throw new Error(`fee adjustment refused by the ledger: ${refused.map((r) => `${r.id} ${r.result}`).join(', ')}`);
  const by_merchant = new Map<string, ExceptionRow[]>();
  for (const row of rows) if (row.merchant_id !== null) by_merchant.set(row.merchant_id, [...(by_merchant.get(row.merchant_id) ?? []), row]);
  for (const [merchant_id, list] of by_merchant) {
    const created = list[0]?.created ?? 0;
    // A Payrail event type (events/domain/event-types.ts): operators', never sent to webhook endpoints.
    const drafts = list.map((row) => ({ type: 'reconciliation.exception.created', object: { ...renderException(row), id: row.id } }));
    await run(tx, outboxInsert(deps.ids, merchant_id, created, { id: null, idempotency_key: null }, drafts));
  }
}

/**
 * The processor kept `adjustment` more than its contract (less when negative). The settlement import
 * booked the fee the line states in processor_fees (and the cash it really paid); within tolerance
 * the difference is accepted and moved to processor_fee_variance, so processor_fees holds what the
 * contract says and the variance shows apart. Cash is untouched: it is what the processor paid.
 */
function feeAdjustment(row: ExceptionRow): TransferRequest | null {
  const currency = row.payrail_record?.currency;
  if (row.adjustment === null || row.adjustment === 0 || row.transfer_id === null || row.merchant_id === null || typeof currency !== 'string') return null;
  return {
    id: row.transfer_id,
    merchant_id: row.merchant_id,
    currency,
    kind: 'processor_fee_adjustment',
    source_id: row.id,
    postings: [
      { account: 'processor_fee_variance', amount: row.adjustment },
      { account: 'processor_fees', amount: -row.adjustment },
    ],
    cause: { event_id: row.id, type: 'reconciliation_exception' },
    created: row.created,
    available_on: null,
  };
}
