import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/platform/logger.js';
import type { ProcessorNotification } from '../../src/services/connectors/index.js';
import { decideDueDisputes, disputeLedgerRecords, fraudLabels, notificationHandler } from '../../src/services/disputes/index.js';
import { consumerLag } from '../../src/services/events/app/consumer-status.js';
import { LEDGER_CONSUMER_NAME } from '../../src/services/ledger/app/consumer.js';
import { verifyLedger } from '../../src/services/ledger/app/verify.js';
import { ledgerRecords } from '../../src/services/payments/index.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { chargeIdOf } from '../support/stripe-objects.js';

/**
 * Disputes under repetition and concurrency: a notification delivered again, or by several
 * processes at once, opens one dispute; concurrent evidence submissions count once; a decision run
 * twice (two schedulers, a crashed run redone) posts once; and `ledger verify` sees every dispute's
 * money and names a dispute whose postings do not match it.
 */
let t: TestPlatform;
let merchant_id: string;
const logger = createLogger('silent');
const WAIT_LIMIT_MS = 20_000;

beforeAll(async () => {
  t = await startTestPlatform();
  merchant_id = (await t.owner.query<{ id: string }>('SELECT id FROM merchants.merchants ORDER BY created LIMIT 1')).rows[0]!.id;
});
afterAll(async () => {
  await t?.stop();
});

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function count(sql: string, values: unknown[]): Promise<number> {
  return Number((await t.owner.query<{ n: string }>(sql, values)).rows[0]?.n ?? -1);
}

const transfers = (source: string, kind: string) => count('SELECT count(*) AS n FROM ledger.transfers WHERE source_id = $1 AND kind = $2', [source, kind]);
const events = (object_id: string, type: string) => count('SELECT count(*) AS n FROM events.outbox WHERE object_id = $1 AND type = $2', [object_id, type]);

async function ledgerCaughtUp(): Promise<void> {
  await until(
    () => consumerLag(t.platform.database.pool, LEDGER_CONSUMER_NAME, 0),
    (lag) => lag.events_behind === 0,
    'the ledger',
  );
}

async function disputed(amount: number): Promise<Stripe.Dispute> {
  const intent = await t.stripe.paymentIntents.create({ amount, currency: 'usd', payment_method: 'pm_card_createDispute', confirm: true });
  const list = await until(
    () => t.stripe.disputes.list({ payment_intent: intent.id }),
    (l) => l.data.length > 0,
    'the dispute',
  );
  return list.data[0]!;
}

function notification(id: string, attempt_id: string, amount: number): ProcessorNotification {
  return {
    id,
    processor: 'race-test',
    type: 'dispute.opened',
    attempt_id,
    merchant_id,
    created_ms: Date.now(),
    dispute: { amount, currency: 'usd', reason: 'fraudulent', inquiry: false },
  };
}

describe('opening', () => {
  it('a notification delivered ten times at once, and again later, opens one dispute and withdraws once', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 5000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
    const charge = chargeIdOf(intent);
    const handle = notificationHandler(t.platform.disputes, logger);
    const first = notification('race-1', charge, 5000);
    await Promise.all(Array.from({ length: 10 }, () => handle(first)));
    await handle(first);
    const listed = await t.stripe.disputes.list({ charge });
    expect(listed.data).toHaveLength(1);
    await ledgerCaughtUp();
    expect(await transfers(listed.data[0]!.id, 'dispute')).toBe(1);
    expect(await events(listed.data[0]!.id, 'charge.dispute.created')).toBe(1);
    expect(await events(listed.data[0]!.id, 'charge.dispute.funds_withdrawn')).toBe(1);
    // Another notification (another id) about the same charge is another dispute: Stripe's multiple disputes.
    await handle(notification('race-2', charge, 1000));
    expect((await t.stripe.disputes.list({ charge })).data.map((d) => d.amount)).toEqual([1000, 5000]);
  });

  it("the sandbox's notifications, delivered by five callers at once beside the scheduled job, open one dispute each", async () => {
    const connector = t.platform.disputes.payments.connector;
    const deliver = connector.deliverNotifications?.bind(connector);
    if (!deliver) throw new Error('the sandbox delivers notifications');
    const intents = await Promise.all(
      [1, 2, 3].map((i) => t.stripe.paymentIntents.create({ amount: 900 + i, currency: 'usd', payment_method: 'pm_card_createDispute', confirm: true })),
    );
    const handle = notificationHandler(t.platform.disputes, logger);
    await Promise.all(Array.from({ length: 5 }, () => deliver(handle, 100)));
    for (const intent of intents) {
      const list = await until(
        () => t.stripe.disputes.list({ payment_intent: intent.id }),
        (l) => l.data.length > 0,
        'the dispute',
      );
      expect(list.data).toHaveLength(1);
    }
    expect(
      await count('SELECT count(*) AS n FROM sandbox.notifications WHERE acknowledged_at_ms IS NULL AND attempt_id = ANY($1)', [intents.map(chargeIdOf)]),
    ).toBe(0);
  });
});

describe('early fraud warnings', () => {
  it('a dispute opening on a warned charge makes the warning no longer actionable, once, with an updated event', async () => {
    const intent = await t.stripe.paymentIntents.create({ amount: 4100, currency: 'usd', payment_method: 'pm_card_createIssuerFraudRecord', confirm: true });
    const charge = chargeIdOf(intent);
    const warning = (
      await until(
        () => t.stripe.radar.earlyFraudWarnings.list({ charge }),
        (l) => l.data.length > 0,
        'the warning',
      )
    ).data[0]!;
    expect(warning.actionable).toBe(true);
    const handle = notificationHandler(t.platform.disputes, logger);
    await Promise.all(Array.from({ length: 4 }, () => handle(notification('warned-1', charge, 4100))));
    expect((await t.stripe.radar.earlyFraudWarnings.retrieve(warning.id)).actionable).toBe(false);
    expect(await events(warning.id, 'radar.early_fraud_warning.updated')).toBe(1);
    // A second dispute on the charge finds nothing left to settle.
    await handle(notification('warned-2', charge, 100));
    expect(await events(warning.id, 'radar.early_fraud_warning.updated')).toBe(1);
    expect((await t.stripe.disputes.list({ charge })).data).toHaveLength(2);
  });
});

describe('answering', () => {
  it('six concurrent evidence submissions: one commits, the others are refused, and it counts once', async () => {
    const dispute = await disputed(2500);
    const answers = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => t.stripe.disputes.update(dispute.id, { evidence: { uncategorized_text: `our answer ${i}` } })),
    );
    const committed = answers.filter((a) => a.status === 'fulfilled');
    expect(committed).toHaveLength(1);
    for (const refused of answers.filter((a): a is PromiseRejectedResult => a.status === 'rejected')) {
      expect(['lock_timeout', 'dispute_unexpected_state']).toContain((refused.reason as { code: string }).code);
    }
    const after = await t.stripe.disputes.retrieve(dispute.id);
    expect(after).toMatchObject({ status: 'under_review', evidence_details: { submission_count: 1 } });
    expect(after.evidence.uncategorized_text).toBe((committed[0] as PromiseFulfilledResult<Stripe.Dispute>).value.evidence.uncategorized_text);
    expect(await events(dispute.id, 'charge.dispute.updated')).toBe(1);
  });

  it('close racing a winning submission: exactly one of them applies, and the money moves once', async () => {
    const dispute = await disputed(2600);
    const [closed, submitted] = await Promise.allSettled([
      t.stripe.disputes.close(dispute.id),
      t.stripe.disputes.update(dispute.id, { evidence: { uncategorized_text: 'winning_evidence' } }),
    ]);
    expect([closed.status, submitted.status].filter((s) => s === 'fulfilled')).toHaveLength(1);
    const final = await until(
      () => t.stripe.disputes.retrieve(dispute.id),
      (d) => d.status === 'won' || d.status === 'lost',
      'the outcome',
    );
    await ledgerCaughtUp();
    expect(await transfers(dispute.id, 'dispute')).toBe(1);
    expect(await transfers(dispute.id, 'dispute_reversal')).toBe(final.status === 'won' ? 1 : 0);
    expect(await events(dispute.id, 'charge.dispute.closed')).toBe(1);
  });

  it('decision runs racing each other (two schedulers, a crashed run redone) decide once', async () => {
    const dispute = await disputed(2700);
    await t.stripe.disputes.update(dispute.id, { evidence: { uncategorized_text: 'winning_evidence' } });
    await Promise.all(Array.from({ length: 4 }, () => decideDueDisputes(t.platform.disputes, logger)));
    await decideDueDisputes(t.platform.disputes, logger);
    expect((await t.stripe.disputes.retrieve(dispute.id)).status).toBe('won');
    await ledgerCaughtUp();
    expect(await transfers(dispute.id, 'dispute_reversal')).toBe(1);
    expect(await events(dispute.id, 'charge.dispute.funds_reinstated')).toBe(1);
    expect(await events(dispute.id, 'charge.dispute.closed')).toBe(1);
  });
});

describe('fraud labels and card data', () => {
  it('fraudLabels yields the charges disputed as fraudulent since a time, oldest first, and not the ones the merchant won', async () => {
    const since_s = Math.floor(Date.now() / 1000);
    const fraud = await disputed(3100);
    const won = await disputed(3200);
    await t.stripe.disputes.update(won.id, { evidence: { uncategorized_text: 'winning_evidence' } });
    await until(
      () => t.stripe.disputes.retrieve(won.id),
      (d) => d.status === 'won',
      'the win',
    );
    const not_received = await t.stripe.paymentIntents.create({
      amount: 3300,
      currency: 'usd',
      payment_method: 'pm_card_createDisputeProductNotReceived',
      confirm: true,
    });
    await until(
      () => t.stripe.disputes.list({ payment_intent: not_received.id }),
      (l) => l.data.length > 0,
      'the dispute',
    );
    const labels: { charge_id: string; merchant_id: string; disputed_at: number }[] = [];
    for await (const label of fraudLabels(t.platform.database.pool, since_s)) labels.push(label);
    expect(labels).toEqual([{ charge_id: fraud.charge, merchant_id, disputed_at: fraud.created }]);
    const later: unknown[] = [];
    for await (const label of fraudLabels(t.platform.database.pool, fraud.created + 3600)) later.push(label);
    expect(later).toEqual([]);
  });

  it("the sandbox's notifications and the disputes keep no card number", async () => {
    const stored = await t.owner.query<{ data: string }>(
      `SELECT data::text AS data FROM sandbox.notifications UNION ALL SELECT dispute::text FROM sandbox.attempts WHERE dispute IS NOT NULL
       UNION ALL SELECT state::text FROM disputes.disputes`,
    );
    expect(stored.rows.length).toBeGreaterThan(5);
    for (const row of stored.rows) expect(row.data).not.toMatch(/4000000000000259|4000000000002685|4000000000001976|4000000000005423/);
  });
});

describe('ledger verify', () => {
  it('reconciles every dispute with funds moved, and names one whose state the postings do not match', async () => {
    const lost = await disputed(2800);
    await t.stripe.disputes.close(lost.id);
    await ledgerCaughtUp();
    const now_s = Math.floor(Date.now() / 1000);
    const clean = await verifyLedger(t.platform.database.pool, now_s, ledgerRecords, disputeLedgerRecords);
    expect(clean.problems).toEqual([]);
    expect(clean.counts.disputes).toBeGreaterThanOrEqual(7);
    // As if the dispute had been won without its reversal posted.
    await t.owner.query(`UPDATE disputes.disputes SET state = jsonb_set(state::jsonb, '{funds_reinstated_at}', to_jsonb($2::bigint))::json WHERE id = $1`, [
      lost.id,
      now_s,
    ]);
    const tampered = await verifyLedger(t.platform.database.pool, now_s, ledgerRecords, disputeLedgerRecords);
    expect(tampered.problems).toEqual([expect.stringContaining(`dispute ${lost.id}`)]);
    expect(tampered.problems[0]).toContain('has no dispute_reversal transfer');
  });
});
