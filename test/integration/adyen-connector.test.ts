import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/platform/db.js';
import type { AdyenConnector } from '../../src/services/connectors/adapters/adyen-connector.js';
import type { AuthorizeRequest } from '../../src/services/connectors/domain/port.js';
import { createMigratedPool } from '../support/database.js';
import type { AdyenWorld } from '../support/adyen.js';
import { eventually, startAdyenWorld } from '../support/adyen.js';

/**
 * The Adyen connector against the Adyen simulator over HTTP, with its records in real PostgreSQL and
 * the simulator's signed notifications verified and recorded by the connector: the flows, the decline
 * mapping, and the faults a real acquirer has (none may charge twice: the simulator counts payments).
 */

let pool: Pool;
let drop: () => Promise<void>;
let world: AdyenWorld;
let adyen: AdyenConnector;

beforeAll(async () => {
  ({ pool, drop } = await createMigratedPool(5));
  world = await startAdyenWorld(pool);
  adyen = world.connector();
});
afterAll(async () => {
  await world?.close();
  await drop?.();
});
beforeEach(() => world.simulator.faults.clear());

let sequence = 0;
function payment(number = '4111111145551142', overrides: Partial<AuthorizeRequest> = {}): AuthorizeRequest {
  sequence += 1;
  return {
    attempt_id: `ch_adyen_${Date.now().toString(36)}_${sequence}`,
    merchant_id: 'acct_adyen_test',
    amount: 2_500,
    currency: 'eur',
    card: { number, exp_month: 3, exp_year: 2030, cvc: number.startsWith('37') ? '7373' : '737' },
    capture: true,
    ...overrides,
  };
}

const notified = (reference: string, kind: string) =>
  eventually(() => world.receiver.events.find((event) => 'kind' in event && event.kind === kind && event.reference === reference));

describe('payments through Adyen', () => {
  it('authorizes and captures at once, remembered for status inquiries', async () => {
    const request = payment();
    await expect(adyen.authorize(request)).resolves.toEqual({ outcome: 'authorized', captured: true, cvc_check: 'pass' });
    expect(world.simulator.authorizationCount(request.attempt_id)).toBe(1);
    await expect(adyen.attemptStatus(request.attempt_id)).resolves.toMatchObject({ found: true, amount_captured: 2_500, voided: false });
  });

  it('captures later, refunds part once per refund id, and answers the refund status', async () => {
    const request = payment(undefined, { capture: false });
    await expect(adyen.authorize(request)).resolves.toMatchObject({ outcome: 'authorized', captured: false });
    await expect(adyen.capture(request.attempt_id, 2_000)).resolves.toEqual({ outcome: 'captured', amount_captured: 2_000 });
    await notified(request.attempt_id, 'capture');
    const refund_id = `re_${request.attempt_id}`;
    await expect(adyen.refund(refund_id, request.attempt_id, 500)).resolves.toEqual({ outcome: 'succeeded' });
    await expect(adyen.refund(refund_id, request.attempt_id, 500)).resolves.toEqual({ outcome: 'succeeded' });
    const sim_payment = world.simulator.book.paymentByReference('PayrailTestECOM', request.attempt_id);
    expect(sim_payment).toMatchObject({ captured: 2_000, refunded: 500 });
    await expect(adyen.refundStatus(refund_id)).resolves.toEqual({ found: true, outcome: 'succeeded' });
    await expect(adyen.refundStatus('re_never_sent')).resolves.toEqual({ found: false });
    await expect(adyen.attemptStatus(request.attempt_id)).resolves.toMatchObject({ amount_captured: 2_000, amount_refunded: 500 });
  });

  it('refuses to capture what Adyen never authorized', async () => {
    const request = payment('4000000000000002', { capture: false });
    await adyen.authorize(request);
    await expect(adyen.capture(request.attempt_id, 100)).resolves.toMatchObject({ outcome: 'failed' });
  });

  it('voids an authorization, which Adyen confirms by notification', async () => {
    const request = payment(undefined, { capture: false });
    await adyen.authorize(request);
    await adyen.void(request.attempt_id);
    expect(await notified(request.attempt_id, 'cancel')).toMatchObject({ success: true });
    expect(world.simulator.book.paymentByReference('PayrailTestECOM', request.attempt_id)?.status).toBe('cancelled');
    await expect(adyen.attemptStatus(request.attempt_id)).resolves.toMatchObject({ found: true, voided: true });
  });

  it.each([
    ['4000000000009995', { code: 'card_declined', decline_code: 'insufficient_funds', raw_code: '12' }],
    ['4000000000009987', { code: 'card_declined', decline_code: 'lost_card', raw_code: '5' }],
    ['4000000000009979', { code: 'card_declined', decline_code: 'stolen_card', raw_code: '5' }],
    ['4000000000000069', { code: 'expired_card', decline_code: 'expired_card', raw_code: '6' }],
    ['4000000000000127', { code: 'incorrect_cvc', decline_code: 'incorrect_cvc', cvc_check: 'fail', raw_code: '24' }],
    ['4000000000000119', { code: 'processing_error', decline_code: 'processing_error', raw_code: '4' }],
  ])('maps Adyen refusal of %s to Stripe words, keeping the raw code', async (number, expected) => {
    const request = payment(number);
    await expect(adyen.authorize(request)).resolves.toMatchObject({ outcome: 'declined', ...expected });
    // The AUTHORISATION notification says the same, and recording it changes nothing.
    const event = await notified(request.attempt_id, 'authorization');
    expect(event).toMatchObject({ result: { outcome: 'declined', decline_code: expected.decline_code } });
    await expect(adyen.attemptStatus(request.attempt_id)).resolves.toMatchObject({ found: true, result: { decline_code: expected.decline_code } });
  });

  it('completes 3-D Secure through /payments/details, either way', async () => {
    const passes = payment('4000002760003184');
    await expect(adyen.authorize(passes)).resolves.toEqual({ outcome: 'requires_action' });
    await expect(adyen.completeAuthentication(passes.attempt_id, true)).resolves.toMatchObject({ outcome: 'authorized', captured: true });
    await expect(adyen.capture(passes.attempt_id, 1)).resolves.toEqual({ outcome: 'captured', amount_captured: 2_500 });
    const fails = payment('4000002760003184');
    await adyen.authorize(fails);
    await expect(adyen.completeAuthentication(fails.attempt_id, false)).resolves.toMatchObject({ outcome: 'declined', raw_code: '11' });
  });

  it('declines a card that needs 3-D Secure when the customer is away', async () => {
    await expect(adyen.authorize(payment('4000002760003184', { off_session: true }))).resolves.toMatchObject({
      outcome: 'declined',
      code: 'authentication_required',
      raw_code: '38',
    });
  });

  it('answers a repeated authorization from its record without calling Adyen again', async () => {
    const request = payment();
    const first = await adyen.authorize(request);
    await expect(world.connector().authorize(request)).resolves.toEqual(first);
    expect(world.simulator.authorizationCount(request.attempt_id)).toBe(1);
  });

  it('refuses a capture beyond the authorization, and a refund beyond what is left, without asking Adyen', async () => {
    const request = payment(undefined, { capture: false });
    await adyen.authorize(request);
    await expect(adyen.capture(request.attempt_id, 2_501)).resolves.toMatchObject({ outcome: 'failed' });
    expect(world.simulator.book.paymentByReference('PayrailTestECOM', request.attempt_id)?.captured).toBe(0);
    await adyen.capture(request.attempt_id, 1_000);
    await expect(adyen.refund(`re_a_${request.attempt_id}`, request.attempt_id, 600)).resolves.toEqual({ outcome: 'succeeded' });
    await expect(adyen.refund(`re_b_${request.attempt_id}`, request.attempt_id, 401)).resolves.toMatchObject({ outcome: 'failed' });
    expect(world.simulator.book.paymentByReference('PayrailTestECOM', request.attempt_id)?.refunded).toBe(600);
  });

  it('a capture Adyen later reports failed is no longer counted as captured', async () => {
    const request = payment(undefined, { capture: false });
    await adyen.authorize(request);
    world.simulator.book.paymentByReference('PayrailTestECOM', request.attempt_id)!.status = 'cancelled'; // cancelled at Adyen behind Payrail's back
    await expect(adyen.capture(request.attempt_id, 2_500)).resolves.toMatchObject({ outcome: 'captured' });
    expect(await notified(request.attempt_id, 'capture')).toMatchObject({ success: false });
    await expect(adyen.attemptStatus(request.attempt_id)).resolves.toMatchObject({ amount_captured: 0 });
  });

  it("a capture failure recorded before the capture's answer is still not counted as captured", async () => {
    const request = payment(undefined, { capture: false });
    await adyen.authorize(request);
    world.simulator.book.paymentByReference('PayrailTestECOM', request.attempt_id)!.status = 'cancelled';
    // The CAPTURE_FAILED notification is recorded first, as when it overtakes the answer to /captures.
    const psp_reference = world.simulator.book.paymentByReference('PayrailTestECOM', request.attempt_id)!.pspReference;
    await adyen.recordEvents([{ kind: 'capture', reference: request.attempt_id, success: false, processor_reference: psp_reference }]);
    await expect(adyen.capture(request.attempt_id, 2_500)).resolves.toMatchObject({ outcome: 'captured' });
    await expect(adyen.attemptStatus(request.attempt_id)).resolves.toMatchObject({ amount_captured: 0 });
    expect(await notified(request.attempt_id, 'capture')).toMatchObject({ success: false });
    await expect(adyen.attemptStatus(request.attempt_id)).resolves.toMatchObject({ amount_captured: 0 });
  });

  it('never voids a captured payment', async () => {
    const request = payment();
    await adyen.authorize(request);
    await expect(adyen.void(request.attempt_id)).rejects.toThrow(/captured/);
    await expect(adyen.attemptStatus(request.attempt_id)).resolves.toMatchObject({ voided: false, amount_captured: 2_500 });
  });
});
