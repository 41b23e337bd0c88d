import { createHash } from 'node:crypto';

/**
 * Stripe Connect's destination charge terms, as a PaymentIntent carries them and copies to each of its
 * charges: where the money goes once captured (`transfer_data`), what the platform keeps
 * (`application_fee_amount`), and the group its transfers join. Absent on payments without Connect, so
 * they cost nothing there; the connect-charges service acts on them at capture.
 */
export interface TransferData {
  destination: string;
  /** The amount to transfer; null transfers the captured amount less the application fee. */
  amount: number | null;
}

export interface DestinationTerms {
  transfer_data?: TransferData | null;
  application_fee_amount?: number | null;
  transfer_group?: string | null;
}

/** Only the terms that are set: a payment without Connect stores and copies nothing. */
export function destinationTermsOf(source: DestinationTerms): DestinationTerms {
  return {
    ...(source.transfer_data ? { transfer_data: source.transfer_data } : {}),
    ...(typeof source.application_fee_amount === 'number' ? { application_fee_amount: source.application_fee_amount } : {}),
    ...(source.transfer_group ? { transfer_group: source.transfer_group } : {}),
  };
}

/**
 * How a captured destination charge splits: the application fee the platform keeps, and what moves to
 * the destination (`transfer_data[amount]`, or the rest after the fee). A partial capture caps both at
 * what was captured.
 */
export function destinationSplit(charge: DestinationTerms & { amount_captured: number }): { transfer: number; application_fee: number } {
  const captured = charge.amount_captured;
  const application_fee = Math.min(charge.application_fee_amount ?? 0, captured);
  const requested = charge.transfer_data?.amount ?? null;
  return { transfer: requested === null ? captured - application_fee : Math.min(requested, captured), application_fee };
}

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_CHARS = 10;
const HASH_CHARS = 16;

/**
 * The id of an object a charge's capture makes (its transfer `tr_`, its application fee `fee_`), or a
 * refund makes (its transfer reversal `trr_`, its fee refund `fr_`): the source id's time, then a hash
 * of the kind and the source id. Derived, not drawn, so the charge or refund shows it at once and every
 * retry of the effects finds the same object.
 */
export function derivedObjectId(prefix: 'tr' | 'fee' | 'trr' | 'fr', source_id: string): string {
  const body = source_id.slice(source_id.indexOf('_') + 1);
  const digest = createHash('sha256').update(`${prefix}:${source_id}`).digest();
  let hash = '';
  for (let i = 0; i < HASH_CHARS; i++) hash += ALPHABET[(digest[i] ?? 0) % 32];
  return `${prefix}_${body.slice(0, TIME_CHARS)}${hash}`;
}

/** The charge's transfer and application fee ids, once captured: null where the capture made none. */
export function destinationObjectIds(charge: DestinationTerms & { id: string; captured: boolean; amount_captured: number }): {
  transfer: string | null;
  application_fee: string | null;
} {
  if (!charge.transfer_data || !charge.captured || charge.amount_captured === 0) return { transfer: null, application_fee: null };
  const split = destinationSplit(charge);
  return {
    transfer: split.transfer > 0 ? derivedObjectId('tr', charge.id) : null,
    application_fee: split.application_fee > 0 ? derivedObjectId('fee', charge.id) : null,
  };
}

/** What a refund of a destination charge takes back: from the transfer (`reverse_transfer`) and the application fee (`refund_application_fee`). */
export interface RefundShares {
  transfer_reversal: number;
  application_fee_refund: number;
}

/**
 * Each share in proportion to the refund, as Stripe reverses them. The proportion is taken of the
 * refunded total before and after this refund, each rounded down, so refunds in several parts take
 * back exactly the whole transfer and fee once the charge is fully refunded, never a unit more.
 */
export function refundShares(
  charge: DestinationTerms & { amount_captured: number; amount_refunded: number },
  amount: number,
  asked: { reverse_transfer: boolean; refund_application_fee: boolean },
): RefundShares {
  const split = destinationSplit(charge);
  const captured = BigInt(charge.amount_captured);
  const upTo = (total: number, refunded: number) => (BigInt(total) * BigInt(refunded)) / captured;
  const share = (total: number) => Number(upTo(total, charge.amount_refunded + amount) - upTo(total, charge.amount_refunded));
  return {
    transfer_reversal: asked.reverse_transfer ? share(split.transfer) : 0,
    application_fee_refund: asked.refund_application_fee ? share(split.application_fee) : 0,
  };
}
