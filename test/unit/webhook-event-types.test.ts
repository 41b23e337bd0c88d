import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVENT_TYPE_NAMES, PAYRAIL_EVENT_TYPE_NAMES } from '../../src/services/events/domain/event-types.js';
import { STRIPE_EVENT_TYPES } from '../../src/services/events/domain/stripe-event-types.js';
import { checkEnabledEvents } from '../../src/services/events/webhooks/endpoints.js';
import { PayrailError } from '../../src/kernel/errors.js';

/** The one list of event types against the code that emits events and docs/events.md. */

const OBJECTS = [
  'reconciliation',
  'payment_intent',
  'charge',
  'refund',
  'customer',
  'payment_method',
  'setup_intent',
  'checkout',
  'radar.early_fraud_warning',
  'payout',
  'test_helpers',
  'account',
  'review',
  'invoice',
  'invoiceitem',
  'product',
  'price',
  'transfer',
  'application_fee',
];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('event types', () => {
  it('lists every type the code emits, and nothing it does not', () => {
    const emitted = new Set<string>();
    const pattern = new RegExp(`type: '((?:${OBJECTS.join('|')})\\.[a-z_.]+)'`, 'g');
    for (const file of sources('src/services').filter((path) => !path.includes('/events/'))) {
      for (const match of readFileSync(file, 'utf8').matchAll(pattern)) emitted.add(match[1]!);
    }
    expect([...emitted].sort()).toEqual([...EVENT_TYPE_NAMES, ...PAYRAIL_EVENT_TYPE_NAMES].sort());
  });

  it("Payrail's own types are none of Stripe's, so no webhook endpoint can be sent one", () => {
    const stripe = new Set<string>(STRIPE_EVENT_TYPES);
    expect(PAYRAIL_EVENT_TYPE_NAMES.length).toBeGreaterThan(0);
    expect(PAYRAIL_EVENT_TYPE_NAMES.filter((type) => stripe.has(type) || (EVENT_TYPE_NAMES as readonly string[]).includes(type))).toEqual([]);
  });

  it('docs/events.md documents exactly these types', () => {
    const documented = readFileSync('docs/events.md', 'utf8')
      .split('\n')
      .map((line) => /^\| `([a-z_]+\.[a-z_.]+)` \|/.exec(line)?.[1])
      .filter((type): type is string => type !== undefined);
    expect(documented).toEqual([...EVENT_TYPE_NAMES, ...PAYRAIL_EVENT_TYPE_NAMES]);
  });

  it("enabled_events: * alone or Stripe's types (emitted yet or not), duplicates dropped", () => {
    expect(checkEnabledEvents(['*'])).toEqual(['*']);
    expect(checkEnabledEvents(['charge.succeeded', 'refund.created', 'charge.succeeded'])).toEqual(['charge.succeeded', 'refund.created']);
    // Stripe types Payrail does not emit yet are accepted: an endpoint set up for Stripe keeps working.
    expect(checkEnabledEvents(['charge.dispute.created', 'invoice.paid'])).toEqual(['charge.dispute.created', 'invoice.paid']);
    const bad = (values: string[]) => {
      try {
        checkEnabledEvents(values);
        return undefined;
      } catch (error) {
        return error as PayrailError;
      }
    };
    expect(bad(['charge.succeeded', 'charge.disputed'])).toMatchObject({ code: 'parameter_invalid', param: 'enabled_events[1]' });
    // Payrail's former type that Stripe never had is refused like any other unknown type.
    expect(bad(['payment_method.created'])).toMatchObject({ code: 'parameter_invalid', param: 'enabled_events[0]' });
    expect(bad(['*', 'charge.succeeded'])).toMatchObject({ code: 'parameter_invalid', param: 'enabled_events' });
    expect(bad([])).toMatchObject({ code: 'parameter_invalid_empty' });
    // A value that is not a plain type name is not echoed.
    expect(bad(['4242424242424242'])?.message).not.toContain('4242');
  });
});
