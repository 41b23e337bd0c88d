import type { Review } from '../domain/review.js';
import { reasonOf } from '../domain/review.js';

/** Stripe's `review` object. */
export function renderReview(review: Review): { id: string } & Record<string, unknown> {
  return {
    id: review.id,
    object: 'review',
    billing_zip: review.billing_zip,
    charge: review.charge,
    closed_reason: review.closed_reason,
    created: review.created,
    ip_address: review.ip_address,
    // Payrail's IP geolocation gives a country only, not the city-level location Stripe reports here.
    ip_address_location: null,
    livemode: false,
    open: review.open,
    opened_reason: review.opened_reason,
    // A legacy Charges API charge's PaymentIntent is internal: Stripe's review then has none (the field is absent).
    ...(review.charges_api ? {} : { payment_intent: review.payment_intent }),
    reason: reasonOf(review),
    session: null,
  };
}
