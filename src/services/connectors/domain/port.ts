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
}

/** A card verification (a zero-amount authorization): a SetupIntent checks the card and moves no money. */
export interface VerifyRequest {
  attempt_id: string;
  merchant_id: string;
  currency: string;
  card: CardForProcessor;
}

export type DeclineCode = 'card_declined' | 'expired_card' | 'incorrect_cvc' | 'processing_error' | 'authentication_required';

export type AuthorizeResult =
  | { outcome: 'authorized'; captured: boolean; cvc_check: 'pass' | 'unchecked' }
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
   * The processor's settlement report for one batch date (a UTC day, `YYYY-MM-DD`): what it settled
   * into Payrail's bank account for that day, as Adyen's Settlement details report CSV
   * (docs/settlement.md), chunk by chunk; null when it settled nothing that day. Reading it changes
   * nothing, so it may be fetched again. Optional: a processor without it is not settled automatically.
   */
  settlementReport?(batch_date: string): Promise<AsyncIterable<string> | null>;
}
