/**
 * The `stripe` connector: Payrail uses Stripe's API (or any server speaking it, another Payrail
 * included) as its card processor. Each port call is one PaymentIntent, SetupIntent or Refund call
 * under a processor-side Idempotency-Key derived from the Payrail id it names, so a resend after a lost
 * answer is answered from Stripe's record and never charges twice. The wire mappings are pure
 * (domain/stripe-wire.ts); this file only sequences calls. docs/connectors.md#the-stripe-connector.
 */
import type { Clock } from '../../../kernel/clock.js';
import type {
  AttemptStatus,
  AuthorizeRequest,
  AuthorizeResult,
  CaptureResult,
  Connector,
  NotificationVerifier,
  RefundResult,
  RefundStatus,
  VerifiedNotifications,
  VerifyRequest,
} from '../domain/port.js';
import { ProcessorOutcomeUnknown, ProcessorUnreachable } from '../domain/port.js';
import type { StripeErrorBody, StripePaymentIntent, StripeRefund, StripeSetupIntent, FormParams } from '../domain/stripe-wire.js';
import * as Wire from '../domain/stripe-wire.js';
import { classifyFailure, describeFailure } from '../domain/stripe-failures.js';
import { verifyStripeNotification } from '../domain/stripe-notifications.js';
import type { StripeAnswer } from './stripe-transport.js';
import { StripeTransport } from './stripe-transport.js';
import type { Lookup } from './stripe-lookup.js';
import { StripeLookup, okBody } from './stripe-lookup.js';

export interface StripeConnectorOptions {
  secret_key: string;
  base_url: string;
  webhook_secret: string;
  clock: Clock;
  timeout_ms: number;
  /**
   * How long after an attempt's id was made a call under it may still be running at Stripe: before
   * that, "no such object" from an inquiry is `unknown`, not `found: false`. At least the timeout.
   */
  in_flight_ms?: number;
}

/** Stripe's own request timeout is 80 s (its SDKs' default): past that, no call under an id is still running. */
const DEFAULT_IN_FLIGHT_MS = 10 * 60 * 1000;
const CANCEL_UNAUTHENTICATED: AuthorizeResult = Wire.declineOf({
  code: 'card_declined',
  decline_code: 'authentication_required',
  message: 'The payment could not be authenticated: 3-D Secure was not completed with the processor.',
});

/** A Payrail attempt made by `verify` (a SetupIntent at the processor) rather than `authorize`. */
function isVerification(attempt_id: string): boolean {
  return attempt_id.startsWith('setatt_');
}

/** A Stripe answer that is not a success: a card decline as a result, the rest thrown as the port's errors. */
function unsuccessful(what: string, answer: StripeAnswer): { card_error: StripeErrorBody } {
  const failure = classifyFailure(answer.status, answer.body);
  if (failure.kind === 'card_error') return { card_error: failure.body };
  if (failure.kind === 'refused') throw new ProcessorUnreachable(`${what}: Stripe refused it, nothing was done (${describeFailure(failure)})`);
  throw new ProcessorOutcomeUnknown(`${what}: ${describeFailure(failure)}`);
}

export class StripeConnector implements Connector, NotificationVerifier {
  readonly name = 'stripe';
  private readonly transport: StripeTransport;
  private readonly lookup: StripeLookup;

  constructor(private readonly options: StripeConnectorOptions) {
    this.transport = new StripeTransport({ base_url: options.base_url, secret_key: options.secret_key, timeout_ms: options.timeout_ms });
    const in_flight_ms = Math.max(options.in_flight_ms ?? DEFAULT_IN_FLIGHT_MS, options.timeout_ms);
    this.lookup = new StripeLookup(this.transport, options.clock, in_flight_ms);
  }

  async authorize(request: AuthorizeRequest): Promise<AuthorizeResult> {
    const key = Wire.idempotencyKey('authorize', request.attempt_id);
    const answer = await this.transport.post('/v1/payment_intents', Wire.authorizeParams(request), key);
    if (answer.status === 200) return this.intentAnswer(request.attempt_id, okBody<StripePaymentIntent>('authorize', answer));
    const { card_error } = unsuccessful('authorize', answer);
    const intent = card_error.error.payment_intent;
    if (intent) this.lookup.remember(request.attempt_id, intent.id);
    return Wire.declineOf(card_error.error);
  }

  async verify(request: VerifyRequest): Promise<AuthorizeResult> {
    const answer = await this.transport.post('/v1/setup_intents', Wire.verifyParams(request), Wire.idempotencyKey('verify', request.attempt_id));
    if (answer.status === 200) {
      const setup = okBody<StripeSetupIntent>('verify', answer);
      this.lookup.remember(request.attempt_id, setup.id);
      return Wire.setupResult(setup) ?? this.stillDeciding('verify');
    }
    const { card_error } = unsuccessful('verify', answer);
    const setup = card_error.error.setup_intent;
    if (setup) this.lookup.remember(request.attempt_id, setup.id);
    return Wire.declineOf(card_error.error);
  }

  /**
   * Stripe's 3-D Secure happens on Stripe's own page (the PaymentIntent's next_action), which Payrail
   * does not relay yet: an attempt still waiting for it there is canceled and declined, one the
   * customer completed there is answered from the processor's record.
   */
  async completeAuthentication(attempt_id: string, _authenticated: boolean): Promise<AuthorizeResult> {
    const status = await this.attemptStatus(attempt_id);
    if (status.found !== true) throw new ProcessorOutcomeUnknown(`complete authentication: the processor's record of ${attempt_id} is not found`);
    if (status.result.outcome !== 'requires_action') return status.result;
    await this.cancel(attempt_id);
    return CANCEL_UNAUTHENTICATED;
  }

  async capture(attempt_id: string, amount: number): Promise<CaptureResult> {
    const intent_id = await this.processorIntent(attempt_id);
    if (intent_id === null) return { outcome: 'failed', message: 'The processor has no payment for this attempt.' };
    const answer = await this.transport.post(
      `/v1/payment_intents/${intent_id}/capture`,
      Wire.captureParams(amount),
      Wire.idempotencyKey('capture', attempt_id),
    );
    if (answer.status === 200) return Wire.captureResult(okBody<StripePaymentIntent>('capture', answer));
    return { outcome: 'failed', message: `The processor refused the capture (${this.refusal('capture', answer)}).` };
  }

  async void(attempt_id: string): Promise<void> {
    await this.cancel(attempt_id);
  }

  async refund(refund_id: string, attempt_id: string, amount: number): Promise<RefundResult> {
    const intent_id = await this.processorIntent(attempt_id);
    if (intent_id === null) return { outcome: 'failed', message: 'The processor has no payment for this attempt.' };
    const params = Wire.refundParams(refund_id, attempt_id, intent_id, amount);
    const answer = await this.transport.post('/v1/refunds', params, Wire.idempotencyKey('refund', refund_id));
    if (answer.status !== 200) return { outcome: 'failed', message: `The processor refused the refund (${this.refusal('refund', answer)}).` };
    const refund = okBody<StripeRefund>('refund', answer);
    this.lookup.remember(refund_id, refund.id);
    return Wire.refundResult(refund);
  }

  async attemptStatus(attempt_id: string): Promise<AttemptStatus> {
    if (isVerification(attempt_id)) {
      const found = await this.lookup.find('/v1/setup_intents', Wire.ATTEMPT_METADATA_KEY, attempt_id, null);
      if (found.found !== true) return { found: found.found };
      return Wire.setupStatus(okBody<StripeSetupIntent>('setup intent', await this.transport.get(`/v1/setup_intents/${found.id}`)));
    }
    const found = await this.findIntent(attempt_id);
    if (found.found !== true) return { found: found.found };
    return Wire.intentStatus(await this.readIntent(found.id));
  }

  async refundStatus(refund_id: string): Promise<RefundStatus> {
    const found = await this.lookup.find('/v1/refunds', Wire.REFUND_METADATA_KEY, refund_id, null);
    // RefundStatus has no "cannot tell yet": an uncertain answer is thrown, and the caller asks again later.
    if (found.found === 'unknown') throw new ProcessorOutcomeUnknown(`refund status: the processor's record of ${refund_id} cannot be told yet`);
    if (found.found === false) return { found: false };
    const refund = okBody<StripeRefund>('refund', await this.transport.get(`/v1/refunds/${found.id}`));
    return { found: true, ...Wire.refundResult(refund) };
  }

  verifyNotification(headers: Record<string, string | string[] | undefined>, raw_body: Buffer): VerifiedNotifications {
    const header = headers['stripe-signature'];
    const signature = Array.isArray(header) ? header[0] : header;
    return verifyStripeNotification(signature, raw_body, this.options.webhook_secret, Math.floor(this.options.clock.now_ms() / 1000));
  }

  private intentAnswer(attempt_id: string, intent: StripePaymentIntent): AuthorizeResult {
    this.lookup.remember(attempt_id, intent.id);
    return Wire.intentResult(intent) ?? this.stillDeciding('authorize');
  }

  private stillDeciding(what: string): never {
    throw new ProcessorOutcomeUnknown(`${what}: Stripe is still processing the payment`);
  }

  /** Why a capture or refund was refused; a lost or uncertain answer is thrown (it may have been done). */
  private refusal(what: string, answer: StripeAnswer): string {
    const failure = classifyFailure(answer.status, answer.body);
    if (failure.kind === 'unknown') throw new ProcessorOutcomeUnknown(`${what}: ${describeFailure(failure)}`);
    return describeFailure(failure);
  }

  private findIntent(attempt_id: string): Promise<Lookup> {
    return this.lookup.find('/v1/payment_intents', Wire.ATTEMPT_METADATA_KEY, attempt_id, '/v1/payment_intents/search');
  }

  /** The processor's PaymentIntent id for an attempt; null only when certainly none exists. */
  private async processorIntent(attempt_id: string): Promise<string | null> {
    const found = await this.findIntent(attempt_id);
    if (found.found === 'unknown') throw new ProcessorOutcomeUnknown(`the processor's payment for ${attempt_id} cannot be found yet`);
    return found.found === true ? found.id : null;
  }

  private async readIntent(intent_id: string): Promise<StripePaymentIntent> {
    const query: FormParams = [['expand[0]', 'latest_charge']];
    return okBody<StripePaymentIntent>('payment intent', await this.transport.get(`/v1/payment_intents/${intent_id}`, query));
  }

  /** Cancels an attempt's PaymentIntent (or SetupIntent); one already canceled counts as done. */
  private async cancel(attempt_id: string): Promise<void> {
    const setup = isVerification(attempt_id);
    const found = setup ? await this.lookup.find('/v1/setup_intents', Wire.ATTEMPT_METADATA_KEY, attempt_id, null) : await this.findIntent(attempt_id);
    if (found.found === 'unknown') throw new ProcessorOutcomeUnknown(`void: the processor's payment for ${attempt_id} cannot be found yet`);
    if (found.found === false) return;
    const path = `/v1/${setup ? 'setup_intents' : 'payment_intents'}/${found.id}`;
    const answer = await this.transport.post(`${path}/cancel`, [], Wire.idempotencyKey('cancel', attempt_id));
    if (answer.status === 200) return;
    const reason = this.refusal('void', answer);
    const current = okBody<{ status: string }>('void', await this.transport.get(path));
    if (current.status !== 'canceled') throw new Error(`void of ${attempt_id}: the processor refused it (${reason}) and it is ${current.status}`);
  }
}
