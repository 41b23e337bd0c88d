import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Pool } from '../../src/platform/db.js';
import type { AuthorizeRequest, AuthorizeResult } from '../../src/services/connectors/domain/port.js';
import { ProcessorOutcomeUnknown } from '../../src/services/connectors/domain/port.js';
import { createMigratedPool } from '../support/database.js';
import type { AdyenWorld } from '../support/adyen.js';
import { ADYEN_MERCHANT_ACCOUNT, eventually, startAdyenWorld } from '../support/adyen.js';

/**
 * Many payments through a faulty Adyen (every fault kind at a seeded rate, duplicated and reordered
 * notifications), each retried with its own id until it has an answer, as payments' status inquiry
 * resends: no payment is made twice, every answer the connector gives is what Adyen holds, and once
 * the notifications are in, every status inquiry agrees with both.
 */

const PAYMENTS = 200;
const CONCURRENCY = 4;
const TRIES_MAX = 12;
const FAULT_RATE = 0.04;

let pool: Pool;
let drop: () => Promise<void>;
let world: AdyenWorld;

beforeAll(async () => {
  ({ pool, drop } = await createMigratedPool(CONCURRENCY + 2));
  world = await startAdyenWorld(pool, { seed: 14, hold_ms: 1_000 });
});
afterAll(async () => {
  await world?.close();
  await drop?.();
});

it(`${PAYMENTS} payments under every fault: none made twice, every answer what Adyen holds`, { timeout: 120_000 }, async () => {
  const adyen = world.connector({ timeout_ms: 300 });
  world.simulator.faults.set({
    rates: { error_before: FAULT_RATE, error_after: FAULT_RATE, timeout_after: FAULT_RATE, drop_before: FAULT_RATE, drop_after: FAULT_RATE },
    notifications: { duplicate: true, out_of_order: true, delay_ms: 20 },
  });
  const requests: AuthorizeRequest[] = Array.from({ length: PAYMENTS }, (_, index) => ({
    attempt_id: `ch_soak_${Date.now().toString(36)}_${index}`,
    merchant_id: 'acct_adyen_test',
    amount: 100 + index,
    currency: 'eur',
    card: { number: index % 5 === 0 ? '4000000000009995' : '4111111145551142', exp_month: 3, exp_year: 2030, cvc: '737' },
    capture: index % 2 === 0,
  }));
  const answers = new Map<string, AuthorizeResult>();
  let unknowns = 0;
  const queue = [...requests];
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let request = queue.shift(); request; request = queue.shift()) {
        for (let attempt = 1; attempt <= TRIES_MAX && !answers.has(request.attempt_id); attempt += 1) {
          try {
            answers.set(request.attempt_id, await adyen.authorize(request));
          } catch (error) {
            if (!(error instanceof ProcessorOutcomeUnknown)) throw error;
            unknowns += 1;
          }
        }
      }
    }),
  );
  world.simulator.faults.set({ rates: {} });

  expect(unknowns).toBeGreaterThan(PAYMENTS * FAULT_RATE);
  expect(answers.size).toBe(PAYMENTS);
  for (const request of requests) {
    expect(world.simulator.authorizationCount(request.attempt_id)).toBe(1);
    const held = world.simulator.book.paymentByReference(ADYEN_MERCHANT_ACCOUNT, request.attempt_id);
    const answer = answers.get(request.attempt_id);
    expect(answer?.outcome).toBe(held?.status === 'authorised' ? 'authorized' : 'declined');
    expect(held?.captured).toBe(answer?.outcome === 'authorized' && request.capture ? request.amount : 0);
  }
  await eventually(() => world.simulator.notifier.pending() === 0, 30_000);
  for (const request of requests) {
    const status = await adyen.attemptStatus(request.attempt_id);
    expect(status).toMatchObject({ found: true, result: answers.get(request.attempt_id) });
  }
});
