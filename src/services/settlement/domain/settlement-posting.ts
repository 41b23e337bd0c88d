import type { TransferRequest } from '../../ledger/index.js';
import { transferId } from '../../ledger/index.js';
import type { SettlementLine } from './settlement-report.js';

/**
 * What each settlement report line does in the ledger (docs/settlement.md). Amounts are the line's,
 * in minor units; every account is the merchant's own (Merchant Account is Payrail's merchant id).
 *
 * | line | transfer kind | postings |
 * |---|---|---|
 * | Settled (charge C: gross G, fees f, net N = G − f) | `settlement`, source C | processor_receivable −G, processor_fees +f, settlement_cash +N |
 * | Refunded (refund R: gross R, fees f) | `refund_settlement`, source R | processor_receivable +R, processor_fees +f, settlement_cash −(R + f) |
 * | Chargeback (charge C: disputed A, fees f) | `chargeback_settlement`, source C | processor_receivable +A, processor_fees +f, settlement_cash −(A + f) |
 * | Fee, MiscCosts (fee f) | `processor_fee`, source the line | processor_fees +f, settlement_cash −f |
 * | MerchantPayout, reversals, corrections | none (`not_posted`) | — |
 *
 * A Settled line posts only for a charge whose capture the ledger has, a Refunded line only for a
 * refund the ledger has paid (`refund_paid`), a Chargeback line only for a captured charge (the
 * dispute's own transfer already took the amount out of the receivable, under the dispute's id); others
 * are `unmatched`, left to reconciliation. A
 * charge or refund is settled once: a second line for it is `already_settled` and posts nothing.
 * The MerchantPayout line posts nothing: the lines before it already put their nets in
 * settlement_cash, whose sum is the payout (reconciliation checks the two agree).
 */
export interface StagedLine {
  connector: string;
  batch_number: number;
  line: number;
  merchant_id: string;
  type: string;
  psp_reference: string;
  modification_reference: string;
  currency: string;
  /** Signed: + what the processor owes Payrail for the line (credits), − what it takes back. */
  gross: number;
  fees: number;
  net: number;
  created_s: number;
}

export type LineOutcome = 'pending' | 'posted' | 'already_settled' | 'unmatched' | 'not_posted';

/** The staged form of a parsed line: its merchant, currency and signed amounts; `not_posted` when the ledger cannot take it. */
export function stageLine(connector: string, line: SettlementLine): StagedLine & { outcome: LineOutcome } {
  const fees = (line.commission ?? 0) + (line.markup ?? 0) + (line.scheme_fees ?? 0) + (line.interchange ?? 0);
  const staged = {
    connector,
    batch_number: line.batch_number,
    line: line.line,
    merchant_id: line.merchant_account,
    type: line.type,
    psp_reference: line.psp_reference,
    modification_reference: line.modification_reference,
    currency: line.net_currency || line.gross_currency,
    gross: (line.gross_credit ?? 0) - (line.gross_debit ?? 0),
    fees,
    net: (line.net_credit ?? 0) - (line.net_debit ?? 0),
    created_s: Math.floor(Date.parse(`${line.creation_date.replace(' ', 'T')}Z`) / 1000),
  };
  // Currency conversion is not supported: a line settled in another currency is left to reconciliation.
  const converted = line.gross_currency !== '' && line.net_currency !== '' && line.gross_currency !== line.net_currency;
  const outcome: LineOutcome = converted || staged.merchant_id === '' || staged.currency === '' || postingKind(staged) === null ? 'not_posted' : 'pending';
  return { ...staged, outcome };
}

type SettlementKind = 'settlement' | 'refund_settlement' | 'chargeback_settlement' | 'processor_fee';

export function postingKind(line: Pick<StagedLine, 'type'>): SettlementKind | null {
  if (line.type === 'Settled') return 'settlement';
  if (line.type === 'Refunded') return 'refund_settlement';
  if (line.type === 'Chargeback') return 'chargeback_settlement';
  if (line.type === 'Fee' || line.type === 'MiscCosts') return 'processor_fee';
  return null;
}

/** The Payrail object a line settles: the charge (Psp Reference), the refund (Modification Reference), or the line itself. */
export function settledSource(line: StagedLine): string {
  if (line.type === 'Settled' || line.type === 'Chargeback') return line.psp_reference;
  if (line.type === 'Refunded') return line.modification_reference;
  return `${line.connector}:${line.batch_number}:${line.line}`;
}

/** The ledger transfer a line must already have for it to post: the capture, or the refund paid. */
export function requiredKind(line: Pick<StagedLine, 'type'>): 'capture' | 'refund_paid' | null {
  if (line.type === 'Settled' || line.type === 'Chargeback') return 'capture';
  if (line.type === 'Refunded') return 'refund_paid';
  return null;
}

/** The line's transfer, or null when it moves nothing. */
export function settlementTransfer(line: StagedLine): TransferRequest | null {
  const kind = postingKind(line);
  if (kind === null) return null;
  const postings = [
    { account: 'processor_receivable' as const, amount: kind === 'processor_fee' ? 0 : -line.gross },
    { account: 'processor_fees' as const, amount: line.fees },
    { account: 'settlement_cash' as const, amount: line.net },
  ].filter((p) => p.amount !== 0);
  if (postings.length < 2 || postings.reduce((sum, p) => sum + p.amount, 0) !== 0) return null;
  const source_id = settledSource(line);
  return {
    id: transferId(kind, source_id, line.created_s),
    merchant_id: line.merchant_id,
    currency: line.currency,
    kind,
    source_id,
    postings,
    cause: { event_id: `${line.connector}:${line.batch_number}:${line.line}`, type: 'settlement_report.line' },
    created: line.created_s,
    available_on: null,
  };
}
