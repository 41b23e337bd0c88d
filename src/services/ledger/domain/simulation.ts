import { assert } from '../../../kernel/assert.js';
import type { LedgerEvent, MerchantTerms } from './flows.js';
import { feeFor } from './fees.js';

/**
 * A deterministic stand-in for the payments service: it applies payment steps and emits the events
 * payments emits (the fields the ledger reads), and it knows what Stripe's balance rules say the
 * merchant should have. Property tests and the bench drive the ledger with it; it never touches
 * the ledger, so it is an independent account of the expected balances.
 */
export type RefundOutcome = 'succeeded' | 'pending' | 'failed';

export type Step =
  | { kind: 'pay'; amount: number; manual: boolean; declined: boolean }
  | { kind: 'capture'; pick: number; percent: number }
  | { kind: 'refund'; pick: number; percent: number; outcome: RefundOutcome }
  | { kind: 'settle_refund'; pick: number; outcome: 'succeeded' | 'failed' }
  | { kind: 'advance'; hours: number }
  | { kind: 'redeliver'; pick: number };

export const STEP_KINDS = 6;

/** Builds a step from plain numbers, so any random source (fast-check, a seeded PRNG) can drive it. */
export function stepFrom(kind: number, a: number, b: number, c: number): Step {
  switch (kind % STEP_KINDS) {
    case 0:
      return { kind: 'pay', amount: 50 + (a % 200_000), manual: b % 3 === 0, declined: c % 7 === 0 };
    case 1:
      return { kind: 'capture', pick: a, percent: 1 + (b % 100) };
    case 2:
      return { kind: 'refund', pick: a, percent: 1 + (b % 100), outcome: (['succeeded', 'pending', 'failed'] as const)[c % 3] ?? 'succeeded' };
    case 3:
      return { kind: 'settle_refund', pick: a, outcome: b % 2 === 0 ? 'succeeded' : 'failed' };
    case 4:
      return { kind: 'advance', hours: 1 + (a % 72) };
    default:
      return { kind: 'redeliver', pick: a };
  }
}

interface SimCharge {
  id: string;
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  captured: boolean;
  status: 'succeeded' | 'failed';
  created: number;
  captured_at: number | null;
}

interface SimRefund {
  id: string;
  charge: string;
  amount: number;
  status: RefundOutcome;
  created: number;
  /** Whether money left the merchant at creation (a refund failing at once moves nothing). */
  took_money: boolean;
}

const MAX_EVENTS = 100_000;

export class PaymentsSimulator {
  readonly charges: SimCharge[] = [];
  readonly refunds: SimRefund[] = [];
  readonly delivered: LedgerEvent[] = [];
  private counter = 0;

  constructor(
    public now_s: number,
    readonly merchant_id = 'acct_sim',
    readonly currency = 'usd',
    private readonly prefix = 'sim',
  ) {}

  apply(step: Step): LedgerEvent[] {
    this.now_s += 1;
    switch (step.kind) {
      case 'pay':
        return this.pay(step);
      case 'capture':
        return this.capture(step);
      case 'refund':
        return this.refund(step);
      case 'settle_refund':
        return this.settleRefund(step);
      case 'advance':
        this.now_s += step.hours * 3600;
        return [];
      case 'redeliver': {
        const earlier = this.delivered[step.pick % Math.max(1, this.delivered.length)];
        return earlier ? [earlier] : [];
      }
    }
  }

  private pay(step: Extract<Step, { kind: 'pay' }>): LedgerEvent[] {
    const charge: SimCharge = {
      id: this.id('ch'),
      amount: step.amount,
      amount_refunded: 0,
      created: this.now_s,
      status: step.declined ? 'failed' : 'succeeded',
      captured: !step.declined && !step.manual,
      amount_captured: !step.declined && !step.manual ? step.amount : 0,
      captured_at: !step.declined && !step.manual ? this.now_s : null,
    };
    this.charges.push(charge);
    return this.emit(step.declined ? 'charge.failed' : 'charge.succeeded', this.renderCharge(charge));
  }

  private capture(step: Extract<Step, { kind: 'capture' }>): LedgerEvent[] {
    const open = this.charges.filter((c) => c.status === 'succeeded' && !c.captured);
    const charge = open[step.pick % Math.max(1, open.length)];
    if (!charge) return [];
    charge.captured = true;
    charge.amount_captured = Math.max(1, Math.floor((charge.amount * step.percent) / 100));
    charge.captured_at = this.now_s;
    return this.emit('charge.captured', this.renderCharge(charge));
  }

  private refund(step: Extract<Step, { kind: 'refund' }>): LedgerEvent[] {
    const refundable = this.charges.filter((c) => c.amount_captured - c.amount_refunded > 0);
    const charge = refundable[step.pick % Math.max(1, refundable.length)];
    if (!charge) return [];
    const remaining = charge.amount_captured - charge.amount_refunded;
    const refund: SimRefund = {
      id: this.id('re'),
      charge: charge.id,
      amount: Math.max(1, Math.floor((remaining * step.percent) / 100)),
      status: step.outcome,
      created: this.now_s,
      took_money: step.outcome !== 'failed',
    };
    this.refunds.push(refund);
    if (refund.took_money) charge.amount_refunded += refund.amount;
    return [...this.emit('refund.created', this.renderRefund(refund)), ...(refund.took_money ? this.emit('charge.refunded', this.renderCharge(charge)) : [])];
  }

  /** A pending refund completes or fails; a succeeded one may still fail later (Stripe: refund_failure). */
  private settleRefund(step: Extract<Step, { kind: 'settle_refund' }>): LedgerEvent[] {
    const open = this.refunds.filter((r) => r.status === 'pending' || (r.status === 'succeeded' && step.outcome === 'failed'));
    const refund = open[step.pick % Math.max(1, open.length)];
    if (!refund) return [];
    refund.status = step.outcome;
    if (step.outcome === 'failed') {
      const charge = this.charges.find((c) => c.id === refund.charge);
      assert(charge !== undefined, 'refund of an unknown charge');
      charge.amount_refunded -= refund.amount;
    }
    return this.emit('refund.updated', this.renderRefund(refund));
  }

  private emit(type: string, object: Record<string, unknown>): LedgerEvent[] {
    assert(this.delivered.length < MAX_EVENTS, 'simulation too long');
    const event: LedgerEvent = { id: this.id('evt'), merchant_id: this.merchant_id, type, created: this.now_s, data: { object } };
    this.delivered.push(event);
    return [event];
  }

  private renderCharge(charge: SimCharge): Record<string, unknown> {
    return {
      id: charge.id,
      object: 'charge',
      amount: charge.amount,
      amount_captured: charge.amount_captured,
      amount_refunded: charge.amount_refunded,
      captured: charge.captured,
      currency: this.currency,
      created: charge.created,
      status: charge.status,
    };
  }

  private renderRefund(refund: SimRefund): Record<string, unknown> {
    return {
      id: refund.id,
      object: 'refund',
      amount: refund.amount,
      charge: refund.charge,
      currency: this.currency,
      created: refund.created,
      status: refund.status,
    };
  }

  private id(kind: string): string {
    this.counter += 1;
    return `${kind}_${this.prefix}${this.counter}`;
  }
}

/**
 * Stripe's rules, from the payments side alone: a capture's net (gross less fee) is pending until
 * its delay has passed, then available; a refund takes its amount from available when created
 * (available may go negative) and gives it back if it fails.
 */
export function expectedMerchantBalances(sim: PaymentsSimulator, terms: MerchantTerms): { available: number; pending: number; fees: number } {
  let available = 0;
  let pending = 0;
  let fees = 0;
  for (const charge of sim.charges) {
    if (charge.amount_captured === 0 || charge.captured_at === null) continue;
    const fee = feeFor(charge.amount_captured, terms.fee);
    fees += fee;
    if (charge.captured_at + terms.settlement_delay_s <= sim.now_s) available += charge.amount_captured - fee;
    else pending += charge.amount_captured - fee;
  }
  for (const refund of sim.refunds) if (refund.took_money && refund.status !== 'failed') available -= refund.amount;
  return { available, pending, fees };
}
