import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import type { Pool } from '../../src/platform/db.js';
import { createPool } from '../../src/platform/db.js';
import { SandboxProcessor } from '../../src/services/connectors/adapters/sandbox.js';
import type { AuthorizeRequest, ProcessorNotification } from '../../src/services/connectors/domain/port.js';
import { createMigratedPool } from '../support/database.js';

/**
 * The sandbox's notifications through the port's hook: a dispute card's dispute is recorded with the
 * capture (automatic or manual, once however often the call is repeated, also from two processes), handed
 * over until acknowledged, and one the handler keeps rejecting backs off without holding back the others.
 */
let pool: Pool;
let other_pool: Pool;
let drop: () => Promise<void>;
const clock = new ManualClock(1_800_000_000_000);
beforeAll(async () => {
  const database = await createMigratedPool(10);
  pool = database.pool;
  drop = () => database.drop();
  other_pool = createPool(database.url, 10);
});
afterAll(async () => {
  await other_pool?.end();
  await drop?.();
});

let sequence = 0;
function request(number: string, capture = true): AuthorizeRequest {
  sequence += 1;
  return {
    attempt_id: `ch_notify_${sequence}`,
    merchant_id: 'acct_test',
    amount: 2000,
    currency: 'usd',
    card: { number, exp_month: 12, exp_year: 2034, cvc: '123' },
    capture,
  };
}

/** Everything the sandbox hands over now, acknowledged. */
async function drain(sandbox: SandboxProcessor): Promise<ProcessorNotification[]> {
  const seen: ProcessorNotification[] = [];
  await sandbox.deliverNotifications((n) => Promise.resolve(void seen.push(n)), 100);
  return seen;
}

describe('sandbox notifications', () => {
  it('a dispute card captured at once is notified once, however often and from however many processes authorize is repeated', async () => {
    const a = new SandboxProcessor({ pool, clock });
    const b = new SandboxProcessor({ pool: other_pool, clock });
    const fraud = request('4000000000000259');
    await Promise.all([a.authorize(fraud), b.authorize(fraud), a.authorize(fraud)]);
    await a.authorize(request('4242424242424242'));
    const [first, ...rest] = await drain(a);
    expect(rest).toEqual([]);
    expect(first).toEqual({
      id: `sbxn_dispute_${fraud.attempt_id}`,
      processor: 'sandbox',
      type: 'dispute.opened',
      attempt_id: fraud.attempt_id,
      merchant_id: 'acct_test',
      created_ms: clock.now_ms(),
      dispute: { amount: 2000, currency: 'usd', reason: 'fraudulent', inquiry: false },
    });
    expect(await drain(a)).toEqual([]);
  });

  it('a manual capture is notified for the captured amount, when captured and not before; a declined or voided one never', async () => {
    const sandbox = new SandboxProcessor({ pool, clock });
    const manual = request('4000000000002685', false);
    await sandbox.authorize(manual);
    expect(await drain(sandbox)).toEqual([]);
    await Promise.all([sandbox.capture(manual.attempt_id, 1500), sandbox.capture(manual.attempt_id, 1500)]);
    const notified = await drain(sandbox);
    expect(notified.map((n) => n.type === 'dispute.opened' && n.dispute)).toEqual([
      { amount: 1500, currency: 'usd', reason: 'product_not_received', inquiry: false },
    ]);
    const voided = request('4000000000000259', false);
    await sandbox.authorize(voided);
    await sandbox.void(voided.attempt_id);
    const inquiry = request('4000000000001976');
    const warning = request('4000000000005423');
    await sandbox.authorize(inquiry);
    await sandbox.authorize(warning);
    expect((await drain(sandbox)).map((n) => [n.attempt_id, n.type])).toEqual([
      [inquiry.attempt_id, 'dispute.opened'],
      [warning.attempt_id, 'fraud_warning.issued'],
    ]);
  });

  it('a notification the handler rejects is handed again after 1 s, then 2 s, without holding back newer ones', async () => {
    const sandbox = new SandboxProcessor({ pool, clock });
    const stuck = request('4000000000000259');
    await sandbox.authorize(stuck);
    const rejecting = (n: ProcessorNotification) =>
      n.attempt_id === stuck.attempt_id ? Promise.reject(new Error('charge not recorded yet')) : Promise.resolve();
    await expect(sandbox.deliverNotifications(rejecting, 100)).rejects.toThrow('charge not recorded yet');
    const later = request('4000000000000259');
    await sandbox.authorize(later);
    // Not due yet: only the newer one is handed over.
    expect((await drain(sandbox)).map((n) => n.attempt_id)).toEqual([later.attempt_id]);
    clock.advance(1_000);
    await expect(sandbox.deliverNotifications(rejecting, 100)).rejects.toThrow();
    clock.advance(1_000);
    expect(await drain(sandbox)).toEqual([]);
    clock.advance(1_000);
    expect((await drain(sandbox)).map((n) => n.attempt_id)).toEqual([stuck.attempt_id]);
    expect(await drain(sandbox)).toEqual([]);
  });
});
