/**
 * The Adyen simulator's record of payments and modifications, in memory for one run (no card data:
 * the number is read to decide, never kept). Each operation is synchronous, so concurrent requests
 * cannot interleave inside one; it returns Adyen's answer and queues Adyen's notification. Modifications
 * answer 201 "received" and tell their outcome only by notification, as Adyen does.
 */
import type { Decision, PaymentRequest } from './decisions.js';
import { decidePayment } from './decisions.js';
import type { NotificationItem, Notifier } from './notifier.js';

export interface SimPayment {
  pspReference: string;
  merchantAccount: string;
  reference: string;
  amount: { value: number; currency: string };
  status: 'authorised' | 'refused' | 'error' | 'challenge' | 'cancelled';
  decision: Decision;
  manual_capture: boolean;
  captured: number;
  refunded: number;
  authorisation_token: string | null;
  metadata: Record<string, string>;
  card_brand: string;
}

export interface Answer {
  status: number;
  body: unknown;
}

function brandOf(number: string): string {
  if (number.startsWith('4')) return 'visa';
  if (/^(5[1-5]|2[2-7])/.test(number)) return 'mc';
  if (/^3[47]/.test(number)) return 'amex';
  return 'scheme';
}

export function serviceError(status: number, errorCode: string, message: string, errorType: string, pspReference?: string): Answer {
  return { status, body: { status, errorCode, message, errorType, ...(pspReference ? { pspReference } : {}) } };
}

export class AdyenBook {
  readonly payments = new Map<string, SimPayment>();
  private readonly by_reference = new Map<string, string>();
  private readonly by_token = new Map<string, string>();
  /** References cancelled (technical cancel) before any payment arrived under them. */
  private readonly cancelled_references = new Set<string>();
  /** Payments created per reference: a test of idempotency counts these (a replay creates none). */
  private readonly created = new Map<string, number>();
  private counter = 0;

  constructor(
    private readonly notifier: Notifier,
    private readonly now: () => number = Date.now,
  ) {}

  authorizationCount(reference: string): number {
    return this.created.get(reference) ?? 0;
  }

  paymentByReference(merchant_account: string, reference: string): SimPayment | undefined {
    const psp = this.by_reference.get(`${merchant_account}\n${reference}`);
    return psp === undefined ? undefined : this.payments.get(psp);
  }

  /** A new 16-character pspReference, unique in this run. */
  nextPspReference(): string {
    this.counter += 1;
    return `SIM${this.counter.toString(36).toUpperCase().padStart(13, '0')}`;
  }

  createPayment(request: PaymentRequest): Answer {
    const key = `${request.merchantAccount}\n${request.reference}`;
    const cancelled = this.cancelled_references.has(key);
    const decision: Decision = cancelled ? { kind: 'refused', code: '15', reason: 'Cancelled' } : decidePayment(request);
    const payment: SimPayment = {
      pspReference: this.nextPspReference(),
      merchantAccount: request.merchantAccount,
      reference: request.reference,
      amount: request.amount,
      status: cancelled
        ? 'cancelled'
        : decision.kind === 'authorised'
          ? 'authorised'
          : decision.kind === 'challenge'
            ? 'challenge'
            : decision.kind === 'error'
              ? 'error'
              : 'refused',
      decision,
      manual_capture: request.additionalData?.['manualCapture'] === 'true' && request.captureDelayHours !== 0,
      captured: 0,
      refunded: 0,
      authorisation_token: null,
      metadata: request.metadata ?? {},
      card_brand: brandOf(request.paymentMethod.number),
    };
    this.payments.set(payment.pspReference, payment);
    if (!this.by_reference.has(key)) this.by_reference.set(key, payment.pspReference);
    this.created.set(request.reference, this.authorizationCount(request.reference) + 1);
    const cvc_result =
      decision.kind === 'refused' && decision.cvc_result
        ? decision.cvc_result
        : request.paymentMethod.cvc === undefined
          ? '6 No CVC/CVV provided'
          : '1 Matches';
    if (decision.kind === 'challenge') {
      payment.authorisation_token = `AT${payment.pspReference}`;
      this.by_token.set(payment.authorisation_token, payment.pspReference);
      return {
        status: 200,
        body: {
          resultCode: 'ChallengeShopper',
          action: {
            type: 'threeDS2',
            subtype: 'challenge',
            paymentMethodType: 'scheme',
            token: `TK${payment.pspReference}`,
            authorisationToken: payment.authorisation_token,
          },
        },
      };
    }
    return this.finalAnswer(payment, cvc_result);
  }

  /** POST /payments/details with the customer's 3DS2 result: {transStatus, authorisationToken}, Base64 JSON. */
  details(body: unknown): Answer {
    const encoded = (body as { details?: { threeDSResult?: unknown } } | null)?.details?.threeDSResult;
    let result: { transStatus?: unknown; authorisationToken?: unknown } = {};
    try {
      result = typeof encoded === 'string' ? (JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as typeof result) : {};
    } catch {
      result = {};
    }
    const psp = typeof result.authorisationToken === 'string' ? this.by_token.get(result.authorisationToken) : undefined;
    const payment = psp === undefined ? undefined : this.payments.get(psp);
    if (!payment) return serviceError(422, '000', 'Invalid payment details', 'validation');
    if (payment.status === 'challenge') {
      const authenticated = result.transStatus === 'Y';
      payment.decision = authenticated ? { kind: 'authorised' } : { kind: 'refused', code: '11', reason: '3D Not Authenticated' };
      payment.status = authenticated ? 'authorised' : 'refused';
    }
    return this.finalAnswer(payment, '1 Matches');
  }

  private finalAnswer(payment: SimPayment, cvc_result: string): Answer {
    const { decision } = payment;
    if (decision.kind === 'authorised' && !payment.manual_capture) payment.captured = payment.amount.value;
    const refusal = decision.kind === 'refused' || decision.kind === 'error' ? decision : null;
    const raw = decision.kind === 'refused' ? decision.raw : undefined;
    const additionalData: Record<string, string> = { cvcResult: cvc_result, ...(raw ? { refusalReasonRaw: raw } : {}) };
    this.notify(payment, {
      eventCode: 'AUTHORISATION',
      success: decision.kind === 'authorised' ? 'true' : 'false',
      pspReference: payment.pspReference,
      merchantReference: payment.reference,
      amount: payment.amount,
      ...(refusal ? { reason: refusal.reason } : {}),
      additionalData: {
        ...additionalData,
        ...(refusal ? { refusalReasonCode: refusal.code } : {}),
        ...Object.fromEntries(Object.entries(payment.metadata).map(([key, value]) => [`metadata.${key}`, value])),
      },
    });
    const resultCode = { authorised: 'Authorised', refused: 'Refused', error: 'Error', cancelled: 'Cancelled', challenge: 'ChallengeShopper' }[payment.status];
    return {
      status: 200,
      body: {
        pspReference: payment.pspReference,
        resultCode,
        merchantReference: payment.reference,
        amount: payment.amount,
        additionalData,
        ...(refusal ? { refusalReason: refusal.reason, refusalReasonCode: refusal.code } : {}),
      },
    };
  }

  capture(payment: SimPayment, amount: { value: number; currency: string }, reference: string | undefined): Answer {
    const capturable = payment.status === 'authorised' && payment.manual_capture && payment.captured === 0;
    const fits = amount.currency === payment.amount.currency && amount.value > 0 && amount.value <= payment.amount.value;
    if (capturable && fits) payment.captured = amount.value;
    const reason = capturable ? (fits ? undefined : 'Invalid amount') : 'Payment cannot be captured';
    return this.modification(payment, 'CAPTURE', amount, reference, capturable && fits, reason);
  }

  refund(payment: SimPayment, amount: { value: number; currency: string }, reference: string | undefined): Answer {
    const fits = amount.currency === payment.amount.currency && amount.value > 0 && amount.value <= payment.captured - payment.refunded;
    if (fits) payment.refunded += amount.value;
    return this.modification(payment, 'REFUND', amount, reference, fits, fits ? undefined : 'Insufficient balance on payment');
  }

  cancel(payment: SimPayment, reference: string | undefined, event: 'CANCELLATION' | 'TECHNICAL_CANCEL' = 'CANCELLATION'): Answer {
    const cancellable = (payment.status === 'authorised' || payment.status === 'challenge') && payment.captured === 0;
    if (cancellable) payment.status = 'cancelled';
    return this.modification(payment, event, payment.amount, reference, cancellable, cancellable ? undefined : 'Payment cannot be cancelled');
  }

  /** POST /cancels: by the payment's reference, even when the payment never arrived (then none ever will be made under it). */
  technicalCancel(merchant_account: string, payment_reference: string, reference: string | undefined): Answer {
    const payment = this.paymentByReference(merchant_account, payment_reference);
    if (payment) {
      const answer = this.cancel(payment, reference ?? payment_reference, 'TECHNICAL_CANCEL');
      return { status: 201, body: { ...(answer.body as object), paymentReference: payment_reference } };
    }
    this.cancelled_references.add(`${merchant_account}\n${payment_reference}`);
    const psp = this.nextPspReference();
    this.notifier.send({
      eventCode: 'TECHNICAL_CANCEL',
      success: 'true',
      pspReference: psp,
      merchantAccountCode: merchant_account,
      merchantReference: reference ?? payment_reference,
      amount: { value: 0, currency: 'EUR' },
      eventDate: new Date(this.now()).toISOString(),
    });
    return { status: 201, body: { merchantAccount: merchant_account, paymentReference: payment_reference, pspReference: psp, reference, status: 'received' } };
  }

  /** A cardholder's dispute on a captured payment, as Adyen notifies it. */
  chargeback(payment: SimPayment, event: 'NOTIFICATION_OF_CHARGEBACK' | 'CHARGEBACK' | 'REQUEST_FOR_INFORMATION', reason_code: string): void {
    this.notify(payment, {
      eventCode: event,
      success: 'true',
      pspReference: this.nextPspReference(),
      originalReference: payment.pspReference,
      merchantReference: payment.reference,
      amount: { value: payment.captured, currency: payment.amount.currency },
      additionalData: { chargebackReasonCode: reason_code, chargebackSchemeCode: payment.card_brand },
    });
  }

  private modification(
    payment: SimPayment,
    eventCode: string,
    amount: { value: number; currency: string },
    reference: string | undefined,
    success: boolean,
    reason: string | undefined,
  ): Answer {
    const psp = this.nextPspReference();
    this.notify(payment, {
      eventCode,
      success: success ? 'true' : 'false',
      pspReference: psp,
      originalReference: payment.pspReference,
      merchantReference: reference ?? payment.reference,
      amount,
      ...(reason ? { reason } : {}),
    });
    return {
      status: 201,
      body: {
        merchantAccount: payment.merchantAccount,
        paymentPspReference: payment.pspReference,
        pspReference: psp,
        reference,
        status: 'received',
        ...(eventCode === 'CANCELLATION' ? {} : { amount }),
      },
    };
  }

  private notify(payment: SimPayment, item: Omit<NotificationItem, 'merchantAccountCode' | 'eventDate' | 'paymentMethod'>): void {
    this.notifier.send({
      ...item,
      merchantAccountCode: payment.merchantAccount,
      eventDate: new Date(this.now()).toISOString(),
      paymentMethod: payment.card_brand,
    });
  }
}
