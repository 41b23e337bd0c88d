/**
 * The one interface every card processor adapter implements. Every call carries Payrail's attempt id
 * (the charge id), so a repeated call is answered from the processor's record instead of charging twice.
 * The card number passes through here in memory only; connectors never log or store it.
 */
import type { SqlFragment } from '../../../platform/db.js';

export interface CardForProcessor {
  number: string;
  exp_month: number;
  exp_year: number;
  /** Checked by the processor, never stored. Absent for saved cards used again. */
  cvc: string | undefined;
}

export interface AuthorizeRequest {
  attempt_id: string;
  merchant_id: string;
  amount: number;
  currency: string;
  card: CardForProcessor;
  /** True for automatic capture: authorize and capture in one call. */
  capture: boolean;
  /** Merchant-initiated: the customer is not there, so a card that asks for 3-D Secure declines instead. */
  off_session?: boolean | undefined;
  /**
   * The processor's id of the customer-initiated attempt that set this card up for later payments (a
   * stored credential): an issuer that asks for authentication unless the card is set up accepts it.
   */
  initial_attempt_id?: string | null | undefined;
  /** A Radar rule asked for 3-D Secure: the issuer asks the customer to authenticate, whatever the card. */
  three_d_secure?: boolean | undefined;
  /** What routing rules match on; absent where no routing is done (a status-inquiry resend). */
  facts?: PaymentFacts | undefined;
}

/** A card verification (a zero-amount authorization): a SetupIntent checks the card and moves no money. */
export interface VerifyRequest {
  attempt_id: string;
  merchant_id: string;
  currency: string;
  card: CardForProcessor;
}

export type DeclineCode = 'card_declined' | 'expired_card' | 'incorrect_cvc' | 'processing_error' | 'authentication_required';

/**
 * Routing facts about a payment that the processor call itself does not carry: what per-merchant
 * routing rules match on. The card's BIN is the first six digits of `card.number`.
 */
export interface PaymentFacts {
  /** Stripe's brand names: `visa`, `mastercard`, `amex`, … */
  brand: string;
  /** ISO 3166-1 alpha-2 country of the card's issuer, when known. */
  country: string | null;
  metadata: Readonly<Record<string, string>>;
}

/**
 * `immediate`: this processor makes the attempt's captured funds available to the merchant at once,
 * instead of after the settlement delay (Stripe's test card 4000000000000077 in the sandbox). A fact
 * about the money, kept on the charge and handed to the ledger; absent means the usual delay.
 */
export type FundsAvailability = 'immediate';

export type AuthorizeResult = (
  | { outcome: 'authorized'; captured: boolean; cvc_check: 'pass' | 'unchecked'; funds?: FundsAvailability }
  | {
      outcome: 'declined';
      code: DeclineCode;
      decline_code: string;
      message: string;
      cvc_check: 'pass' | 'fail' | 'unchecked';
      /** The processor's own code for the refusal (Adyen's refusalReasonCode, …), kept for the merchant. */
      raw_code?: string | undefined;
    }
  | { outcome: 'requires_action' }
) & {
  /** Set by the router (never by a processor): every try this attempt took, shown on the charge. */
  routing?: RoutingTrace | undefined;
};

/** What one try of an attempt did: which connector account, the id it sent, how it ended and why it was chosen. */
export interface RoutingTry {
  connector_account: string;
  /** The connector's kind (`sandbox`, `adyen`, `stripe`): a bounded set, used as the metrics label. */
  connector: string;
  /** The id this try sent to the processor: the attempt id for the first try, `<attempt id>_<n>` after. */
  reference: string;
  outcome: 'pending' | 'authorized' | 'requires_action' | 'declined' | 'unreachable' | 'unknown';
  latency_ms: number | null;
  /** The decline code, or the processor's own code when it gave one. */
  raw_code: string | null;
  reason: string;
}

export interface RoutingTrace {
  tries: RoutingTry[];
}

/**
 * Thrown by a connector's transport when the call certainly never reached the processor (connection
 * refused, DNS failure, a circuit breaker open): no money can have moved, so another connector may try.
 */
export class ProcessorUnreachable extends Error {
  override readonly name = 'ProcessorUnreachable';
}

/**
 * Thrown when the call may have reached the processor but no answer came back (a timeout after
 * sending, a dropped connection, a 5xx after the request was accepted): the outcome is unknown and is
 * settled only by a status inquiry or the processor's notification, never by calling another processor.
 */
export class ProcessorOutcomeUnknown extends Error {
  override readonly name = 'ProcessorOutcomeUnknown';
}

export type CaptureResult = { outcome: 'captured'; amount_captured: number } | { outcome: 'failed'; message: string };
export type RefundResult = { outcome: 'succeeded' } | { outcome: 'failed'; message: string };

/**
 * What the processor's own record says of an attempt: how an attempt whose outcome Payrail does not
 * know (a timeout, a crash, a lost response) is settled, instead of authorizing again.
 */
export type AttemptStatus =
  | { found: false }
  /** The processor cannot say yet (an acquirer that reports only by notification): ask again later; never treat it as `found: false`. */
  | { found: 'unknown' }
  | { found: true; result: AuthorizeResult; amount_captured: number; amount_refunded: number; voided: boolean };

export type RefundStatus = { found: false } | ({ found: true } & RefundResult);

/**
 * Something the processor tells Payrail after the fact, not as the answer to a call: a cardholder
 * disputed a captured attempt (a chargeback, or an inquiry that may become one). Each has the
 * processor's own id, so the same notification delivered twice is recognised as one. More types come
 * with real processors' signed notifications.
 */
export interface NotificationBase {
  /** The processor's id of this notification: unique per processor, the same on every delivery. */
  id: string;
  processor: string;
  /** Payrail's attempt (charge) id the notification is about, and its merchant. */
  attempt_id: string;
  merchant_id: string;
  created_ms: number;
}

/** A cardholder disputed a captured attempt: an amount in its currency, Stripe's reason code, and whether it is only an inquiry (no money moves yet). */
export interface DisputeOpened extends NotificationBase {
  type: 'dispute.opened';
  dispute: { amount: number; currency: string; reason: string; inquiry: boolean };
}

/** The issuer reports fraud on a captured attempt ahead of any chargeback: an early fraud warning (Stripe's fraud types). */
export interface FraudWarningIssued extends NotificationBase {
  type: 'fraud_warning.issued';
  fraud_warning: { fraud_type: string };
}

export type ProcessorNotification = DisputeOpened | FraudWarningIssued;

/** Receives a notification; resolving acknowledges it. It must be idempotent: delivery is at least once. */
export type NotificationHandler = (notification: ProcessorNotification) => Promise<void>;

export interface Connector {
  readonly name: string;
  /** With a plan from `planTry`, whose first try the attempt's own write recorded. */
  authorize(request: AuthorizeRequest, plan?: TryPlan): Promise<AuthorizeResult>;
  /**
   * A connector that journals its tries (the router) plans a new attempt's first try before the attempt
   * is recorded, so the attempt's statement records the try too and no commit of its own is needed.
   * Absent on connectors that keep no journal; null when no account can take the attempt.
   */
  planTry?(request: AuthorizeRequest): Promise<TryPlan | null>;
  /**
   * Verifies a card without moving money; answers like an authorization (`authorized` with nothing
   * captured, `declined`, or `requires_action`). A repeat of an attempt id gets the first answer, and
   * `completeAuthentication` and `attemptStatus` work on it as on an authorization.
   */
  verify(request: VerifyRequest): Promise<AuthorizeResult>;
  /** Completes a `requires_action` authorization after the customer's 3-D Secure step. */
  completeAuthentication(attempt_id: string, authenticated: boolean): Promise<AuthorizeResult>;
  capture(attempt_id: string, amount: number): Promise<CaptureResult>;
  void(attempt_id: string): Promise<void>;
  refund(refund_id: string, attempt_id: string, amount: number): Promise<RefundResult>;
  /** Status inquiry: the processor's record of an attempt, changing nothing. */
  attemptStatus(attempt_id: string): Promise<AttemptStatus>;
  /** Status inquiry for a refund, changing nothing. */
  refundStatus(refund_id: string): Promise<RefundStatus>;
  /**
   * Hands notifications not yet acknowledged to `handle`, oldest first, at most `limit`, and
   * acknowledges each one `handle` resolves for; one it rejects is handed again on a later call.
   * Returns how many were acknowledged. Absent on processors that send none.
   */
  deliverNotifications?(handle: NotificationHandler, limit: number): Promise<number>;
  /**
   * The processor's settlement report for one batch date (a UTC day, `YYYY-MM-DD`): what it settled
   * into Payrail's bank account for that day, as Adyen's Settlement details report CSV
   * (docs/settlement.md), chunk by chunk; null when it settled nothing that day. Reading it changes
   * nothing, so it may be fetched again. Optional: a processor without it is not settled automatically.
   */
  settlementReport?(batch_date: string): Promise<AsyncIterable<string> | null>;
}

/**
 * A new attempt's first try, planned before the attempt is recorded. `record` is written with the
 * attempt (durable before the processor hears of the try); once `authorize` has answered, `ended`
 * holds how the try ended, to write with the answer, or null when the connector wrote it itself.
 */
export interface TryPlan {
  readonly record: SqlFragment;
  readonly ended: SqlFragment | null;
}

/**
 * One thing a processor's signed notification (webhook) says, once its signature is verified. `reference`
 * is the id the connector was called with (Payrail's attempt id, or the per-try id the router sent), so
 * the router can find the attempt; authorization events settle an attempt whose outcome was unknown.
 */
export type ProcessorEvent =
  | { kind: 'authorization'; reference: string; processor_reference: string; result: AuthorizeResult }
  | { kind: 'capture' | 'refund' | 'cancel'; reference: string; success: boolean; processor_reference: string }
  | ProcessorNotification;

/** What the processor expects back once its notification is accepted (Adyen wants `[accepted]`). */
export interface NotificationAck {
  status: number;
  content_type: string;
  body: string;
}

export type VerifiedNotifications = { ok: false; reason: string } | { ok: true; ack: NotificationAck; events: ProcessorEvent[] };

/**
 * Implemented by a connector whose processor pushes signed notifications over HTTP: checks the
 * processor's own signature over the raw body (never a parsed-and-reserialised one) and decodes the
 * events. Pure of side effects: the caller stores and acknowledges. `reason` never carries a secret.
 */
export interface NotificationVerifier {
  verifyNotification(headers: Record<string, string | string[] | undefined>, raw_body: Buffer): VerifiedNotifications;
}
