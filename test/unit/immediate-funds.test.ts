import { describe, expect, it } from 'vitest';
import type { LedgerEvent } from '../../src/services/ledger/domain/flows.js';
import { DAY_S, DEFAULT_TERMS, awaitsRelease, transfersForEvent } from '../../src/services/ledger/domain/flows.js';
import { chargeBalanceTransactionId } from '../../src/services/ledger/domain/ids.js';
import { toTransfer, validateTransfer } from '../../src/services/ledger/domain/transfer.js';
import { decide, fundsFor } from '../../src/services/connectors/domain/sandbox-decisions.js';
import type { AuthorizeRequest } from '../../src/services/connectors/domain/port.js';

/**
 * Funds available at once (Stripe's 4000000000000077, `pm_card_bypassPending`): the sandbox says so in
 * its answer, and the ledger's capture flow posts such a capture straight to the available balance.
 */

const T0 = 1_700_000_000;
const BYPASS_PENDING = '4000000000000077';

function authorize(number: string, overrides: Partial<AuthorizeRequest> = {}): AuthorizeRequest {
  return {
    attempt_id: 'ch_1',
    merchant_id: 'acct_1',
    amount: 2000,
    currency: 'usd',
    card: { number, exp_month: 12, exp_year: 2034, cvc: '123' },
    capture: true,
    ...overrides,
  };
}

describe('the sandbox decides funds availability from the card', () => {
  it('answers funds: immediate for 4000000000000077 only, captured at once or later', () => {
    expect(decide(authorize(BYPASS_PENDING)).result).toEqual({ outcome: 'authorized', captured: true, cvc_check: 'pass', funds: 'immediate' });
    expect(decide(authorize(BYPASS_PENDING, { capture: false })).result).toMatchObject({ outcome: 'authorized', captured: false, funds: 'immediate' });
    expect(decide(authorize('4242424242424242')).result).toEqual({ outcome: 'authorized', captured: true, cvc_check: 'pass' });
    expect(fundsFor('4242424242424242')).toBeNull();
    expect(fundsFor(BYPASS_PENDING)).toBe('immediate');
  });

  it('a declined or 3-D Secure answer carries no funds: nothing was authorized yet', () => {
    expect(decide(authorize('4000000000000002')).result).not.toHaveProperty('funds');
    expect(decide(authorize(BYPASS_PENDING, { three_d_secure: true })).result).toEqual({ outcome: 'requires_action' });
  });
});

describe('the ledger posts an immediate capture straight to available', () => {
  const charge = { id: 'ch_1', amount: 2000, amount_captured: 2000, captured: true, currency: 'usd', created: T0 };
  const event = (type: string, internal?: Record<string, string>): LedgerEvent => ({
    id: `evt_${type}`,
    merchant_id: 'acct_1',
    type,
    created: T0 + 5,
    data: { object: charge },
    ...(internal ? { internal } : {}),
  });

  it.each(['charge.succeeded', 'charge.captured'])('%s with funds: immediate credits merchant_available, available_on its own time', (type) => {
    const [capture] = transfersForEvent(event(type, { funds: 'immediate' }), DEFAULT_TERMS, () => new Set());
    expect(capture?.postings).toEqual([
      { account: 'processor_receivable', amount: 2000 },
      { account: 'merchant_available', amount: -2000 },
      { account: 'merchant_available', amount: 88 },
      { account: 'platform_fees', amount: -88 },
    ]);
    expect(capture).toMatchObject({ kind: 'capture', created: T0 + 5, available_on: T0 + 5, id: chargeBalanceTransactionId(charge) });
    expect(validateTransfer(capture!)).toBe('ok');
    const stored = toTransfer(capture!);
    expect({ net: stored.net, fee: stored.fee }).toEqual({ net: 1912, fee: 88 });
    expect(awaitsRelease(stored)).toBe(false);
  });

  it('without the fact (or with one it does not know) the capture waits in pending for its release', () => {
    const others: (Record<string, string> | undefined)[] = [undefined, { funds: 'someday' }, { other: 'immediate' }];
    for (const internal of others) {
      const [capture] = transfersForEvent(event('charge.succeeded', internal), DEFAULT_TERMS, () => new Set());
      expect(capture?.postings.map((p) => p.account)).toEqual(['processor_receivable', 'merchant_pending', 'merchant_pending', 'platform_fees']);
      expect(capture?.available_on).toBe(T0 + 5 + 2 * DAY_S);
      expect(awaitsRelease(toTransfer(capture!))).toBe(true);
    }
  });

  it('an immediate capture whose fee takes it all has no net to release either way', () => {
    const small = { ...charge, amount: 20, amount_captured: 20 };
    const [capture] = transfersForEvent({ ...event('charge.succeeded', { funds: 'immediate' }), data: { object: small } }, DEFAULT_TERMS, () => new Set());
    expect(capture?.postings).toEqual([
      { account: 'processor_receivable', amount: 20 },
      { account: 'merchant_available', amount: -20 },
      { account: 'merchant_available', amount: 20 },
      { account: 'platform_fees', amount: -20 },
    ]);
    expect(toTransfer(capture!).net).toBe(0);
  });
});
