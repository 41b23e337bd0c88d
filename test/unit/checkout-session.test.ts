import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { CheckoutSession } from '../../src/services/checkout/domain/session.js';
import * as Session from '../../src/services/checkout/domain/session.js';
import { PayrailError } from '../../src/kernel/errors.js';

/** The Checkout Session's pure rules: totals, the open → complete | expired machine, redirect URLs. */

function session(overrides: Partial<CheckoutSession> = {}): CheckoutSession {
  return {
    id: 'cs_test_01',
    merchant_id: 'acct_1',
    mode: 'payment',
    status: 'open',
    payment_status: 'unpaid',
    currency: 'usd',
    line_items: [
      { id: 'li_1', price_id: 'price_1', product_id: 'prod_1', name: 'Mug', product_description: null, currency: 'usd', unit_amount: 1250, quantity: 3 },
      { id: 'li_2', price_id: 'price_2', product_id: 'prod_2', name: 'Pen', product_description: null, currency: 'usd', unit_amount: 199, quantity: 1 },
    ],
    success_url: 'https://shop.example/done?id={CHECKOUT_SESSION_ID}',
    cancel_url: null,
    customer: null,
    customer_email: null,
    customer_details: null,
    client_reference_id: null,
    metadata: {},
    payment_intent: null,
    setup_intent: null,
    payment_intent_data: {
      capture_method: null,
      description: null,
      metadata: {},
      receipt_email: null,
      setup_future_usage: null,
      statement_descriptor: null,
      statement_descriptor_suffix: null,
    },
    submit_type: null,
    page_secret: 'secret',
    expires_at: 2_000,
    created: 1_000,
    version: 1,
    ...overrides,
  };
}

const details = { email: 'ada@example.com', name: null };

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return error instanceof PayrailError ? error.code : undefined;
  }
  return undefined;
}

describe('checkout session rules', () => {
  it('totals unit amount times quantity in minor units', () => {
    expect(Session.amountSubtotal(session())).toBe(3 * 1250 + 199);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 99_999 }), fc.integer({ min: 1, max: 999 })), { maxLength: 100 }), (items) => {
        const line_items = items.map(([unit_amount, quantity], i) => ({ ...session().line_items[0]!, id: `li_${i}`, unit_amount, quantity }));
        const total = Session.amountSubtotal({ line_items });
        expect(Number.isSafeInteger(total)).toBe(true);
        expect(total).toBe(items.reduce((sum, [amount, quantity]) => sum + amount * quantity, 0));
      }),
    );
  });

  it('completes an open session once: paid, unpaid for a manual capture, no payment in setup mode', () => {
    const paid = Session.complete(session({ payment_intent: 'pi_1' }), { captured: true, details });
    expect(paid).toMatchObject({ status: 'complete', payment_status: 'paid', customer_details: details, version: 2 });
    const held = Session.complete(session({ payment_intent_data: { ...session().payment_intent_data, capture_method: 'manual' } }), {
      captured: false,
      details,
    });
    expect(held.payment_status).toBe('unpaid');
    expect(() => Session.checkSession(held)).not.toThrow();
    const saved = Session.complete(session({ mode: 'setup', line_items: [], payment_status: 'no_payment_required', setup_intent: 'seti_1' }), {
      captured: false,
      details,
    });
    expect(saved.payment_status).toBe('no_payment_required');
    expect(() => Session.complete(paid, { captured: true, details })).toThrow(PayrailError);
  });

  it('expires only an open session, with Stripe’s message naming the status', () => {
    const expired = Session.expire(session());
    expect(expired).toMatchObject({ status: 'expired', version: 2 });
    let error: unknown;
    try {
      Session.expire(expired);
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'checkout_session_unexpected_state' });
    expect((error as Error).message).toBe('Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of `expired`.');
    expect(Session.isPastExpiry(session(), 1_999)).toBe(false);
    expect(Session.isPastExpiry(session(), 2_000)).toBe(true);
    expect(Session.isPastExpiry(expired, 3_000)).toBe(false);
  });

  it('refuses states that cannot exist: a complete unpaid automatic capture, mixed currencies, intents of the other mode', () => {
    expect(() => Session.checkSession(session({ status: 'complete', payment_status: 'unpaid' }))).toThrow();
    expect(() => Session.checkSession(session({ currency: 'eur' }))).toThrow();
    expect(() => Session.checkSession(session({ setup_intent: 'seti_1' }))).toThrow();
    expect(() => Session.checkSession(session({ mode: 'setup', line_items: [], payment_intent: 'pi_1' }))).toThrow();
  });

  it('counts the page’s card submissions up to the cap, then refuses them', () => {
    const ninth = Session.countAttempt(session({ attempts: 8 }));
    expect(ninth).toMatchObject({ attempts: 9, version: 2 });
    expect(Session.countAttempt(ninth).attempts).toBe(Session.MAX_PAGE_ATTEMPTS);
    expect(codeOf(() => Session.countAttempt(session({ attempts: Session.MAX_PAGE_ATTEMPTS })))).toBe('rate_limit');
    expect(codeOf(() => Session.countAttempt(session({ status: 'expired' })))).toBe('checkout_session_unexpected_state');
    expect(Session.countAttempt(session()).attempts).toBe(1);
  });

  it('puts the session id wherever {CHECKOUT_SESSION_ID} appears, and nowhere else', () => {
    expect(Session.redirectUrl('https://s.example/done?id={CHECKOUT_SESSION_ID}&again={CHECKOUT_SESSION_ID}', 'cs_test_9')).toBe(
      'https://s.example/done?id=cs_test_9&again=cs_test_9',
    );
    expect(Session.redirectUrl('https://s.example/done', 'cs_test_9')).toBe('https://s.example/done');
  });
});
