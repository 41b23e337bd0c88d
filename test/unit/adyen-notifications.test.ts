import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hmacSignature, signingPayload } from '../../src/services/connectors/domain/adyen-hmac.js';
import { disputeReasonOf, eventOf, verifyAdyenNotification } from '../../src/services/connectors/domain/adyen-notifications.js';
import type { AdyenNotificationItem } from '../../src/services/connectors/domain/adyen-wire.js';
import { signItem } from '../../src/simulators/adyen/notifier.js';

/**
 * Adyen's standard notifications: the HMAC signature checked against Adyen's own documented example
 * (key, item and signature from Adyen's "Verify HMAC signatures"), every way a notification can be
 * forged or misdirected, and what each event code becomes.
 */

const DOCUMENTED_KEY = '44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056';
const OTHER_KEY = 'A'.repeat(64);
const documented = readFileSync(new URL('./adyen-wire/notification-authorisation.json', import.meta.url));
const account = { merchant_account: 'TestMerchant', hmac_key_hex: DOCUMENTED_KEY, merchant_id: 'acct_1' };

function item(overrides: Partial<AdyenNotificationItem> = {}): AdyenNotificationItem {
  return {
    eventCode: 'AUTHORISATION',
    success: 'true',
    pspReference: 'PSP0000000000001',
    merchantAccountCode: 'TestMerchant',
    merchantReference: 'ch_1',
    amount: { value: 1_000, currency: 'EUR' },
    eventDate: '2026-12-01T12:00:00+01:00',
    ...overrides,
  };
}

function body(items: AdyenNotificationItem[], key = DOCUMENTED_KEY): Buffer {
  const signed = items.map((entry) => ({
    NotificationRequestItem: { ...entry, additionalData: { ...entry.additionalData, hmacSignature: hmacSignature(entry, key) } },
  }));
  return Buffer.from(JSON.stringify({ live: 'false', notificationItems: signed }));
}

describe('HMAC signature', () => {
  it("matches Adyen's documented example", () => {
    const example = item({ pspReference: '7914073381342284', merchantReference: 'TestPayment-1407325143704', amount: { value: 1_130, currency: 'EUR' } });
    expect(signingPayload(example)).toBe('7914073381342284::TestMerchant:TestPayment-1407325143704:1130:EUR:AUTHORISATION:true');
    expect(hmacSignature(example, DOCUMENTED_KEY)).toBe('coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0=');
  });

  it("the simulator's own signer agrees with the connector's, original reference included", () => {
    const refund = item({ eventCode: 'REFUND', originalReference: 'PSP0000000000001', pspReference: 'PSP0000000000002', success: 'false' });
    expect(signItem(refund, OTHER_KEY)).toBe(hmacSignature(refund, OTHER_KEY));
  });
});

describe('verifying a notification request', () => {
  it("accepts Adyen's documented notification and answers [accepted]", () => {
    const verified = verifyAdyenNotification(documented, account);
    expect(verified).toMatchObject({ ok: true, ack: { status: 200, body: '[accepted]' } });
    expect(verified.ok && verified.events).toEqual([
      {
        kind: 'authorization',
        reference: 'TestPayment-1407325143704',
        processor_reference: '7914073381342284',
        result: { outcome: 'authorized', captured: false, cvc_check: 'unchecked' },
      },
    ]);
  });

  it.each([
    ['another key', () => body([item()], OTHER_KEY), 'item 0 has no valid HMAC signature'],
    ['a changed amount', () => Buffer.from(documented.toString().replace('"value": 1130', '"value": 1131')), 'item 0 has no valid HMAC signature'],
    ['a flipped outcome', () => Buffer.from(documented.toString().replace('"success": "true"', '"success": "false"')), 'item 0 has no valid HMAC signature'],
    [
      'no signature',
      () => Buffer.from(JSON.stringify({ live: 'false', notificationItems: [{ NotificationRequestItem: item() }] })),
      'item 0 has no valid HMAC signature',
    ],
    ['another merchant account', () => body([item({ merchantAccountCode: 'SomeoneElse' })]), 'item 0 is for another merchant account'],
    [
      'a forged item beside a genuine one',
      () =>
        Buffer.from(
          body([item()])
            .toString()
            .replace(']}', `,${JSON.stringify({ NotificationRequestItem: item({ merchantReference: 'ch_2' }) })}]}`),
        ),
      'item 1 has no valid HMAC signature',
    ],
    ['not JSON', () => Buffer.from('eventCode=AUTHORISATION'), 'not an Adyen notification request'],
    ['no items', () => Buffer.from(JSON.stringify({ live: 'false', notificationItems: [] })), 'not an Adyen notification request'],
  ])('refuses %s, saying why without the key', (_case, make, reason) => {
    const verified = verifyAdyenNotification(make(), account);
    expect(verified).toEqual({ ok: false, reason });
    expect(JSON.stringify(verified).toLowerCase()).not.toContain(DOCUMENTED_KEY.toLowerCase());
  });
});

describe('event codes as ProcessorEvents', () => {
  it('an authorisation names whether it was captured (metadata echo) and the CVC check', () => {
    const authorised = item({ additionalData: { 'metadata.payrail_capture': 'true', cvcResult: '1 Matches' } });
    expect(eventOf(authorised, 'acct_1')).toMatchObject({ kind: 'authorization', result: { outcome: 'authorized', captured: true, cvc_check: 'pass' } });
  });

  it('a refused authorisation maps its reason text when no code is given', () => {
    expect(eventOf(item({ success: 'false', reason: 'Not enough balance' }), 'acct_1')).toMatchObject({
      kind: 'authorization',
      result: { outcome: 'declined', decline_code: 'insufficient_funds', raw_code: '12' },
    });
    expect(eventOf(item({ success: 'false', reason: 'CVC Declined', additionalData: { refusalReasonCode: '24' } }), 'acct_1')).toMatchObject({
      result: { code: 'incorrect_cvc', cvc_check: 'fail', raw_code: '24' },
    });
  });

  it.each([
    ['CAPTURE', 'true', { kind: 'capture', success: true }],
    ['CAPTURE_FAILED', 'true', { kind: 'capture', success: false }],
    ['REFUND', 'false', { kind: 'refund', success: false }],
    ['REFUND_FAILED', 'true', { kind: 'refund', success: false }],
    ['CANCELLATION', 'true', { kind: 'cancel', success: true }],
    ['TECHNICAL_CANCEL', 'true', { kind: 'cancel', success: true }],
  ] as const)('%s success=%s', (eventCode, success, expected) => {
    expect(eventOf(item({ eventCode, success, pspReference: 'MOD0000000000001', merchantReference: 're_1' }), 'acct_1')).toEqual({
      ...expected,
      reference: 're_1',
      processor_reference: 'MOD0000000000001',
    });
  });

  it('the notice of a chargeback and the chargeback are one dispute, with Stripe reason and the account merchant', () => {
    const notice = eventOf(
      item({ eventCode: 'NOTIFICATION_OF_CHARGEBACK', originalReference: 'PAY1', pspReference: 'CB1', additionalData: { chargebackReasonCode: '10.4' } }),
      'acct_9',
    );
    const chargeback = eventOf(
      item({ eventCode: 'CHARGEBACK', originalReference: 'PAY1', pspReference: 'CB2', additionalData: { chargebackReasonCode: '10.4' } }),
      'acct_9',
    );
    expect(notice).toMatchObject({
      type: 'dispute.opened',
      id: 'adyen_dispute_PAY1',
      attempt_id: 'ch_1',
      merchant_id: 'acct_9',
      processor: 'adyen',
      dispute: { amount: 1_000, currency: 'eur', reason: 'fraudulent', inquiry: false },
    });
    expect(chargeback).toMatchObject({ id: 'adyen_dispute_PAY1' });
    expect(eventOf(item({ eventCode: 'REQUEST_FOR_INFORMATION', originalReference: 'PAY2' }), 'acct_9')).toMatchObject({ dispute: { inquiry: true } });
  });

  it('codes Payrail does not act on are acknowledged and dropped', () => {
    expect(eventOf(item({ eventCode: 'REPORT_AVAILABLE' }), 'acct_1')).toBeNull();
    expect(eventOf(item({ eventCode: 'CHARGEBACK', success: 'false' }), 'acct_1')).toBeNull();
  });

  it.each([
    ['13.1', 'product_not_received'],
    ['4853', 'product_unacceptable'],
    ['12.6.1', 'duplicate'],
    ['99', 'general'],
    [undefined, 'general'],
  ])('chargeback reason %s is %s', (code, reason) => {
    expect(disputeReasonOf(code)).toBe(reason);
  });
});
