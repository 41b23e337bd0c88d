import { assert } from '../../../kernel/assert.js';
import { sandboxCaptureFees, sandboxRefundFees } from '../../connectors/index.js';
import type { ReportLine } from '../domain/reconciliation.js';
import { dayOf, dayStart } from '../domain/reconciliation.js';

/**
 * What reconciliation must know of the processor's contract: the fee it may keep for each line, and
 * in which day's report it settles each movement of money. The sandbox settles each UTC day's
 * captures and paid refunds in that day's batch (connectors/domain/sandbox-settlement.ts).
 */
export interface ProcessorTerms {
  /** The fee (commission + markup + scheme fees + interchange) the contract gives for this line. */
  expectedFee(line: ReportLine): number;
  /** The report day a movement that happened at `moved_s` (the ledger transfer's time) is due in. */
  settlesOn(moved_s: number): string;
  /** The window (unix seconds, [from, to)) of the movements due in `day`'s report. */
  dueWindow(day: string): { from_s: number; to_s: number };
}

/** Same-day settlement, as the sandbox's batches: a movement of day D is settled in the report of D. */
export function sameDayTerms(fee_of: (line: ReportLine) => number): ProcessorTerms {
  return {
    expectedFee: fee_of,
    settlesOn: (moved_s) => dayOf(moved_s),
    dueWindow: (day) => ({ from_s: dayStart(day), to_s: dayStart(day) + 86_400 }),
  };
}

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_CHARS = 10;

/**
 * The smallest id of `prefix` created at `ms`. Payrail's ids carry their creation time (kernel/ids.ts),
 * so the objects created in [a, b) have ids in [idAt(a), idAt(b)): an index range.
 */
export function idAt(prefix: string, ms: number): string {
  assert(Number.isSafeInteger(ms) && ms >= 0, 'id time must be whole milliseconds');
  let time = '';
  let remaining = ms;
  for (let i = 0; i < TIME_CHARS; i++) {
    time = ALPHABET[remaining % 32] + time;
    remaining = Math.floor(remaining / 32);
  }
  return `${prefix}_${time}`;
}

/** The sandbox processor's contract (connectors/domain/sandbox-settlement.ts): its fee schedule, settled the same day. */
export const SANDBOX_TERMS: ProcessorTerms = sameDayTerms((line) => {
  if (line.type === 'Settled') return feesTotal(sandboxCaptureFees(line.gross_credit ?? 0));
  if (line.type === 'Refunded') return feesTotal(sandboxRefundFees());
  return 0;
});

function feesTotal(fees: { interchange: number; scheme_fees: number; markup: number; commission: number }): number {
  return fees.interchange + fees.scheme_fees + fees.markup + fees.commission;
}
