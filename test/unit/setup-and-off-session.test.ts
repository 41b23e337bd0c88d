import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { SetupIntent, SetupResult } from '../../src/services/payments/domain/setup-intent.js';
import * as Setup from '../../src/services/payments/domain/setup-intent.js';
import { decide } from '../../src/services/connectors/domain/sandbox-decisions.js';
import type { AuthorizeRequest } from '../../src/services/connectors/index.js';
import { PayrailError } from '../../src/kernel/errors.js';

/** The SetupIntent state machine and the sandbox's answers off session, without I/O. */

function newSetup(overrides: Partial<SetupIntent> = {}): SetupIntent {
  return {
    id: 'seti_1',
    merchant_id: 'acct_1',
    status: 'requires_payment_method',
    usage: 'off_session',
    customer: null,
    payment_method: null,
    description: null,
    metadata: {},
    return_url: null,
    automatic_payment_methods: { enabled: true, allow_redirects: 'always' },
    payment_method_types: ['card'],
    last_setup_error: null,
    latest_attempt: null,
    next_action: null,
    cancellation_reason: null,
    client_secret: 'seti_1_secret_x',
    created: 1,
    version: 1,
    ...overrides,
  };
}

const ACTION = { type: 'redirect_to_url' as const, redirect_to_url: { url: 'http://x/authenticate', return_url: null } };
const DECLINED: SetupResult = {
  outcome: 'declined',
  attempt_id: 'setatt_1',
  error: { type: 'card_error', code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.', payment_method: null },
};

function stateError(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return error instanceof PayrailError ? error.code : 'not a PayrailError';
  }
}

describe('SetupIntent state machine', () => {
  it('a card chosen on update makes it confirmable; confirm needs one', () => {
    const intent = newSetup();
    expect(stateError(() => Setup.beginSetupConfirm(intent, null))).toBe('setup_intent_unexpected_state');
    const updated = Setup.updateSetup(intent, { payment_method: 'pm_card_visa', metadata: { a: '1' } });
    expect(updated).toMatchObject({ status: 'requires_confirmation', payment_method: 'pm_card_visa', metadata: { a: '1' }, version: 2 });
    expect(Setup.beginSetupConfirm(updated, null).payment_method).toBe('pm_card_visa');
  });

  it('verified → succeeded with the saved card; declined → requires_payment_method with the error; 3-D Secure → requires_action', () => {
    const ready = Setup.beginSetupConfirm(newSetup({ status: 'requires_confirmation', payment_method: 'pm_card_visa' }), null);
    const succeeded = Setup.applySetupResult(ready, { outcome: 'verified', attempt_id: 'setatt_1', payment_method: 'pm_saved' });
    expect(succeeded).toMatchObject({ status: 'succeeded', payment_method: 'pm_saved', latest_attempt: 'setatt_1', last_setup_error: null });
    const declined = Setup.applySetupResult(ready, DECLINED);
    expect(declined).toMatchObject({ status: 'requires_payment_method', payment_method: null, last_setup_error: { code: 'card_declined' } });
    const waiting = Setup.applySetupResult(ready, { outcome: 'requires_action', attempt_id: 'setatt_2', next_action: ACTION });
    expect(Setup.checkSetupIntent(waiting)).toMatchObject({ status: 'requires_action', next_action: ACTION, latest_attempt: 'setatt_2' });
    expect(stateError(() => Setup.updateSetup(waiting, { payment_method: 'pm_other' }))).toBe('setup_intent_unexpected_state');
  });

  it('only unfinished intents cancel, and a finished one neither confirms nor updates', () => {
    const results: SetupResult[] = [{ outcome: 'verified', attempt_id: 'setatt_1', payment_method: 'pm_1' }, DECLINED];
    fc.assert(
      fc.property(fc.constantFrom(...results), fc.boolean(), (result, cancel_first) => {
        const ready = newSetup({ status: 'requires_confirmation', payment_method: 'pm_card_visa' });
        const after = cancel_first ? Setup.cancelSetup(ready, 'abandoned') : Setup.applySetupResult(ready, result);
        const finished = after.status === 'succeeded' || after.status === 'canceled';
        expect(stateError(() => Setup.cancelSetup(after, null)) === undefined).toBe(!finished);
        expect(stateError(() => Setup.beginSetupConfirm(after, 'pm_card_visa')) === undefined).toBe(!finished);
        expect(after.version).toBe(ready.version + 1);
      }),
    );
  });
});

function request(number: string, off_session: boolean): AuthorizeRequest {
  return {
    attempt_id: 'ch_1',
    merchant_id: 'acct_1',
    amount: 1000,
    currency: 'usd',
    card: { number, exp_month: 12, exp_year: 2034, cvc: undefined },
    capture: true,
    off_session,
  };
}

describe('sandbox off session', () => {
  const cases: Array<[string, boolean, boolean, string]> = [
    // card, off session, set up, outcome
    ['4000002760003184', false, false, 'requires_action'],
    ['4000002760003184', true, true, 'authentication_required'],
    ['4000002500003155', false, true, 'requires_action'],
    ['4000002500003155', true, false, 'authentication_required'],
    ['4000002500003155', true, true, 'authorized'],
    ['4000003800000446', false, false, 'requires_action'],
    ['4000003800000446', true, false, 'authorized'],
    ['4242424242424242', true, false, 'authorized'],
    ['4000000000000002', true, true, 'card_declined'],
  ];
  it.each(cases)('%s off_session=%s set_up=%s → %s', (number, off_session, set_up, expected) => {
    const { result } = decide(request(number, off_session), set_up);
    const outcome = result.outcome === 'declined' ? result.code : result.outcome;
    expect(outcome).toBe(expected);
    if (result.outcome === 'declined' && result.code === 'authentication_required') expect(result.decline_code).toBe('authentication_required');
  });
});
