import StripeLatest from 'stripe-latest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { latestStripeClient } from '../support/stripe-latest.js';

/**
 * The newest stripe-node (devDependency alias `stripe-latest`) through saved cards and the older
 * integration style: a SetupIntent, an off-session payment, a token and a legacy charge.
 */
let t: TestPlatform;
let stripe: StripeLatest;
beforeAll(async () => {
  t = await startTestPlatform();
  stripe = latestStripeClient(t.url, t.secret_key);
});
afterAll(async () => {
  await t?.stop();
});

describe('the newest stripe-node: saved cards, tokens and legacy charges', () => {
  it('saves a card with a SetupIntent and charges it off session', async () => {
    const customer = await stripe.customers.create({ email: 'saved@example.com' });
    const setup = await stripe.setupIntents.create({ customer: customer.id, payment_method: 'pm_card_visa', confirm: true, usage: 'off_session' });
    expect(setup.status).toBe('succeeded');
    const [saved] = (await stripe.customers.listPaymentMethods(customer.id)).data;
    expect(saved?.id).toBe(setup.payment_method);
    const paid = await stripe.paymentIntents.create({
      amount: 1999,
      currency: 'usd',
      customer: customer.id,
      payment_method: saved?.id ?? '',
      off_session: true,
      confirm: true,
    });
    expect(paid.status).toBe('succeeded');
    const attempts = await stripe.setupAttempts.list({ setup_intent: setup.id });
    expect(attempts.data.map((attempt) => attempt.status)).toEqual(['succeeded']);
  });

  it('declines off session with authentication_required as a card error', async () => {
    const customer = await stripe.customers.create({});
    const error = await stripe.paymentIntents
      .create({ amount: 1000, currency: 'usd', customer: customer.id, payment_method: 'pm_card_authenticationRequired', off_session: true, confirm: true })
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(error).toBeInstanceOf(StripeLatest.errors.StripeCardError);
    expect(error).toMatchObject({ code: 'authentication_required', decline_code: 'authentication_required' });
  });

  it('tokenizes a card and charges the token once with the legacy Charges API', async () => {
    const token = await stripe.tokens.create({ card: { number: '4242424242424242', exp_month: '12', exp_year: '2034', cvc: '123' } });
    expect(token).toMatchObject({ object: 'token', used: false, card: { brand: 'Visa', last4: '4242' } });
    const charge = await stripe.charges.create({ amount: 1500, currency: 'usd', source: token.id });
    expect(charge).toMatchObject({ status: 'succeeded', payment_intent: null, source: { id: token.card?.id } });
    const again = await stripe.charges.create({ amount: 1500, currency: 'usd', source: token.id }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(again).toMatchObject({ statusCode: 400, code: 'token_already_used' });
  });
});
