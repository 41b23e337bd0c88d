import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EVENT_TYPE_NAMES } from '../../src/services/events/domain/event-types.js';
import { STRIPE_EVENT_TYPES } from '../../src/services/events/domain/stripe-event-types.js';

/** The generated list of Stripe's event types against Stripe's OpenAPI description, and what Payrail emits against it. */

const here = dirname(fileURLToPath(import.meta.url));
const SPEC_PATH = process.env.STRIPE_OPENAPI_SPEC ?? resolve(here, '../../../shared/stripe-openapi/spec3.2023-08-16.json');

interface Spec {
  paths: Record<string, { post: { requestBody: { content: Record<string, { schema: { properties: Record<string, { items: { enum: string[] } }> } }> } } }>;
}

const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as Spec;

function enabledEventsEnum(path: string): string[] {
  return spec.paths[path]!.post.requestBody.content['application/x-www-form-urlencoded']!.schema.properties.enabled_events!.items.enum;
}

describe("Stripe's event types", () => {
  it('stripe-event-types.ts is the enabled_events enum of POST /v1/webhook_endpoints, without * (else: node scripts/stripe-event-types.mjs)', () => {
    const from_spec = enabledEventsEnum('/v1/webhook_endpoints').filter((type) => type !== '*');
    expect([...STRIPE_EVENT_TYPES]).toEqual(from_spec);
    expect(from_spec.length).toBeGreaterThan(200);
  });

  it('updating an endpoint allows the same types as creating one', () => {
    expect(enabledEventsEnum('/v1/webhook_endpoints/{webhook_endpoint}')).toEqual(enabledEventsEnum('/v1/webhook_endpoints'));
  });

  it('every type Payrail emits is a Stripe type', () => {
    const stripe = new Set<string>(STRIPE_EVENT_TYPES);
    expect(EVENT_TYPE_NAMES.filter((type) => !stripe.has(type))).toEqual([]);
    expect(EVENT_TYPE_NAMES).not.toContain('payment_method.created');
  });
});
