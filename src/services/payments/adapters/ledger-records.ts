import type { Db } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { ChargeFacts, PaymentsRecords, RefundFacts } from '../../ledger/index.js';

/** What `ledger verify` reconciles against, read from the payments schema by the service that owns it. */
export const ledgerRecords: PaymentsRecords = {
  capturedCharges: async (db: Db, after, limit) =>
    (
      await run<ChargeFacts>(
        db,
        sql`
    SELECT merchant_id, id, amount_captured FROM payments.charges
    WHERE (merchant_id, id) > (${after[0]}, ${after[1]}) AND amount_captured > 0 ORDER BY merchant_id, id LIMIT ${limit}`,
      )
    ).rows,
  chargesByIds: async (db: Db, sources) =>
    (
      await run<ChargeFacts>(
        db,
        sql`
    SELECT c.merchant_id, c.id, c.amount_captured FROM payments.charges c
    JOIN unnest(${sources.map((s) => s.merchant_id)}::text[], ${sources.map((s) => s.source_id)}::text[]) AS k(merchant_id, id)
      ON c.merchant_id = k.merchant_id AND c.id = k.id COLLATE "C"`,
      )
    ).rows,
  refunds: async (db: Db, after, limit) =>
    (
      await run<RefundFacts>(
        db,
        sql`
    SELECT merchant_id, id, amount, status FROM payments.refunds
    WHERE (merchant_id, id) > (${after[0]}, ${after[1]}) ORDER BY merchant_id, id LIMIT ${limit}`,
      )
    ).rows,
  refundsByIds: async (db: Db, sources) =>
    (
      await run<RefundFacts>(
        db,
        sql`
    SELECT r.merchant_id, r.id, r.amount, r.status FROM payments.refunds r
    JOIN unnest(${sources.map((s) => s.merchant_id)}::text[], ${sources.map((s) => s.source_id)}::text[]) AS k(merchant_id, id)
      ON r.merchant_id = k.merchant_id AND r.id = k.id COLLATE "C"`,
      )
    ).rows,
};
