import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import type { Pool } from '../../src/platform/db.js';
import type { AdyenConnector } from '../../src/services/connectors/adapters/adyen-connector.js';
import { CANCELLED_UNKNOWN_OUTCOME } from '../../src/services/connectors/adapters/adyen-connector.js';
import type { AuthorizeRequest } from '../../src/services/connectors/domain/port.js';
import { ProcessorOutcomeUnknown, ProcessorUnreachable } from '../../src/services/connectors/domain/port.js';
import { createMigratedPool } from '../support/database.js';
import { freePort } from '../support/processes.js';
import type { AdyenWorld } from '../support/adyen.js';
import { ADYEN_API_KEY, ADYEN_HMAC_KEY, eventually, startAdyenWorld } from '../support/adyen.js';

/**
 * Every fault the simulator injects, against the connector: what the connector throws (unreachable:
 * another processor may try; unknown: only an inquiry or a notification settles it), how the outcome
 * is then settled, and that retries with the same Idempotency-Key never make a second payment.
 */

let pool: Pool;
let drop: () => Promise<void>;
let world: AdyenWorld;
let adyen: AdyenConnector;
const thrown: string[] = [];

beforeAll(async () => {
  ({ pool, drop } = await createMigratedPool(5));
  world = await startAdyenWorld(pool);
  adyen = world.connector({ timeout_ms: 500 });
});
afterAll(async () => {
  await world?.close();
  await drop?.();
});
beforeEach(() => {
  world.simulator.faults.clear();
  world.receiver.refuse_next = 0;
});

let sequence = 0;
function payment(overrides: Partial<AuthorizeRequest> = {}): AuthorizeRequest {
  sequence += 1;
  return {
    attempt_id: `ch_fault_${Date.now().toString(36)}_${sequence}`,
    merchant_id: 'acct_adyen_test',
    amount: 1_000,
    currency: 'eur',
    card: { number: '4111111145551142', exp_month: 3, exp_year: 2030, cvc: '737' },
    capture: true,
    ...overrides,
  };
}

async function failure(work: Promise<unknown>): Promise<Error> {
  const error = await work.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(Error);
  thrown.push((error as Error).message);
  return error as Error;
}

const authorizationEvent = (reference: string) =>
  eventually(() => world.receiver.events.find((event) => 'kind' in event && event.kind === 'authorization' && event.reference === reference));

describe('faults after the payment was made', () => {
  it.each(['timeout_after', 'error_after', 'drop_after'] as const)(
    '%s: unknown, settled by the notification, and a retry charges nothing twice',
    async (kind) => {
      const request = payment();
      world.simulator.faults.set({ next: [{ endpoint: 'payments', kind, status: 500 }] });
      expect(await failure(adyen.authorize(request))).toBeInstanceOf(ProcessorOutcomeUnknown);
      expect(world.simulator.authorizationCount(request.attempt_id)).toBe(1);
      await authorizationEvent(request.attempt_id);
      await expect(adyen.attemptStatus(request.attempt_id)).resolves.toMatchObject({ found: true, result: { outcome: 'authorized', captured: true } });
      await expect(adyen.authorize(request)).resolves.toMatchObject({ outcome: 'authorized' });
      expect(world.simulator.authorizationCount(request.attempt_id)).toBe(1);
    },
  );

  it('an answer lost with no notification yet: a resend with the same key gets the first answer', async () => {
    const request = payment();
    world.simulator.notifyTo(null);
    try {
      world.simulator.faults.set({ next: [{ endpoint: 'payments', kind: 'error_after', status: 502 }] });
      expect(await failure(adyen.authorize(request))).toBeInstanceOf(ProcessorOutcomeUnknown);
      await expect(adyen.attemptStatus(request.attempt_id)).resolves.toEqual({ found: 'unknown' });
      await expect(adyen.authorize(request)).resolves.toMatchObject({ outcome: 'authorized' });
      expect(world.simulator.authorizationCount(request.attempt_id)).toBe(1);
    } finally {
      world.simulator.notifyTo(world.receiver.url);
    }
  });

  it('a slow Adyen past the timeout is unknown, never a failure', async () => {
    const request = payment();
    world.simulator.faults.set({ latency_ms: 800 });
    expect(await failure(adyen.authorize(request))).toBeInstanceOf(ProcessorOutcomeUnknown);
    world.simulator.faults.clear();
    await authorizationEvent(request.attempt_id);
    await expect(adyen.authorize(request)).resolves.toMatchObject({ outcome: 'authorized' });
    expect(world.simulator.authorizationCount(request.attempt_id)).toBe(1);
  });

  it('a capture whose answer was lost is sent again with its key and captures once', async () => {
    const request = payment({ capture: false });
    await adyen.authorize(request);
    world.simulator.faults.set({ next: [{ endpoint: 'captures', kind: 'timeout_after', status: 500 }] });
    expect(await failure(adyen.capture(request.attempt_id, 1_000))).toBeInstanceOf(ProcessorOutcomeUnknown);
    await expect(adyen.capture(request.attempt_id, 1_000)).resolves.toEqual({ outcome: 'captured', amount_captured: 1_000 });
    const captures = () => world.receiver.events.filter((event) => 'kind' in event && event.kind === 'capture' && event.reference === request.attempt_id);
    await eventually(() => captures().length >= 1);
    expect(world.simulator.book.paymentByReference('PayrailTestECOM', request.attempt_id)?.captured).toBe(1_000);
    expect(new Set(captures().map((event) => ('processor_reference' in event ? event.processor_reference : '')))).toHaveProperty('size', 1);
  });

  it('a refund whose answer was lost is settled by the refund status inquiry, refunding once', async () => {
    const request = payment();
    await adyen.authorize(request);
    const refund_id = `re_${request.attempt_id}`;
    world.simulator.faults.set({ next: [{ endpoint: 'refunds', kind: 'drop_after', status: 500 }] });
    expect(await failure(adyen.refund(refund_id, request.attempt_id, 400))).toBeInstanceOf(ProcessorOutcomeUnknown);
    await expect(adyen.refundStatus(refund_id)).resolves.toEqual({ found: true, outcome: 'succeeded' });
    await expect(adyen.refund(refund_id, request.attempt_id, 400)).resolves.toEqual({ outcome: 'succeeded' });
    expect(world.simulator.book.paymentByReference('PayrailTestECOM', request.attempt_id)?.refunded).toBe(400);
  });
});

describe('faults before anything was processed', () => {
  it.each(['error_before', 'drop_before'] as const)('%s: unknown to the connector, and the retry makes the one payment', async (kind) => {
    const request = payment();
    world.simulator.faults.set({ next: [{ endpoint: 'payments', kind, status: 503 }] });
    expect(await failure(adyen.authorize(request))).toBeInstanceOf(ProcessorOutcomeUnknown);
    expect(world.simulator.authorizationCount(request.attempt_id)).toBe(0);
    await expect(adyen.authorize(request)).resolves.toMatchObject({ outcome: 'authorized' });
    expect(world.simulator.authorizationCount(request.attempt_id)).toBe(1);
  });

  it('a refused connection is unreachable, and the attempt is not found at Adyen', async () => {
    const closed = world.connector({ credentials: { base_url: `http://127.0.0.1:${await freePort()}` } });
    const request = payment();
    expect(await failure(closed.authorize(request))).toBeInstanceOf(ProcessorUnreachable);
    await expect(closed.attemptStatus(request.attempt_id)).resolves.toEqual({ found: false });
  });

  it('a wrong API key is unreachable (nothing processed), and the error names no key', async () => {
    const wrong = world.connector({ credentials: { api_key: 'AQEwrongkey000000000000' } });
    const request = payment();
    const error = await failure(wrong.authorize(request));
    expect(error).toBeInstanceOf(ProcessorUnreachable);
    expect(error.message).toContain('401');
    expect(world.simulator.authorizationCount(request.attempt_id)).toBe(0);
  });

  it('two sends of one attempt at once: Adyen processes one, the other is told it is in progress', async () => {
    const request = payment();
    world.simulator.faults.set({ latency_ms: 200 });
    const results = await Promise.allSettled([adyen.authorize(request), world.connector({ timeout_ms: 2_000 }).authorize(request)]);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((result) => result.status === 'rejected');
    expect(rejected?.status === 'rejected' && rejected.reason).toBeInstanceOf(ProcessorOutcomeUnknown);
    expect(world.simulator.authorizationCount(request.attempt_id)).toBe(1);
  });
});

describe('settling an outcome nobody reported', () => {
  it('past the settle time, a technical cancel closes the attempt as a confirmed failure', async () => {
    const clock = new ManualClock(Date.now());
    const connector = world.connector({ clock, settle_after_ms: 60_000, timeout_ms: 500 });
    const request = payment();
    world.simulator.faults.set({ next: [{ endpoint: 'payments', kind: 'drop_before', status: 500 }] });
    expect(await failure(connector.authorize(request))).toBeInstanceOf(ProcessorOutcomeUnknown);
    await expect(connector.attemptStatus(request.attempt_id)).resolves.toEqual({ found: 'unknown' });
    clock.advance(60_000);
    await expect(connector.attemptStatus(request.attempt_id)).resolves.toEqual({ found: 'unknown' });
    await eventually(() => world.receiver.events.find((event) => 'kind' in event && event.kind === 'cancel' && event.reference === request.attempt_id));
    await expect(connector.attemptStatus(request.attempt_id)).resolves.toMatchObject({
      found: true,
      voided: true,
      result: { outcome: 'declined', code: 'processing_error', raw_code: CANCELLED_UNKNOWN_OUTCOME },
    });
    // The cancelled reference can never be charged afterwards, even by a late resend.
    await expect(connector.authorize(request)).resolves.toMatchObject({ outcome: 'declined' });
    expect(world.simulator.authorizationCount(request.attempt_id)).toBe(0);
  });
});

describe('notifications under faults', () => {
  it('duplicated and out of order, every one verifies and the record ends the same', async () => {
    world.simulator.faults.set({ notifications: { duplicate: true, out_of_order: true, delay_ms: 1_000 } });
    const request = payment({ capture: false });
    await adyen.authorize(request);
    await adyen.capture(request.attempt_id, 1_000);
    const mine = () => world.receiver.events.filter((event) => 'kind' in event && event.reference === request.attempt_id);
    await eventually(() => mine().length === 4);
    expect(mine().map((event) => ('kind' in event ? event.kind : ''))).toEqual(['capture', 'capture', 'authorization', 'authorization']);
    await expect(adyen.attemptStatus(request.attempt_id)).resolves.toMatchObject({ found: true, result: { outcome: 'authorized' }, amount_captured: 1_000 });
    expect(world.receiver.rejected).toEqual([]);
  });

  it('a notification not accepted is sent again until it is', async () => {
    world.receiver.refuse_next = 2;
    const request = payment();
    await adyen.authorize(request);
    await authorizationEvent(request.attempt_id);
    const deliveries = await eventually(() => {
      const mine = world.simulator.notifier.deliveries.filter((delivery) => delivery.merchantReference === request.attempt_id);
      return mine.length === 3 && mine;
    });
    expect(deliveries.map((delivery) => [delivery.attempt, delivery.accepted])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
  });

  it('no error message carries the API key or the HMAC key', () => {
    expect(thrown.length).toBeGreaterThan(5);
    for (const message of [...thrown, ...world.receiver.rejected]) {
      expect(message).not.toContain(ADYEN_API_KEY);
      expect(message.toLowerCase()).not.toContain(ADYEN_HMAC_KEY.toLowerCase());
    }
  });
});
