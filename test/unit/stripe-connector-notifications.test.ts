import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { SIGNATURE_TOLERANCE_S, checkSignature, verifyStripeNotification } from '../../src/services/connectors/domain/stripe-notifications.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';

/**
 * Stripe-Signature verification, against headers made by the official SDK
 * (`stripe.webhooks.generateTestHeaderString`), and the mapping of recorded webhook bodies to
 * ProcessorEvents.
 */

const here = dirname(fileURLToPath(import.meta.url));
const SECRET = 'whsec_unitTestSigningSecret0000000000000001';
const sdk = new Stripe('sk_test_unused', { apiVersion: '2023-08-16' });
const NOW_S = 1_796_157_600;

function sign(payload: string, timestamp = NOW_S, secret = SECRET): string {
  return sdk.webhooks.generateTestHeaderString({ payload, secret, timestamp });
}

function recordedEvent(type: string): string {
  const raw = readFileSync(join(here, 'stripe-wire', `event-${type.replace(/\./g, '-')}.json`), 'utf8');
  expect(stripeSchemaProblems('event', JSON.parse(raw))).toEqual([]);
  return raw;
}

function verified(raw: string): ReturnType<typeof verifyStripeNotification> {
  return verifyStripeNotification(sign(raw), Buffer.from(raw), SECRET, NOW_S);
}

describe('Stripe-Signature', () => {
  const body = Buffer.from('{"id":"evt_1","object":"event"}');

  it("accepts the official SDK's signature, and the SDK accepts the body the same way", () => {
    expect(checkSignature(sign(body.toString()), body, SECRET, NOW_S)).toEqual({ ok: true });
    // The SDK checks against the wall clock, so this pair is signed now.
    const now_s = Math.floor(Date.now() / 1000);
    const header = sign(body.toString(), now_s);
    expect(checkSignature(header, body, SECRET, now_s)).toEqual({ ok: true });
    expect(() => sdk.webhooks.constructEvent(body, header, SECRET, SIGNATURE_TOLERANCE_S)).not.toThrow();
  });

  it('refuses another secret, a missing header, a header with no v1 and a stale or future timestamp', () => {
    expect(checkSignature(sign(body.toString(), NOW_S, 'whsec_another'), body, SECRET, NOW_S)).toMatchObject({ ok: false });
    expect(checkSignature(undefined, body, SECRET, NOW_S)).toEqual({ ok: false, reason: 'no Stripe-Signature header' });
    expect(checkSignature(`t=${NOW_S}`, body, SECRET, NOW_S)).toMatchObject({ ok: false, reason: 'no v1 signature in Stripe-Signature' });
    const stale = sign(body.toString(), NOW_S - SIGNATURE_TOLERANCE_S - 1);
    expect(checkSignature(stale, body, SECRET, NOW_S)).toMatchObject({ ok: false, reason: 'Stripe-Signature timestamp outside the tolerance' });
    expect(checkSignature(sign(body.toString(), NOW_S - SIGNATURE_TOLERANCE_S), body, SECRET, NOW_S)).toEqual({ ok: true });
    expect(checkSignature(sign(body.toString(), NOW_S + SIGNATURE_TOLERANCE_S + 1), body, SECRET, NOW_S)).toMatchObject({ ok: false });
  });

  it('accepts any one matching v1 of several, as while a secret is rolled', () => {
    const good = sign(body.toString())
      .split(',')
      .find((part) => part.startsWith('v1='))!;
    const header = `t=${NOW_S},v1=${'0'.repeat(64)},${good}`;
    expect(checkSignature(header, body, SECRET, NOW_S)).toEqual({ ok: true });
  });

  it('a reason never carries the secret or the signature', () => {
    const header = sign(body.toString(), NOW_S, 'whsec_another');
    const result = checkSignature(header, body, SECRET, NOW_S);
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain(SECRET);
    expect(JSON.stringify(result)).not.toContain(header.split('v1=')[1]!);
  });

  it('any change to a signed body is refused (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 200 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (payload, at, flip) => {
        const header = sign(payload);
        const original = Buffer.from(payload, 'utf8');
        expect(checkSignature(header, original, SECRET, NOW_S)).toEqual({ ok: true });
        const changed = Buffer.from(original);
        const index = at % changed.length;
        changed[index] = (changed[index]! ^ flip) & 0xff;
        expect(checkSignature(header, changed, SECRET, NOW_S).ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});

describe('events', () => {
  it('payment_intent.succeeded settles the attempt named in metadata as authorized and captured', () => {
    const result = verified(recordedEvent('payment_intent.succeeded'));
    expect(result).toMatchObject({ ok: true, ack: { status: 200 } });
    expect(result.ok && result.events).toEqual([
      {
        kind: 'authorization',
        reference: expect.stringMatching(/^ch_/) as unknown,
        processor_reference: expect.stringMatching(/^pi_/) as unknown,
        result: { outcome: 'authorized', captured: true, cvc_check: 'unchecked' },
      },
    ]);
  });

  it('amount_capturable_updated is an authorization not captured; payment_failed a decline with the raw code', () => {
    const held = verified(recordedEvent('payment_intent.amount_capturable_updated'));
    expect(held.ok && held.events[0]).toMatchObject({ kind: 'authorization', result: { outcome: 'authorized', captured: false } });
    const failed = verified(recordedEvent('payment_intent.payment_failed'));
    expect(failed.ok && failed.events).toEqual([
      expect.objectContaining({
        kind: 'authorization',
        reference: 'ch_01JDRECORDED0000000000003C',
        result: expect.objectContaining({
          outcome: 'declined',
          code: 'card_declined',
          decline_code: 'generic_decline',
          raw_code: 'generic_decline',
        }) as unknown,
      }),
    ]);
  });

  it('payment_intent.canceled is a void', () => {
    const canceled = verified(recordedEvent('payment_intent.canceled'));
    expect(canceled.ok && canceled.events).toEqual([expect.objectContaining({ kind: 'cancel', success: true, reference: 'ch_01JDRECORDED000000000000AK' })]);
  });

  it('charge.refunded names refunds only when the charge lists them (2023-08-16 does not)', () => {
    const raw = recordedEvent('charge.refunded');
    const plain = verified(raw);
    expect(plain).toMatchObject({ ok: true, events: [] });
    const event = JSON.parse(raw) as { data: { object: Record<string, unknown> } };
    const refund = JSON.parse(readFileSync(join(here, 'stripe-wire', 'refund-succeeded.json'), 'utf8')) as { body: { id: string } };
    event.data.object.refunds = { object: 'list', data: [refund.body], has_more: false, url: '/v1/refunds' };
    const listed = verified(JSON.stringify(event));
    expect(listed.ok && listed.events).toEqual([
      { kind: 'refund', reference: 're_01JDRECORDED0000000000007G', success: true, processor_reference: refund.body.id },
    ]);
  });

  it('charge.refund.updated to failed is a failed refund', () => {
    const refund = JSON.parse(readFileSync(join(here, 'stripe-wire', 'refund-succeeded.json'), 'utf8')) as { body: Record<string, unknown> };
    const event = { id: 'evt_1', object: 'event', type: 'charge.refund.updated', data: { object: { ...refund.body, status: 'failed' } } };
    const result = verified(JSON.stringify(event));
    expect(result.ok && result.events).toEqual([expect.objectContaining({ kind: 'refund', success: false })]);
  });

  it('events about objects Payrail did not make, or of other types, are acknowledged and carry nothing', () => {
    const raw = JSON.parse(recordedEvent('payment_intent.succeeded')) as { data: { object: { metadata: object } }; type: string };
    raw.data.object.metadata = {};
    expect(verified(JSON.stringify(raw))).toMatchObject({ ok: true, events: [] });
    expect(verified(JSON.stringify({ ...raw, type: 'customer.created' }))).toMatchObject({ ok: true, events: [] });
  });

  it('a signed body that is not an event is refused', () => {
    expect(verified('not json')).toEqual({ ok: false, reason: 'the body is not a Stripe event' });
    expect(verified('{"object":"event"}')).toEqual({ ok: false, reason: 'the body is not a Stripe event' });
  });
});
