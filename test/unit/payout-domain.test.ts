import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bankAccountProblem, isAbaChecksumValid } from '../../src/services/settlement/domain/bank-account.js';
import type { Payout, PayoutEnd } from '../../src/services/settlement/domain/payout.js';
import { DAY_S, endPayout, payoutEndTransfer, payoutTakenTransfer, startOfDay } from '../../src/services/settlement/domain/payout.js';
import type { PayoutSchedule } from '../../src/services/settlement/domain/payout-schedule.js';
import { WEEKDAYS, isRunDue, runDate, updateSchedule } from '../../src/services/settlement/domain/payout-schedule.js';
import { validateTransfer } from '../../src/services/ledger/domain/transfer.js';

/** The payout domain: schedules, bank details and the transfers each status change posts. */

const time = fc.integer({ min: 0, max: 4_102_444_800 }); // up to 2100
const schedule = (interval: PayoutSchedule['interval'], anchors: Partial<PayoutSchedule> = {}): PayoutSchedule => ({
  interval,
  delay_days: 2,
  weekly_anchor: null,
  monthly_anchor: null,
  ...anchors,
});

describe('payout schedules', () => {
  it('daily runs every day, manual never', () => {
    fc.assert(
      fc.property(time, (t) => {
        expect(isRunDue(schedule('daily'), t)).toBe(true);
        expect(isRunDue(schedule('manual'), t)).toBe(false);
      }),
    );
  });

  it('weekly runs on exactly one day in any seven, the anchor’s', () => {
    fc.assert(
      fc.property(time, fc.constantFrom(...WEEKDAYS), (t, anchor) => {
        const week = Array.from({ length: 7 }, (_, i) => t + i * DAY_S);
        const due = week.filter((day) => isRunDue(schedule('weekly', { weekly_anchor: anchor }), day));
        expect(due).toHaveLength(1);
        expect(WEEKDAYS[new Date(due[0]! * 1000).getUTCDay()]).toBe(anchor);
      }),
    );
  });

  it('monthly runs once a month, on the anchor or the month’s last day when shorter', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2000, max: 2099 }), fc.integer({ min: 0, max: 11 }), fc.integer({ min: 1, max: 31 }), (year, month, anchor) => {
        const first = Date.UTC(year, month, 1) / 1000;
        const last_day = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
        const days = Array.from({ length: last_day }, (_, i) => first + i * DAY_S + 3_600);
        const due = days.filter((day) => isRunDue(schedule('monthly', { monthly_anchor: anchor }), day));
        expect(due).toHaveLength(1);
        expect(new Date(due[0]! * 1000).getUTCDate()).toBe(Math.min(anchor, last_day));
      }),
    );
  });

  it('a run’s key is the UTC day, the same all day long', () => {
    fc.assert(
      fc.property(time, fc.integer({ min: 0, max: DAY_S - 1 }), (t, offset) => {
        expect(runDate(startOfDay(t) + offset)).toBe(runDate(startOfDay(t)));
        expect(runDate(startOfDay(t) + DAY_S)).not.toBe(runDate(t));
      }),
    );
  });

  it('anchors follow the interval, defaulting as Stripe’s do', () => {
    const daily = schedule('daily');
    expect(updateSchedule(daily, { interval: 'weekly' })).toMatchObject({ interval: 'weekly', weekly_anchor: 'monday', monthly_anchor: null });
    expect(updateSchedule(daily, { interval: 'monthly' })).toMatchObject({ interval: 'monthly', monthly_anchor: 1, weekly_anchor: null });
    expect(updateSchedule(schedule('weekly', { weekly_anchor: 'friday' }), { interval: 'daily' })).toMatchObject({ weekly_anchor: null });
    expect(updateSchedule(schedule('daily', { delay_days: 7 }), { delay_days: 'minimum' }).delay_days).toBe(2);
  });
});

describe('bank details', () => {
  it('the ABA checksum accepts Stripe’s test routing number and refuses any one-digit change of it', () => {
    expect(isAbaChecksumValid('110000000')).toBe(true);
    for (let i = 0; i < 9; i++) {
      for (let d = 1; d <= 9; d++) {
        const digits = [...'110000000'];
        digits[i] = String((Number(digits[i]) + d) % 10);
        expect(isAbaChecksumValid(digits.join(''))).toBe(false);
      }
    }
  });

  it('names the parameter at fault, never echoing the account number', () => {
    const good = { country: 'US', currency: 'usd', routing_number: '110000000', account_number: '000123456789' };
    expect(bankAccountProblem(good)).toBeNull();
    expect(bankAccountProblem({ ...good, country: 'DE' })?.[0]).toBe('external_account[country]');
    expect(bankAccountProblem({ ...good, currency: 'eur' })?.[0]).toBe('external_account[currency]');
    expect(bankAccountProblem({ ...good, routing_number: '11000000' })?.[0]).toBe('external_account[routing_number]');
    const bad = bankAccountProblem({ ...good, account_number: '123' });
    expect(bad?.[0]).toBe('external_account[account_number]');
    expect(bad?.[1]).not.toContain('123 ');
  });
});

describe('payout transfers', () => {
  const payout = (amount: number): Payout => ({
    id: 'po_01KA0000000000000000000000',
    merchant_id: 'acct_1',
    created: 1_767_614_400,
    amount,
    currency: 'usd',
    arrival_date: startOfDay(1_767_614_400),
    automatic: false,
    destination: 'ba_1',
    description: null,
    statement_descriptor: null,
    metadata: {},
    status: 'pending',
    failure_code: null,
    failure_balance_transaction: null,
    run_date: null,
    covers_after: null,
    version: 1,
  });
  const ends: PayoutEnd[] = [{ status: 'paid' }, { status: 'failed', failure_code: 'no_account' }, { status: 'canceled' }];

  it('every transfer is valid and balanced; each end returns what the payout took, or sends it out', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000_000 }), fc.constantFrom(...ends), (amount, end) => {
        const taken = payoutTakenTransfer(payout(amount), 'evt_1');
        const ended = payoutEndTransfer(payout(amount), end, 1_767_700_000, 'evt_2');
        expect(validateTransfer(taken)).toBe('ok');
        expect(validateTransfer(ended)).toBe('ok');
        expect(taken.limits).toEqual([{ account: 'merchant_available', floor: 0 }]);
        const in_transit = [...taken.postings, ...ended.postings].filter((p) => p.account === 'payouts_in_transit').reduce((sum, p) => sum + p.amount, 0);
        expect(in_transit).toBe(0);
        const available = [...taken.postings, ...ended.postings].filter((p) => p.account === 'merchant_available').reduce((sum, p) => sum + p.amount, 0);
        expect(available).toBe(end.status === 'paid' ? amount : 0);
        expect(ended.kind).toBe(end.status === 'paid' ? 'payout_paid' : end.status === 'failed' ? 'payout_failure' : 'payout_cancel');
      }),
    );
  });

  it('a failed or canceled payout names the transfer that gave the money back', () => {
    for (const end of ends) {
      const after = endPayout(payout(500), end);
      const ended = payoutEndTransfer(payout(500), end, 1_767_700_000, 'evt_2');
      expect(after.failure_balance_transaction).toBe(end.status === 'paid' ? null : ended.id);
      expect(after.version).toBe(2);
    }
  });
});
