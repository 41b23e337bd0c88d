import type { TransferKind } from './transfer.js';

/**
 * What the ledger must hold for each payments object, as pure checks: each returns the problem in
 * words, or null. `ledger verify` feeds them from both sides (payments rows, ledger transfers).
 */
export interface LedgerEntry {
  kind: TransferKind;
  id: string;
  net: number;
  fee: number;
  /** For a converted transfer, the amount in the charge's currency (what payments knows). */
  converted_from?: number | null;
}

export interface ChargeFacts {
  merchant_id: string;
  id: string;
  amount_captured: number;
}

export interface RefundFacts {
  merchant_id: string;
  id: string;
  amount: number;
  status: string;
}

const CHARGE_KINDS: readonly TransferKind[] = ['capture', 'release', 'settlement', 'chargeback_settlement', 'fx_capture'];
const REFUND_KINDS: readonly TransferKind[] = ['refund', 'refund_paid', 'refund_failure', 'refund_settlement', 'fx_refund', 'fx_refund_failure'];

/** What a transfer moved in the charge's currency: its converted amount if it was converted. */
function inChargeCurrency(entry: LedgerEntry, amount: number): number {
  return entry.converted_from === null || entry.converted_from === undefined ? amount : Math.sign(amount) * entry.converted_from;
}

/** A captured charge has one capture moving exactly its captured amount; nothing else has one. */
export function chargeProblem(charge: ChargeFacts | undefined, source_id: string, entries: readonly LedgerEntry[]): string | null {
  const capture = entries.find((e) => e.kind === 'capture');
  const stray = entries.filter((e) => !CHARGE_KINDS.includes(e.kind));
  if (stray.length > 0) return `charge ${source_id}: unexpected ${stray.map((e) => `${e.kind} ${e.id}`).join(', ')}`;
  if (!charge || charge.amount_captured === 0) {
    if (capture)
      return `transfer ${capture.id} captures ${capture.net + capture.fee} for charge ${source_id}, which payments has ${charge ? 'not captured' : 'no record of'}`;
    if (entries.length > 0) return `charge ${source_id}: ${entries.map((e) => `${e.kind} ${e.id}`).join(', ')} without a capture`;
    return null;
  }
  if (!capture) return `charge ${charge.id} (${charge.merchant_id}) captured ${charge.amount_captured} but has no capture transfer`;
  const captured = inChargeCurrency(capture, capture.net + capture.fee);
  if (captured !== charge.amount_captured)
    return `charge ${charge.id}: capture transfer ${capture.id} moves ${captured}, payments captured ${charge.amount_captured}`;
  if (capture.fee < 0 || capture.net < 0) return `charge ${charge.id}: capture transfer ${capture.id} has fee ${capture.fee} and net ${capture.net}`;
  const release = entries.find((e) => e.kind === 'release');
  if (release && release.net !== 0) return `charge ${charge.id}: release ${release.id} changes the merchant's total balance by ${release.net}`;
  return null;
}

/**
 * A refund that took money (succeeded or pending) has its `refund` transfer of −amount; a succeeded
 * one is paid (`refund_paid`); a failed one has either nothing or a refund and its reversal.
 */
export function refundProblem(refund: RefundFacts | undefined, source_id: string, entries: readonly LedgerEntry[]): string | null {
  const stray = entries.filter((e) => !REFUND_KINDS.includes(e.kind));
  if (stray.length > 0) return `refund ${source_id}: unexpected ${stray.map((e) => `${e.kind} ${e.id}`).join(', ')}`;
  const has = (kind: TransferKind) => entries.find((e) => e.kind === kind);
  if (!refund)
    return entries.length > 0 ? `refund ${source_id}: ${entries.map((e) => `${e.kind} ${e.id}`).join(', ')} for a refund payments has no record of` : null;
  const taken = has('refund');
  const failure = has('refund_failure');
  if (taken && inChargeCurrency(taken, taken.net) !== -refund.amount)
    return `refund ${refund.id}: transfer ${taken.id} takes ${-inChargeCurrency(taken, taken.net)}, the refund is ${refund.amount}`;
  if (failure && inChargeCurrency(failure, failure.net) !== refund.amount)
    return `refund ${refund.id}: reversal ${failure.id} returns ${inChargeCurrency(failure, failure.net)}, the refund is ${refund.amount}`;
  switch (refund.status) {
    case 'succeeded':
      if (!taken) return `refund ${refund.id} (${refund.merchant_id}) succeeded but has no refund transfer`;
      if (!has('refund_paid')) return `refund ${refund.id} succeeded but its payout by the processor is not posted`;
      if (failure) return `refund ${refund.id} succeeded but has a refund_failure ${failure.id}`;
      return null;
    case 'pending':
    case 'requires_action':
      if (!taken) return `refund ${refund.id} (${refund.merchant_id}) is pending but has no refund transfer`;
      if (failure) return `refund ${refund.id} is pending but has a refund_failure ${failure.id}`;
      return null;
    case 'failed':
    case 'canceled':
      if (taken && !failure) return `refund ${refund.id} failed but its refund transfer ${taken.id} is not reversed`;
      if (!taken && entries.length > 0) return `refund ${refund.id} failed at once but has ${entries.map((e) => e.kind).join(', ')}`;
      return null;
    default:
      return `refund ${refund.id}: unknown status ${refund.status}`;
  }
}
