import type Stripe from 'stripe';

/**
 * The id of the intent's latest charge. Unexpanded, Stripe's type allows an id, an expanded Charge or
 * null; a test that reads the id where there is none fails here, naming what it got instead.
 */
export function chargeIdOf(intent: Pick<Stripe.PaymentIntent, 'id' | 'latest_charge'>): string {
  const charge = intent.latest_charge;
  if (typeof charge === 'string') return charge;
  throw new Error(`payment intent ${intent.id} has ${charge === null ? 'no latest_charge' : 'an expanded latest_charge'}, not a charge id`);
}
