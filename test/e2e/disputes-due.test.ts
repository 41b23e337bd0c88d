import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import { createLogger } from '../../src/platform/logger.js';
import { decideDueDisputes } from '../../src/services/disputes/index.js';
import { consumerLag } from '../../src/services/events/app/consumer-status.js';
import { LEDGER_CONSUMER_NAME } from '../../src/services/ledger/app/consumer.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';

/** A chargeback nobody answers by its due date is lost, as on Stripe; an answered one is not. (The clock is the test's.) */
const clock = new ManualClock(Date.now());
let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform({}, { clock });
});
afterAll(async () => {
  await t?.stop();
});

const WAIT_LIMIT_MS = 20_000;
const DAY_MS = 86_400_000;

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The merchant's whole balance, pending and available, once the ledger has posted everything. */
async function total(): Promise<number> {
  await until(
    () => consumerLag(t.platform.database.pool, LEDGER_CONSUMER_NAME, 0),
    (lag) => lag.events_behind === 0,
    'the ledger',
  );
  const balance = await t.stripe.balance.retrieve();
  return (balance.available[0]?.amount ?? NaN) + (balance.pending[0]?.amount ?? NaN);
}

async function disputed(payment_method: string, amount: number): Promise<Stripe.Dispute> {
  const intent = await t.stripe.paymentIntents.create({ amount, currency: 'usd', payment_method, confirm: true });
  return (
    await until(
      () => t.stripe.disputes.list({ payment_intent: intent.id }),
      (l) => l.data.length > 0,
      'the dispute',
    )
  ).data[0]!;
}

describe('the response deadline', () => {
  it('an unanswered chargeback is lost once due_by has passed; an answered one and an inquiry are not', async () => {
    const unanswered = await disputed('pm_card_createDispute', 2000);
    const answered = await disputed('pm_card_createDispute', 2100);
    const inquiry = await disputed('pm_card_createDisputeInquiry', 2200);
    await t.stripe.disputes.update(answered.id, { evidence: { product_description: 'A lamp, delivered' } });
    const total_before = await total();
    // A day before the deadline, a run of the decision job (the scheduled one runs too) leaves it open.
    clock.advance(20 * DAY_MS);
    await decideDueDisputes(t.platform.disputes, createLogger('silent'));
    expect((await t.stripe.disputes.retrieve(unanswered.id)).status).toBe('needs_response');
    clock.advance(2 * DAY_MS);
    const lost = await until(
      () => t.stripe.disputes.retrieve(unanswered.id),
      (d) => d.status === 'lost',
      'the unanswered dispute to be lost',
    );
    expect(lost.evidence_details).toMatchObject({ submission_count: 0, due_by: unanswered.evidence_details.due_by });
    expect((await t.stripe.disputes.retrieve(answered.id)).status).toBe('under_review');
    expect((await t.stripe.disputes.retrieve(inquiry.id)).status).toBe('warning_needs_response');
    const closed = await t.stripe.events.list({ type: 'charge.dispute.closed' });
    expect(closed.data.map((event) => (event.data.object as { id: string }).id)).toEqual([unanswered.id]);
    // Losing moves nothing more: the money left when the dispute opened (pending turned available meanwhile).
    expect(await total()).toBe(total_before);
  });
});
