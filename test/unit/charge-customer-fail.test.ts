import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/services/connectors/domain/sandbox-decisions.js';
import type { AuthorizeRequest } from '../../src/services/connectors/index.js';

/** Stripe's 4000000000000341: a zero-amount verification passes (it attaches and sets up), any charge declines. */

const CARD = '4000000000000341';

function request(amount: number, off_session: boolean): AuthorizeRequest {
  return {
    attempt_id: 'ch_1',
    merchant_id: 'acct_1',
    amount,
    currency: 'usd',
    card: { number: CARD, exp_month: 12, exp_year: 2034, cvc: '123' },
    capture: true,
    off_session,
  };
}

describe('the charge-customer-fail card', () => {
  it('passes a zero-amount verification', () => {
    expect(decide({ ...request(0, false), capture: false }).result).toMatchObject({ outcome: 'authorized' });
  });

  it('declines every charge, on or off session, with card_declined / generic_decline', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 99_999_999 }), fc.boolean(), (amount, off_session) => {
        expect(decide(request(amount, off_session))).toMatchObject({
          result: { outcome: 'declined', code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.' },
          amount_captured: 0,
        });
      }),
    );
  });
});
