/**
 * An in-memory processor that behaves like Stripe test mode: the card number picks the outcome, so
 * Stripe's documented test cards work unchanged. It keeps a record per attempt like a real processor,
 * which is what makes retried calls safe: a repeated authorize, capture or refund returns the first
 * answer instead of moving money twice. Records hold amounts and outcomes only, never card data.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { assert, AssertionError } from '../../kernel/assert.js';
import { luhnValid } from '../../kernel/luhn.js';
import type { AttemptStatus, AuthorizeRequest, AuthorizeResult, CaptureResult, Connector, DeclineCode, RefundResult, RefundStatus } from './port.js';

export interface SandboxOptions {
  /** Simulated network and processing time added to every call. */
  latency_ms?: number;
  /** Attempts and refunds remembered each; the oldest are forgotten first. */
  max_records?: number;
}

interface Decline {
  code: DeclineCode;
  decline_code: string;
  message: string;
}

type CvcCheck = 'pass' | 'fail' | 'unchecked';

/** Deliberately holds no card data: only what later calls on the attempt need. */
interface AttemptRecord {
  amount: number;
  capture_requested: boolean;
  cvc_check: CvcCheck;
  /** What a repeated authorize returns. */
  result: AuthorizeResult;
  amount_captured: number;
  amount_refunded: number;
  voided: boolean;
}

const DEFAULT_LATENCY_MS = 0;
const DEFAULT_MAX_RECORDS = 100_000;

const CARD_DECLINED_MESSAGE = 'Your card was declined.';

/** Stripe's declining test cards. Lost and stolen cards get the generic message, as Stripe does. */
const DECLINES: ReadonlyMap<string, Decline> = new Map([
  ['4000000000000002', { code: 'card_declined', decline_code: 'generic_decline', message: CARD_DECLINED_MESSAGE }],
  ['4000000000009995', { code: 'card_declined', decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.' }],
  ['4000000000009987', { code: 'card_declined', decline_code: 'lost_card', message: CARD_DECLINED_MESSAGE }],
  ['4000000000009979', { code: 'card_declined', decline_code: 'stolen_card', message: CARD_DECLINED_MESSAGE }],
  ['4000000000000069', { code: 'expired_card', decline_code: 'expired_card', message: 'Your card has expired.' }],
  ['4000000000000127', { code: 'incorrect_cvc', decline_code: 'incorrect_cvc', message: "Your card's security code is incorrect." }],
  [
    '4000000000000119',
    { code: 'processing_error', decline_code: 'processing_error', message: 'An error occurred while processing your card. Try again in a little bit.' },
  ],
] satisfies Array<[string, Decline]>);

const INCORRECT_CVC_CARD = '4000000000000127';
const THREE_D_SECURE_CARD = '4000002760003184';

/** The vault rejects bad numbers first; this only guards direct callers. */
const INCORRECT_NUMBER: Decline = { code: 'card_declined', decline_code: 'incorrect_number', message: 'Your card number is incorrect.' };
const AUTHENTICATION_FAILED: Decline = {
  code: 'card_declined',
  decline_code: 'authentication_required',
  message: 'Your card was declined. This transaction requires authentication.',
};

export class SandboxProcessor implements Connector {
  readonly name = 'sandbox';
  private readonly latency_ms: number;
  private readonly max_records: number;
  private readonly attempts = new Map<string, AttemptRecord>();
  private readonly refunds = new Map<string, RefundResult>();
  private charges_made = 0;

  constructor(options: SandboxOptions = {}) {
    this.latency_ms = options.latency_ms ?? DEFAULT_LATENCY_MS;
    this.max_records = options.max_records ?? DEFAULT_MAX_RECORDS;
    assert(Number.isInteger(this.latency_ms) && this.latency_ms >= 0, 'latency_ms must be a non-negative integer');
    assert(Number.isInteger(this.max_records) && this.max_records > 0, 'max_records must be a positive integer');
  }

  /** Authorizations actually decided; a repeated attempt id does not count. */
  authorizationCount(): number {
    return this.charges_made;
  }

  async authorize(request: AuthorizeRequest): Promise<AuthorizeResult> {
    await this.simulateLatency();
    // Looked up after the delay, so concurrent retries of one attempt still see a single record.
    const existing = this.attempts.get(request.attempt_id);
    if (existing) return existing.result;
    this.charges_made += 1;
    const record = decide(request);
    remember(this.attempts, request.attempt_id, record, this.max_records);
    return record.result;
  }

  async completeAuthentication(attempt_id: string, authenticated: boolean): Promise<AuthorizeResult> {
    await this.simulateLatency();
    const record = this.recordOf(attempt_id);
    if (record.result.outcome !== 'requires_action') return record.result;
    assert(!record.voided, `attempt ${attempt_id} was voided before authentication finished`);
    record.result = authenticated ? approve(record) : declined(AUTHENTICATION_FAILED, record.cvc_check);
    return record.result;
  }

  async capture(attempt_id: string, amount: number): Promise<CaptureResult> {
    await this.simulateLatency();
    const record = this.attempts.get(attempt_id);
    if (!record || record.result.outcome !== 'authorized') return captureFailed('No authorization exists for this attempt.');
    // A capture retried after it succeeded returns the first answer and moves no more money.
    if (record.capture_requested) return captureFailed('The charge was captured when it was authorized.');
    if (record.amount_captured > 0) return { outcome: 'captured', amount_captured: record.amount_captured };
    if (record.voided) return captureFailed('The authorization was voided.');
    if (!Number.isInteger(amount) || amount < 1 || amount > record.amount) {
      return captureFailed(`The capture amount must be between 1 and the authorized amount (${record.amount}).`);
    }
    record.amount_captured = amount;
    return { outcome: 'captured', amount_captured: amount };
  }

  /** Releases an uncaptured authorization; a second void is a no-op. */
  async void(attempt_id: string): Promise<void> {
    await this.simulateLatency();
    const record = this.attempts.get(attempt_id);
    // Nothing to release: the authorize call never reached us or was declined.
    if (!record || record.result.outcome === 'declined') return;
    if (record.amount_captured > 0) throw new AssertionError(`attempt ${attempt_id} is captured; refund it instead`);
    record.voided = true;
  }

  async refund(refund_id: string, attempt_id: string, amount: number): Promise<RefundResult> {
    await this.simulateLatency();
    const earlier = this.refunds.get(refund_id);
    if (earlier) return earlier;
    const result = this.applyRefund(attempt_id, amount);
    remember(this.refunds, refund_id, result, this.max_records);
    return result;
  }

  async attemptStatus(attempt_id: string): Promise<AttemptStatus> {
    const record = this.attempts.get(attempt_id);
    if (!record) return { found: false };
    return { found: true, result: record.result, amount_captured: record.amount_captured, amount_refunded: record.amount_refunded, voided: record.voided };
  }

  async refundStatus(refund_id: string): Promise<RefundStatus> {
    const result = this.refunds.get(refund_id);
    return result ? { found: true, ...result } : { found: false };
  }

  private applyRefund(attempt_id: string, amount: number): RefundResult {
    const record = this.attempts.get(attempt_id);
    if (!record || record.amount_captured === 0) return refundFailed('The charge has not been captured.');
    const refundable = record.amount_captured - record.amount_refunded;
    if (!Number.isInteger(amount) || amount < 1 || amount > refundable) {
      return refundFailed(`The refund amount must be between 1 and the unrefunded amount (${refundable}).`);
    }
    record.amount_refunded += amount;
    return { outcome: 'succeeded' };
  }

  private recordOf(attempt_id: string): AttemptRecord {
    const record = this.attempts.get(attempt_id);
    assert(record !== undefined, `no sandbox attempt ${attempt_id}`);
    return record;
  }

  private async simulateLatency(): Promise<void> {
    if (this.latency_ms > 0) await sleep(this.latency_ms);
  }
}

/** The only place the card number is read; nothing derived from it is kept beyond the outcome. */
function decide(request: AuthorizeRequest): AttemptRecord {
  const { number, cvc } = request.card;
  const cvc_check: CvcCheck = cvc === undefined ? 'unchecked' : number === INCORRECT_CVC_CARD ? 'fail' : 'pass';
  const record: AttemptRecord = {
    amount: request.amount,
    capture_requested: request.capture,
    cvc_check,
    result: { outcome: 'requires_action' },
    amount_captured: 0,
    amount_refunded: 0,
    voided: false,
  };
  const decline = luhnValid(number) ? DECLINES.get(number) : INCORRECT_NUMBER;
  if (decline) record.result = declined(decline, cvc_check);
  else if (number !== THREE_D_SECURE_CARD) record.result = approve(record);
  return record;
}

/** Approves the attempt, capturing it at once when the request asked for automatic capture. */
function approve(record: AttemptRecord): AuthorizeResult {
  assert(record.cvc_check !== 'fail', 'an approved card cannot have failed its cvc check');
  if (record.capture_requested) record.amount_captured = record.amount;
  return { outcome: 'authorized', captured: record.capture_requested, cvc_check: record.cvc_check };
}

function declined(decline: Decline, cvc_check: CvcCheck): AuthorizeResult {
  return { outcome: 'declined', ...decline, cvc_check };
}

function captureFailed(message: string): CaptureResult {
  return { outcome: 'failed', message };
}

function refundFailed(message: string): RefundResult {
  return { outcome: 'failed', message };
}

/** Inserts into a Map used as a bounded log, evicting in insertion order. */
function remember<V>(records: Map<string, V>, key: string, value: V, max_records: number): void {
  records.set(key, value);
  while (records.size > max_records) {
    const oldest = records.keys().next();
    if (oldest.done) return;
    records.delete(oldest.value);
  }
}
