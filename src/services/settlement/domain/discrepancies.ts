import { createHash } from 'node:crypto';
import { assert } from '../../../kernel/assert.js';
import type { ExceptionClass, ExceptionStatus } from './reconciliation.js';
import { lineReference } from './reconciliation.js';
import type { SettlementLine } from './settlement-report.js';

/**
 * Test mode only: the sandbox processor's reports with faults put in on purpose, so reconciliation
 * can be proven to find each kind. Pure: which lines are touched is decided by a hash of the plan's
 * seed and the line's reference, so the same plan over the same lines always injects the same faults,
 * and a test can read back exactly what was injected. A report stays internally consistent (each
 * batch's MerchantPayout is its lines' net), as a real processor's would be.
 */

export const DISCREPANCY_KINDS = [
  'missing_in_payrail',
  'missing_at_processor',
  'amount_mismatch',
  'currency_mismatch',
  'fee_mismatch_small',
  'fee_mismatch_large',
  'duplicate',
  'settled_late',
] as const;
export type DiscrepancyKind = (typeof DISCREPANCY_KINDS)[number];

/** The exception reconciliation must report for each kind: its class and status. */
export const EXPECTED_EXCEPTION: Readonly<Record<DiscrepancyKind, { class: ExceptionClass; status: ExceptionStatus }>> = {
  missing_in_payrail: { class: 'missing_in_payrail', status: 'open' },
  missing_at_processor: { class: 'missing_at_processor', status: 'open' },
  amount_mismatch: { class: 'amount_mismatch', status: 'open' },
  currency_mismatch: { class: 'currency_mismatch', status: 'open' },
  fee_mismatch_small: { class: 'fee_mismatch', status: 'auto_fixed' },
  fee_mismatch_large: { class: 'fee_mismatch', status: 'open' },
  duplicate: { class: 'duplicate', status: 'open' },
  settled_late: { class: 'settled_late', status: 'auto_fixed' },
};

const PPM = 1_000_000;

export interface DiscrepancyPlan {
  seed: string;
  /** Per kind, how many of each million eligible lines (Settled, Refunded) get it; together at most a million. */
  rates_ppm: Partial<Record<DiscrepancyKind, number>>;
}

export interface Injection {
  kind: DiscrepancyKind;
  /** The Payrail object the line settles (reconciliation.ts `lineReference`); for missing_in_payrail, the made-up one. */
  reference: string;
}

/** Amounts put in: a small fee difference is within the auto-fix tolerance, a large one is not. */
export const INJECTED = { amount_delta: 100, small_fee_delta: 7, large_fee_delta: 500 } as const;
const OTHER_CURRENCY: Readonly<Record<string, string>> = { usd: 'eur', eur: 'usd', gbp: 'usd' };

export function validatePlan(plan: DiscrepancyPlan): void {
  let total = 0;
  for (const [kind, rate] of Object.entries(plan.rates_ppm)) {
    assert((DISCREPANCY_KINDS as readonly string[]).includes(kind), `unknown discrepancy kind ${kind}`);
    assert(Number.isSafeInteger(rate) && rate >= 0, `rate of ${kind} must be a non-negative integer`);
    total += rate;
  }
  assert(total <= PPM, 'discrepancy rates add up to more than a million per million');
  assert(plan.seed.length > 0 && plan.seed.length <= 100, 'a plan needs a seed of 1 to 100 characters');
}

/** The kind a line gets under the plan, or null: the same for this line in every report. */
export function discrepancyFor(
  plan: DiscrepancyPlan,
  line: Pick<SettlementLine, 'type' | 'merchant_reference' | 'modification_merchant_reference'>,
): DiscrepancyKind | null {
  if (line.type !== 'Settled' && line.type !== 'Refunded') return null;
  const draw =
    createHash('sha256')
      .update(`${plan.seed}\u0000${lineReference(line)}`)
      .digest()
      .readUInt32BE(0) % PPM;
  let upper = 0;
  for (const kind of DISCREPANCY_KINDS) {
    upper += plan.rates_ppm[kind] ?? 0;
    if (draw < upper) return kind;
  }
  return null;
}

/**
 * A day's report with the plan's faults: `lines` are the day's clean lines, `previous` the clean
 * lines of the day before (whose `settled_late` lines are settled today instead). Line numbers are
 * renumbered from 2 (the header is line 1) and payouts rebalanced.
 */
export function injectDiscrepancies(
  lines: readonly SettlementLine[],
  previous: readonly SettlementLine[],
  plan: DiscrepancyPlan,
): { lines: SettlementLine[]; injected: Injection[] } {
  validatePlan(plan);
  const out: SettlementLine[] = [];
  const injected: Injection[] = [];
  // Batches are numbered one a day: a day with no lines of its own follows the day before.
  const batch = lines[0]?.batch_number ?? (previous[0]?.batch_number ?? 0) + 1;
  for (const line of previous) {
    if (discrepancyFor(plan, line) === 'settled_late') out.push({ ...line, batch_number: batch });
  }
  for (const line of lines) {
    const kind = discrepancyFor(plan, line);
    if (kind === null) {
      out.push(line);
      continue;
    }
    const faulty = applyFault(kind, line, plan.seed);
    out.push(...faulty);
    injected.push({ kind, reference: lineReference(kind === 'missing_in_payrail' ? (faulty[1] ?? line) : line) });
  }
  const templates = [...lines, ...previous].filter((l) => l.type === 'MerchantPayout').map((l) => ({ ...l, batch_number: batch }));
  return { lines: renumber(rebalancePayouts(out, templates)), injected };
}

function applyFault(kind: DiscrepancyKind, line: SettlementLine, seed: string): SettlementLine[] {
  switch (kind) {
    case 'missing_at_processor':
    case 'settled_late':
      return [];
    case 'duplicate':
      return [line, { ...line }];
    case 'missing_in_payrail': {
      const reference = lineReference(line);
      const made_up = `${reference.slice(0, reference.indexOf('_') + 1)}unknown${digest(`${seed}:${reference}`)}`;
      const psp_reference = digest(made_up).slice(0, 16).toUpperCase();
      if (line.type === 'Refunded') return [line, { ...line, modification_merchant_reference: made_up, modification_reference: made_up }];
      return [line, { ...line, merchant_reference: made_up, modification_merchant_reference: made_up, psp_reference }];
    }
    case 'amount_mismatch':
      return [moveAmount(line, INJECTED.amount_delta)];
    case 'currency_mismatch': {
      const other = OTHER_CURRENCY[line.gross_currency] ?? 'usd';
      return [{ ...line, gross_currency: other, net_currency: other }];
    }
    case 'fee_mismatch_small':
      return [moveFee(line, INJECTED.small_fee_delta)];
    case 'fee_mismatch_large':
      return [moveFee(line, INJECTED.large_fee_delta)];
  }
}

/** More gross, and the same more net: the processor says it moved `delta` more. */
function moveAmount(line: SettlementLine, delta: number): SettlementLine {
  if (line.gross_credit !== null) return { ...line, gross_credit: line.gross_credit + delta, net_credit: (line.net_credit ?? 0) + delta };
  return { ...line, gross_debit: (line.gross_debit ?? 0) + delta, net_debit: (line.net_debit ?? 0) + delta };
}

/** More commission, taken from the net. */
function moveFee(line: SettlementLine, delta: number): SettlementLine {
  const commission = (line.commission ?? 0) + delta;
  if (line.net_credit !== null && line.net_credit >= delta) return { ...line, commission, net_credit: line.net_credit - delta };
  return { ...line, commission, net_debit: (line.net_debit ?? 0) + delta, net_credit: line.net_credit === null ? null : line.net_credit };
}

/** Each merchant account's payout in a currency is the net of its lines in that currency, as the processor pays it. */
function rebalancePayouts(lines: readonly SettlementLine[], payouts: readonly SettlementLine[]): SettlementLine[] {
  const template = payouts[0];
  if (template === undefined) return [...lines];
  const nets = new Map<string, { merchant_account: string; currency: string; net: number }>();
  for (const line of lines) {
    if (line.type === 'MerchantPayout') continue;
    const key = `${line.merchant_account}\u0000${line.net_currency}`;
    const total = nets.get(key) ?? { merchant_account: line.merchant_account, currency: line.net_currency, net: 0 };
    nets.set(key, { ...total, net: total.net + (line.net_credit ?? 0) - (line.net_debit ?? 0) });
  }
  const rebalanced = lines.filter((l) => l.type !== 'MerchantPayout');
  const ordered = [...nets.values()].sort((a, b) => compare(a.merchant_account, b.merchant_account) || compare(a.currency, b.currency));
  for (const { merchant_account, currency, net } of ordered) {
    const existing = payouts.find((p) => p.merchant_account === merchant_account && p.net_currency === currency) ?? template;
    // Paid into the bank (Net Debit) when positive, collected from it (Net Credit) when negative.
    rebalanced.push({ ...existing, merchant_account, net_currency: currency, net_debit: net >= 0 ? net : null, net_credit: net < 0 ? -net : null });
  }
  return rebalanced;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function renumber(lines: readonly SettlementLine[]): SettlementLine[] {
  return lines.map((line, index) => ({ ...line, line: index + 2 }));
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 20);
}
