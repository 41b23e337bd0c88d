#!/usr/bin/env node
// Writes src/services/events/domain/stripe-event-types.ts: every event type a Stripe webhook
// endpoint may enable, read from the `enabled_events` enum of POST /v1/webhook_endpoints in Stripe's
// OpenAPI description (API 2023-08-16). The server cannot read the spec at run time (it lives beside
// the repository, not in it), so the list is generated and test/unit/stripe-event-types.test.ts
// checks that it still matches the spec.
//
//   node scripts/stripe-event-types.mjs            (STRIPE_OPENAPI_SPEC overrides the spec's path)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SPEC_FILE = process.env.STRIPE_OPENAPI_SPEC ?? join(ROOT, '..', 'shared', 'stripe-openapi', 'spec3.2023-08-16.json');
const TARGET = join(ROOT, 'src', 'services', 'events', 'domain', 'stripe-event-types.ts');

/** The enum of enabled_events on endpoint create, without the '*' wildcard. */
export function stripeEventTypes(spec) {
  const schema = spec.paths['/v1/webhook_endpoints'].post.requestBody.content['application/x-www-form-urlencoded'].schema;
  return schema.properties.enabled_events.items.enum.filter((type) => type !== '*');
}

function render(types) {
  const lines = types.map((type) => `  '${type}',`).join('\n');
  return `/**
 * Every event type a Stripe webhook endpoint may enable (API 2023-08-16), generated from Stripe's
 * OpenAPI description by scripts/stripe-event-types.mjs; do not edit by hand. Endpoints accept any of
 * them, so an integration that subscribes to events Payrail does not emit yet keeps working.
 */
export const STRIPE_EVENT_TYPES = [
${lines}
] as const;
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const types = stripeEventTypes(JSON.parse(readFileSync(SPEC_FILE, 'utf8')));
  writeFileSync(TARGET, render(types));
  console.log(`${types.length} event types written to ${TARGET}`);
}
