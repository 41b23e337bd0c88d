/**
 * The one interface every card processor adapter implements. Every call carries Payrail's attempt id
 * (the charge id), so a repeated call is answered from the processor's record instead of charging twice.
 * The card number passes through here in memory only; connectors never log or store it.
 */
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
 * `immediate`: this processor makes the attempt's captured funds available to the merchant at once,
 * instead of after the settlement delay (Stripe's test card 4000000000000077 in the sandbox). A fact
 * about the money, kept on the charge and handed to the ledger; absent means the usual delay.
 */
export type FundsAvailability = 'immediate';

export type AuthorizeResult =
  | { outcome: 'authorized'; captured: boolean; cvc_check: 'pass' | 'unchecked'; funds?: FundsAvailability }
  | { outcome: 'declined'; code: DeclineCode; decline_code: string; message: string; cvc_check: 'pass' | 'fail' | 'unchecked' }
  | { outcome: 'requires_action' };

export type CaptureResult = { outcome: 'captured'; amount_captured: number } | { outcome: 'failed'; message: string };
export type RefundResult = { outcome: 'succeeded' } | { outcome: 'failed'; message: string };

/**
 * What the processor's own record says of an attempt: how an attempt whose outcome Payrail does not
 * know (a timeout, a crash, a lost response) is settled, instead of authorizing again.
 */
export type AttemptStatus = { found: false } | { found: true; result: AuthorizeResult; amount_captured: number; amount_refunded: number; voided: boolean };

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
  authorize(request: AuthorizeRequest): Promise<AuthorizeResult>;
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
