import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/kernel/clock.js';
import { SandboxProcessor } from '../../src/services/connectors/adapters/sandbox.js';
import { ConnectorHealth, FaultyConnector, NO_FAULTS, RoutedTries, RoutingConnector } from '../../src/services/connectors/index.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { chargeIdOf } from '../support/stripe-objects.js';
import { LateConnector, staticDirectory } from '../support/routing.js';

/**
 * A processor that made the charge and lost the answer (a timeout after the charge): the client gets
 * the intent `processing` with 200, as Stripe answers, the same answer again on a retry with its key,
 * and the sweeper's status inquiry then settles it as succeeded, with the usual events, once.
 */

let t: TestPlatform;
let lossy: FaultyConnector;
beforeAll(async () => {
  const late = new LateConnector();
  t = await startTestPlatform({}, { connector: late });
  const sandbox = new SandboxProcessor({ pool: t.platform.database.pool });
  lossy = new FaultyConnector(sandbox, { ...NO_FAULTS, lost_answer: 1 });
  late.target = new RoutingConnector({
    directory: staticDirectory({ lossy, healthy: sandbox, sandbox }, ['lossy', 'healthy']),
    health: new ConnectorHealth(systemClock),
    tries: new RoutedTries(t.platform.database.pool),
    clock: systemClock,
  });
});
afterAll(async () => {
  await t?.stop();
});

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeout_ms = 20_000): Promise<T> {
  const deadline = Date.now() + timeout_ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('an unknown outcome, end to end', () => {
  it('answers processing, replays it for the same key, and settles to succeeded by inquiry, never charging at the next connector', async () => {
    const params = { amount: 2300, currency: 'usd', payment_method: 'pm_card_visa', confirm: true } as const;
    const first = await t.stripe.paymentIntents.create(params, { idempotencyKey: 'unknown-outcome-1' });
    expect(first.status).toBe('processing');
    const replay = await t.stripe.paymentIntents.create(params, { idempotencyKey: 'unknown-outcome-1' });
    expect(replay).toEqual(first);

    const settled = await until(
      () => t.stripe.paymentIntents.retrieve(first.id),
      (intent) => intent.status !== 'processing',
    );
    expect(settled.status).toBe('succeeded');
    const charge_id = chargeIdOf(settled);
    const charge = (await t.stripe.charges.retrieve(charge_id)) as unknown as { payrail_routing?: { tries: Array<Record<string, unknown>> } };
    expect(charge.payrail_routing?.tries).toEqual([
      expect.objectContaining({ connector_account: 'lossy', reference: charge_id, outcome: 'authorized', connector: 'sandbox' }),
    ]);
    const processor = await t.owner.query<{ attempt_id: string; amount_captured: number }>(
      `SELECT attempt_id, amount_captured FROM sandbox.attempts WHERE attempt_id LIKE $1`,
      [`${charge_id}%`],
    );
    expect(processor.rows).toEqual([{ attempt_id: charge_id, amount_captured: 2300 }]);

    const events = await until(
      () => t.stripe.events.list({ limit: 100 }),
      (list) => list.data.some((event) => event.type === 'payment_intent.succeeded'),
    );
    const about = events.data.filter(
      (event) => (event.data.object as { id: string }).id === first.id || (event.data.object as { id: string }).id === charge_id,
    );
    expect(about.filter((event) => event.type === 'payment_intent.succeeded')).toHaveLength(1);
    const succeeded = about.find((event) => event.type === 'charge.succeeded');
    expect((succeeded?.data.object as { payrail_routing?: unknown }).payrail_routing).toEqual(charge.payrail_routing);
  });

  it('a cascaded payment shows both tries on its charge', async () => {
    lossy.setPlan({ ...NO_FAULTS, unreachable: 1 });
    const intent = await t.stripe.paymentIntents.create({ amount: 1100, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    expect(intent.status).toBe('succeeded');
    const charge = (await t.stripe.charges.retrieve(chargeIdOf(intent))) as unknown as { payrail_routing: { tries: Array<Record<string, unknown>> } };
    expect(charge.payrail_routing.tries.map((entry) => [entry.connector_account, entry.outcome, entry.raw_code])).toEqual([
      ['lossy', 'unreachable', 'unreachable'],
      ['healthy', 'authorized', null],
    ]);
  });
});
