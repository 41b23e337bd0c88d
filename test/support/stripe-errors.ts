import Stripe from 'stripe';
import { expect } from 'vitest';

/** Resolves to the error a Stripe call rejects with; fails the test if the call succeeds. */
export async function rejection(call: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await call;
  } catch (error) {
    expect(error).toBeInstanceOf(Stripe.errors.StripeError);
    return error as Stripe.errors.StripeError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}
