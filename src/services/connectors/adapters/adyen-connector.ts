/**
 * The Adyen connector: Payrail's processor port over Adyen's Checkout API v71. The pure transformers
 * (domain/adyen-transform.ts) build each request and read each answer; AdyenTransport sends them;
 * AdyenRecords remembers Adyen's pspReference per Payrail reference and the outcomes that arrive only by
 * notification. Every call carries an Idempotency-Key derived from Payrail's id, so a retry from any
 * process is answered with Adyen's first answer and never charges or refunds twice.
 */
import { AssertionError, assert } from '../../../kernel/assert.js';
import type { Clock } from '../../../kernel/clock.js';
import type { Pool } from '../../../platform/db.js';
import type {
  AttemptStatus,
  AuthorizeRequest,
  AuthorizeResult,
  CaptureResult,
  Connector,
  NotificationVerifier,
  ProcessorEvent,
  RefundResult,
  RefundStatus,
  VerifiedNotifications,
  VerifyRequest,
} from '../domain/port.js';
import { ProcessorOutcomeUnknown, ProcessorUnreachable } from '../domain/port.js';
import type { AuthorizeAnswer, ModificationAnswer } from '../domain/adyen-transform.js';
import { adyenAmount, authorizeAnswer, idempotencyKey, modificationAnswer, paymentRequestBody, threeDsDetailsBody } from '../domain/adyen-transform.js';
import { verifyAdyenNotification } from '../domain/adyen-notifications.js';
import { PROCESSING_ERROR } from '../domain/adyen-refusals.js';
import { AdyenTransport } from './adyen-transport.js';
import type { AdyenPaymentRecord } from './adyen-records.js';
import { AdyenRecords } from './adyen-records.js';

/** An `adyen` connector account's credentials; `api_key` and `hmac_key` are secrets. */
export interface AdyenCredentials {
  api_key: string;
  merchant_account: string;
  base_url: string;
  /** Hex, as Adyen's Customer Area shows it. */
  hmac_key: string;
}

/** A verified notification's events are stored by the connector before Adyen is acknowledged. */
export interface NotificationRecorder {
  recordEvents(events: readonly ProcessorEvent[]): Promise<void>;
}

/**
 * How long an attempt may stay without an outcome (no answer, no AUTHORISATION notification) before the
 * connector cancels it by reference (POST /cancels): Adyen notifies within seconds, so 10 minutes of
 * silence means the payment most likely never arrived, and the technical cancel makes sure of it.
 */
export const ADYEN_SETTLE_AFTER_MS = 10 * 60_000;
/** The confirmed failure a successful technical cancel gives an attempt whose outcome was unknown. */
export const CANCELLED_UNKNOWN_OUTCOME = 'cancelled_unknown_outcome';

export interface AdyenConnectorOptions {
  credentials: AdyenCredentials;
  /** The Payrail merchant this connector account belongs to (Adyen's chargebacks name only the payment). */
  merchant_id: string;
  pool: Pool;
  clock: Clock;
  timeout_ms: number;
  settle_after_ms?: number;
}

export class AdyenConnector implements Connector, NotificationVerifier, NotificationRecorder {
  readonly name = 'adyen';
  private readonly transport: AdyenTransport;
  private readonly records: AdyenRecords;
  private readonly merchant_account: string;
  private readonly settle_after_ms: number;

  constructor(private readonly options: AdyenConnectorOptions) {
    this.merchant_account = options.credentials.merchant_account;
    this.transport = new AdyenTransport({ base_url: options.credentials.base_url, api_key: options.credentials.api_key, timeout_ms: options.timeout_ms });
    this.records = new AdyenRecords(options.pool, this.merchant_account);
    this.settle_after_ms = options.settle_after_ms ?? ADYEN_SETTLE_AFTER_MS;
    assert(Number.isInteger(this.settle_after_ms) && this.settle_after_ms > 0, 'settle_after_ms must be a positive integer');
  }

  /** A repeat of a settled attempt gets the stored answer; an unsettled one is sent again with the same key. */
  async authorize(request: AuthorizeRequest): Promise<AuthorizeResult> {
    const { record, first } = await this.records.beginPayment(
      {
        reference: request.attempt_id,
        merchant_id: request.merchant_id,
        amount: request.amount,
        currency: request.currency,
        capture_requested: request.capture,
      },
      this.options.clock.now_ms(),
    );
    if (record.result) return record.result;
    let answer;
    try {
      answer = await this.transport.post('/payments', paymentRequestBody(request, this.merchant_account), idempotencyKey('authorise', request.attempt_id));
    } catch (error) {
      // The first call never left: forget its row, so a status inquiry answers "not found", not "unknown".
      if (error instanceof ProcessorUnreachable && first) await this.records.forgetUnsent(request.attempt_id);
      throw error;
    }
    return this.settled(request.attempt_id, authorizeAnswer(answer.status, answer.body, request.capture));
  }

  verify(request: VerifyRequest): Promise<AuthorizeResult> {
    return this.authorize({ ...request, amount: 0, capture: false });
  }

  /** Native 3-D Secure 2: the customer's result goes to POST /payments/details with the payment's authorisation token. */
  async completeAuthentication(attempt_id: string, authenticated: boolean): Promise<AuthorizeResult> {
    const record = await this.records.payment(attempt_id);
    assert(record?.result, `no Adyen payment with an outcome for ${attempt_id}`);
    if (record.result.outcome !== 'requires_action') return record.result;
    assert(record.authorisation_token !== null, `Adyen payment ${attempt_id} has no authorisation token`);
    const { status, body } = await this.transport.post(
      '/payments/details',
      threeDsDetailsBody(record.authorisation_token, authenticated),
      idempotencyKey('details', attempt_id),
    );
    return this.settled(attempt_id, authorizeAnswer(status, body, record.capture_requested));
  }

  async capture(attempt_id: string, amount: number): Promise<CaptureResult> {
    const record = await this.records.payment(attempt_id);
    if (record?.result?.outcome !== 'authorized' || record.psp_reference === null)
      return { outcome: 'failed', message: `No authorized Adyen payment for ${attempt_id}.` };
    if (record.amount_captured > 0) return { outcome: 'captured', amount_captured: record.amount_captured };
    if (amount <= 0 || amount > record.amount) return { outcome: 'failed', message: `The capture amount exceeds the authorized amount of ${attempt_id}.` };
    const answer = await this.modify(
      `/payments/${encodeURIComponent(record.psp_reference)}/captures`,
      { merchantAccount: this.merchant_account, amount: adyenAmount(amount, record.currency), reference: attempt_id },
      idempotencyKey('capture', attempt_id),
    );
    if (answer.kind === 'refused') return { outcome: 'failed', message: answer.message };
    await this.records.recordCapture(attempt_id, amount);
    return { outcome: 'captured', amount_captured: amount };
  }

  /** Cancels the authorization: by pspReference when known, else by Payrail's reference (Adyen's technical cancel). */
  async void(attempt_id: string): Promise<void> {
    const record = await this.records.payment(attempt_id);
    if (record === null || record.voided || record.result?.outcome === 'declined') return;
    if (record.amount_captured > 0) throw new AssertionError(`Adyen payment ${attempt_id} is captured; refund it instead`);
    const answer =
      record.psp_reference === null
        ? await this.modify(
            '/cancels',
            { merchantAccount: this.merchant_account, paymentReference: attempt_id, reference: attempt_id },
            idempotencyKey('technical-cancel', attempt_id),
          )
        : await this.modify(
            `/payments/${encodeURIComponent(record.psp_reference)}/cancels`,
            { merchantAccount: this.merchant_account, reference: attempt_id },
            idempotencyKey('cancel', attempt_id),
          );
    if (answer.kind === 'refused') throw new Error(`Adyen refused to cancel ${attempt_id}: ${answer.error_code} ${answer.message}`);
    await this.records.recordVoid(attempt_id);
  }

  async refund(refund_id: string, attempt_id: string, amount: number): Promise<RefundResult> {
    const payment = await this.records.payment(attempt_id);
    if (payment?.psp_reference == null || payment.amount_captured === 0) return { outcome: 'failed', message: `No captured Adyen payment for ${attempt_id}.` };
    const earlier = await this.records.refund(refund_id);
    if (earlier?.outcome) return earlier.outcome;
    if (earlier === null && (amount <= 0 || amount > payment.amount_captured - payment.amount_refunded)) {
      return { outcome: 'failed', message: `The refund amount exceeds what is left to refund of ${attempt_id}.` };
    }
    const refund = await this.records.beginRefund(
      { refund_id, reference: attempt_id, amount, currency: payment.currency },
      payment.merchant_id,
      this.options.clock.now_ms(),
    );
    if (refund.outcome) return refund.outcome;
    return this.sendRefund(refund_id, payment.psp_reference, refund.amount, refund.currency);
  }

  /**
   * Adyen has no status GET: the answer is what the connector recorded from Adyen's answers and
   * notifications. Past `settle_after_ms` without an outcome, one technical cancel makes sure the
   * payment cannot be charged later; its CANCELLATION notification then settles the attempt.
   */
  async attemptStatus(attempt_id: string): Promise<AttemptStatus> {
    const record = await this.records.payment(attempt_id);
    if (record === null) return { found: false };
    if (record.result) return statusOf(record, record.result);
    const now_ms = this.options.clock.now_ms();
    if (now_ms - record.created_at_ms >= this.settle_after_ms && (await this.records.claimTechnicalCancel(attempt_id, now_ms))) {
      await this.modify(
        '/cancels',
        { merchantAccount: this.merchant_account, paymentReference: attempt_id, reference: attempt_id },
        idempotencyKey('technical-cancel', attempt_id),
      );
    }
    return { found: 'unknown' };
  }

  /** An unanswered refund is sent again with its Idempotency-Key: Adyen answers the first one, refunding nothing twice. */
  async refundStatus(refund_id: string): Promise<RefundStatus> {
    const refund = await this.records.refund(refund_id);
    if (refund === null) return { found: false };
    if (refund.outcome) return { found: true, ...refund.outcome };
    const payment = await this.records.payment(refund.reference);
    assert(payment?.psp_reference, `refund ${refund_id} names a payment without a pspReference`);
    return { found: true, ...(await this.sendRefund(refund_id, payment.psp_reference, refund.amount, refund.currency)) };
  }

  verifyNotification(_headers: Record<string, string | string[] | undefined>, raw_body: Buffer): VerifiedNotifications {
    return verifyAdyenNotification(raw_body, {
      merchant_account: this.merchant_account,
      hmac_key_hex: this.options.credentials.hmac_key,
      merchant_id: this.options.merchant_id,
    });
  }

  /** Applies verified events to the records; idempotent, and in any order (the first final outcome stands). */
  async recordEvents(events: readonly ProcessorEvent[]): Promise<void> {
    for (const event of events) {
      if (!('kind' in event)) continue;
      if (event.kind === 'authorization') await this.records.settle(event.reference, event.result, event.processor_reference);
      else if (event.kind === 'capture' && !event.success) await this.records.recordCaptureFailed(event.reference);
      else if (event.kind === 'cancel' && !event.success) await this.records.recordCancelFailed(event.reference);
      else if (event.kind === 'cancel') {
        await this.records.settleCancelled(event.reference, {
          outcome: 'declined',
          ...PROCESSING_ERROR,
          cvc_check: 'unchecked',
          raw_code: CANCELLED_UNKNOWN_OUTCOME,
        });
      } else if (event.kind === 'refund') {
        await this.records.settleRefund(
          event.reference,
          event.success ? { outcome: 'succeeded' } : { outcome: 'failed', message: 'Adyen reported the refund failed.' },
        );
      }
    }
  }

  private async settled(reference: string, answer: AuthorizeAnswer): Promise<AuthorizeResult> {
    if (answer.kind === 'not_processed') throw new ProcessorUnreachable(answer.reason);
    if (answer.kind === 'unknown') throw new ProcessorOutcomeUnknown(answer.reason);
    const record = await this.records.settle(reference, answer.result, answer.psp_reference, answer.authorisation_token);
    assert(record?.result, `Adyen payment ${reference} has no record to settle`);
    return record.result;
  }

  private async sendRefund(refund_id: string, psp_reference: string, amount: number, currency: string): Promise<RefundResult> {
    const answer = await this.modify(
      `/payments/${encodeURIComponent(psp_reference)}/refunds`,
      { merchantAccount: this.merchant_account, amount: adyenAmount(amount, currency), reference: refund_id },
      idempotencyKey('refund', refund_id),
    );
    const outcome: RefundResult = answer.kind === 'refused' ? { outcome: 'failed', message: answer.message } : { outcome: 'succeeded' };
    await this.records.settleRefund(refund_id, outcome);
    return (await this.records.refund(refund_id))?.outcome ?? outcome;
  }

  /** A modification that Adyen received (201) or refused (4xx); anything else is thrown as the port's errors. */
  private async modify(path: string, body: unknown, key: string): Promise<Exclude<ModificationAnswer, { kind: 'not_processed' | 'unknown' }>> {
    const { status, body: answer_body } = await this.transport.post(path, body, key);
    const answer = modificationAnswer(status, answer_body);
    if (answer.kind === 'not_processed') throw new ProcessorUnreachable(answer.reason);
    if (answer.kind === 'unknown') throw new ProcessorOutcomeUnknown(answer.reason);
    return answer;
  }
}

function statusOf(record: AdyenPaymentRecord, result: AuthorizeResult): AttemptStatus {
  return { found: true, result, amount_captured: record.amount_captured, amount_refunded: record.amount_refunded, voided: record.voided };
}
