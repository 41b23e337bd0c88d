/**
 * The router's pure rules: which answers let an attempt move on to the next connector account, the id
 * each try sends, and what the processors' records of all its tries say of the attempt as a whole.
 */
import { assert } from '../../../kernel/assert.js';
import type { AttemptStatus, AuthorizeResult, RoutingTry } from './port.js';

/** Tries per attempt, first included: a bound on the work and the processors one payment may touch. */
export const MAX_TRIES = 3;

/**
 * Soft declines: the issuer or processor failed to decide, and said so, so no money moved and another
 * connector may try (Stripe's `processing_error`, `try_again_later`, `issuer_not_available`). A hard
 * decline (`insufficient_funds`, `stolen_card`, `do_not_honor`, …) is the cardholder's bank's answer:
 * asking another processor would only ask the same bank again.
 */
export const SOFT_DECLINE_CODES: ReadonlySet<string> = new Set(['processing_error', 'try_again_later', 'issuer_not_available']);

export function isSoftDecline(result: AuthorizeResult): boolean {
  return result.outcome === 'declined' && (SOFT_DECLINE_CODES.has(result.decline_code) || result.code === 'processing_error');
}

/** The id try `try_number` sends: the attempt id itself first, so a single-connector attempt is unchanged. */
export function referenceFor(attempt_id: string, try_number: number): string {
  assert(Number.isInteger(try_number) && try_number >= 1 && try_number <= MAX_TRIES, `try number ${try_number} out of range`);
  return try_number === 1 ? attempt_id : `${attempt_id}_${try_number}`;
}

const TRY_SUFFIX = /^([a-z]+_[0-9A-Za-z]+)_([2-9])$/;

/** The attempt id a processor's reference names (a notification about `ch_…_2` is about `ch_…`). */
export function attemptIdOf(reference: string): string {
  const matched = TRY_SUFFIX.exec(reference);
  return matched?.[1] ?? reference;
}

/** The code a try shows: the processor's own when it gave one, Stripe's decline code otherwise. */
export function rawCodeOf(result: AuthorizeResult): string | null {
  if (result.outcome !== 'declined') return null;
  return result.raw_code ?? result.decline_code;
}

/** What a try's processor said when asked (a try never sent anywhere is not asked: `skipped`). */
export type TryInquiry = { try: RoutingTry; status: AttemptStatus | 'skipped' };

/**
 * The attempt's status from its tries' inquiries, in try order. Tries cascade only after a confirmed
 * failure, so at most one try can hold money: an authorization (or a 3-D Secure wait) anywhere wins.
 * Otherwise a processor that cannot tell yet keeps the whole attempt open; then the latest decline
 * stands; and only when no processor heard of any try was the attempt never made.
 */
export function combineInquiries(inquiries: readonly TryInquiry[]): AttemptStatus {
  const found = inquiries.flatMap(({ status }) => (status !== 'skipped' && status.found === true ? [status] : []));
  const holding = found.find((status) => status.result.outcome !== 'declined');
  if (holding) return holding;
  if (inquiries.some(({ status }) => status !== 'skipped' && status.found === 'unknown')) return { found: 'unknown' };
  return found.at(-1) ?? { found: false };
}
