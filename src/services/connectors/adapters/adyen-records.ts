/**
 * What the Adyen connector must remember between calls, in PostgreSQL (tables connectors.adyen_*):
 * Adyen names a payment by its pspReference while Payrail's port names it by the attempt id, and
 * Adyen tells some outcomes only by notification. A row is written BEFORE each /payments or refund call
 * (so a status inquiry can tell "never sent" from "sent, answer lost"), and completed by the answer or
 * by a verified notification, whichever comes first. No card data: amounts, references and outcomes.
 */
import { assert } from '../../../kernel/assert.js';
import type { Pool } from '../../../platform/db.js';
import { run, sql } from '../../../platform/db.js';
import type { AuthorizeResult, RefundResult } from '../domain/port.js';

export interface AdyenPaymentRecord {
  reference: string;
  merchant_id: string;
  amount: number;
  currency: string;
  capture_requested: boolean;
  psp_reference: string | null;
  authorisation_token: string | null;
  /** Null while the outcome is unknown. */
  result: AuthorizeResult | null;
  amount_captured: number;
  amount_refunded: number;
  voided: boolean;
  created_at_ms: number;
  technical_cancel_at_ms: number | null;
}

export interface AdyenRefundRecord {
  refund_id: string;
  reference: string;
  amount: number;
  currency: string;
  outcome: RefundResult | null;
}

type PaymentRow = Omit<AdyenPaymentRecord, 'amount' | 'amount_captured' | 'amount_refunded' | 'created_at_ms' | 'technical_cancel_at_ms'> & {
  amount: string;
  amount_captured: string;
  amount_refunded: string;
  created_at_ms: string;
  technical_cancel_at_ms: string | null;
};

function paymentRecord(row: PaymentRow): AdyenPaymentRecord {
  return {
    ...row,
    amount: Number(row.amount),
    amount_captured: Number(row.amount_captured),
    amount_refunded: Number(row.amount_refunded),
    created_at_ms: Number(row.created_at_ms),
    technical_cancel_at_ms: row.technical_cancel_at_ms === null ? null : Number(row.technical_cancel_at_ms),
  };
}

/** One merchant account's records: every statement is scoped by it, so accounts never see each other's references. */
export class AdyenRecords {
  constructor(
    private readonly pool: Pool,
    private readonly merchant_account: string,
  ) {}

  /** Before the first /payments call; a repeat keeps the first row. `first` says whether this call wrote it. */
  async beginPayment(
    record: Pick<AdyenPaymentRecord, 'reference' | 'merchant_id' | 'amount' | 'currency' | 'capture_requested'>,
    now_ms: number,
  ): Promise<{ record: AdyenPaymentRecord; first: boolean }> {
    const { rows } = await run<PaymentRow & { first: boolean }>(
      this.pool,
      sql`
      WITH inserted AS (
        INSERT INTO connectors.adyen_payments (merchant_account, reference, merchant_id, amount, currency, capture_requested, created_at_ms)
        VALUES (${this.merchant_account}, ${record.reference}, ${record.merchant_id}, ${record.amount}, ${record.currency}, ${record.capture_requested}, ${now_ms})
        ON CONFLICT (merchant_account, reference) DO NOTHING RETURNING *)
      SELECT *, true AS first FROM inserted
      UNION ALL SELECT *, false AS first FROM connectors.adyen_payments WHERE merchant_account = ${this.merchant_account} AND reference = ${record.reference}`,
    );
    if (rows[0] === undefined) {
      // A concurrent insert committed after this statement's snapshot: its row is visible to the next one.
      const existing = await this.payment(record.reference);
      assert(existing !== null, `Adyen payment ${record.reference} is neither inserted nor found`);
      return { record: existing, first: false };
    }
    const { first, ...row } = rows[0];
    return { record: paymentRecord(row), first };
  }

  /** Drops the row of a payment whose only call was never sent. */
  async forgetUnsent(reference: string): Promise<void> {
    await run(
      this.pool,
      sql`DELETE FROM connectors.adyen_payments
      WHERE merchant_account = ${this.merchant_account} AND reference = ${reference} AND result IS NULL AND psp_reference IS NULL`,
    );
  }

  async payment(reference: string): Promise<AdyenPaymentRecord | null> {
    const { rows } = await run<PaymentRow>(
      this.pool,
      sql`SELECT * FROM connectors.adyen_payments WHERE merchant_account = ${this.merchant_account} AND reference = ${reference}`,
    );
    return rows[0] ? paymentRecord(rows[0]) : null;
  }

  /**
   * Records an outcome: the first final one stands (a late answer never overwrites what a notification
   * settled, nor the reverse); a requires_action result is replaced by the authentication's outcome.
   */
  async settle(
    reference: string,
    result: AuthorizeResult,
    psp_reference: string | null,
    authorisation_token: string | null = null,
  ): Promise<AdyenPaymentRecord | null> {
    const { rows } = await run<PaymentRow>(
      this.pool,
      sql`
      UPDATE connectors.adyen_payments SET
        result = CASE WHEN result IS NULL OR result->>'outcome' = 'requires_action' THEN ${JSON.stringify(result)}::jsonb ELSE result END,
        psp_reference = COALESCE(psp_reference, ${psp_reference}),
        authorisation_token = COALESCE(${authorisation_token}, authorisation_token),
        amount_captured = CASE WHEN (result IS NULL OR result->>'outcome' = 'requires_action') AND ${result.outcome === 'authorized' && result.captured}::boolean
          THEN amount ELSE amount_captured END
      WHERE merchant_account = ${this.merchant_account} AND reference = ${reference}
      RETURNING *`,
    );
    return rows[0] ? paymentRecord(rows[0]) : null;
  }

  /** An unknown outcome that a successful technical cancel closed: nothing was charged, nothing can be. */
  async settleCancelled(reference: string, result: AuthorizeResult): Promise<void> {
    await run(
      this.pool,
      sql`
      UPDATE connectors.adyen_payments SET voided = true, result = COALESCE(result, ${JSON.stringify(result)}::jsonb)
      WHERE merchant_account = ${this.merchant_account} AND reference = ${reference} AND amount_captured = 0`,
    );
  }

  /** Marks the one technical cancel of an unknown outcome; false when one was already asked for. */
  async claimTechnicalCancel(reference: string, now_ms: number): Promise<boolean> {
    const { rowCount } = await run(
      this.pool,
      sql`
      UPDATE connectors.adyen_payments SET technical_cancel_at_ms = ${now_ms}
      WHERE merchant_account = ${this.merchant_account} AND reference = ${reference} AND technical_cancel_at_ms IS NULL AND result IS NULL`,
    );
    return rowCount === 1;
  }

  /** Adyen received the capture; a failure its notification already reported stands. */
  async recordCapture(reference: string, amount: number): Promise<void> {
    await run(
      this.pool,
      sql`UPDATE connectors.adyen_payments SET amount_captured = ${amount}
      WHERE merchant_account = ${this.merchant_account} AND reference = ${reference} AND amount_captured = 0 AND NOT capture_failed`,
    );
  }

  /**
   * Adyen's CAPTURE_FAILED (or CAPTURE success=false) of a manual capture: nothing was captured. It may
   * be recorded before the capture's own answer is, which then finds it and counts nothing.
   */
  async recordCaptureFailed(reference: string): Promise<void> {
    await run(
      this.pool,
      sql`UPDATE connectors.adyen_payments SET amount_captured = 0, capture_failed = true
      WHERE merchant_account = ${this.merchant_account} AND reference = ${reference} AND NOT capture_requested AND amount_refunded = 0`,
    );
  }

  /** A CANCELLATION success=false: the authorization still stands. */
  async recordCancelFailed(reference: string): Promise<void> {
    await run(
      this.pool,
      sql`UPDATE connectors.adyen_payments SET voided = false WHERE merchant_account = ${this.merchant_account} AND reference = ${reference}`,
    );
  }

  async recordVoid(reference: string): Promise<void> {
    await run(
      this.pool,
      sql`UPDATE connectors.adyen_payments SET voided = true WHERE merchant_account = ${this.merchant_account} AND reference = ${reference}`,
    );
  }

  /** Before the refund call; a repeat keeps the first row (and its amount). */
  async beginRefund(refund: Omit<AdyenRefundRecord, 'outcome'>, merchant_id: string, now_ms: number): Promise<AdyenRefundRecord> {
    await run(
      this.pool,
      sql`
      INSERT INTO connectors.adyen_refunds (merchant_account, refund_id, reference, merchant_id, amount, currency, created_at_ms)
      VALUES (${this.merchant_account}, ${refund.refund_id}, ${refund.reference}, ${merchant_id}, ${refund.amount}, ${refund.currency}, ${now_ms})
      ON CONFLICT (merchant_account, refund_id) DO NOTHING`,
    );
    const stored = await this.refund(refund.refund_id);
    return stored as AdyenRefundRecord;
  }

  async refund(refund_id: string): Promise<AdyenRefundRecord | null> {
    const { rows } = await run<{ refund_id: string; reference: string; amount: string; currency: string; outcome: RefundResult | null }>(
      this.pool,
      sql`SELECT refund_id, reference, amount, currency, outcome FROM connectors.adyen_refunds
      WHERE merchant_account = ${this.merchant_account} AND refund_id = ${refund_id}`,
    );
    const row = rows[0];
    return row ? { ...row, amount: Number(row.amount) } : null;
  }

  /**
   * Records a refund's outcome. A success moves the payment's refunded total once (the first final
   * outcome stands); a later REFUND_FAILED turns a success into a failure and gives the amount back.
   */
  async settleRefund(refund_id: string, outcome: RefundResult): Promise<void> {
    const now = outcome.outcome;
    await run(
      this.pool,
      sql`
      WITH old AS (
        SELECT outcome->>'outcome' AS was FROM connectors.adyen_refunds
        WHERE merchant_account = ${this.merchant_account} AND refund_id = ${refund_id} FOR UPDATE),
      changed AS (
        UPDATE connectors.adyen_refunds r SET outcome = ${JSON.stringify(outcome)}::jsonb FROM old
        WHERE r.merchant_account = ${this.merchant_account} AND r.refund_id = ${refund_id}
          AND (old.was IS NULL OR (old.was = 'succeeded' AND ${now}::text = 'failed'))
        RETURNING old.was, r.reference, r.amount)
      UPDATE connectors.adyen_payments p SET amount_refunded = p.amount_refunded
        + CASE WHEN ${now}::text = 'succeeded' THEN changed.amount WHEN changed.was = 'succeeded' THEN -changed.amount ELSE 0 END
      FROM changed WHERE p.merchant_account = ${this.merchant_account} AND p.reference = changed.reference`,
    );
  }
}
