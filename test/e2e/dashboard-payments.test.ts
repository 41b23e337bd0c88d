import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import { createDashboardUser } from '../../src/services/dashboard/index.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import type { Receiver } from '../support/webhook-receiver.js';
import { startReceiver, waitFor } from '../support/webhook-receiver.js';
import type { DashboardSession as Session } from '../support/dashboard-session.js';
import { signInToDashboard } from '../support/dashboard-session.js';

/**
 * The dashboard's payments, money and customers API against a started platform: every filter
 * narrows, pages neither skip nor repeat, the detail's timeline carries the refund, its ledger
 * postings and its webhook delivery, actions run the /v1 use cases, roles and merchants are enforced
 * at the API, and no card number or CVC is ever in an answer.
 */

const PASSWORD = 'correct horse battery staple';
const RAW_CARD = '4000056655665556';
const RAW_CVC = '314';
type Role = 'owner' | 'support' | 'analyst' | 'other_owner';

let t: TestPlatform;
let receiver: Receiver;
const sessions = {} as Record<Role, Session>;
/** Every answer's text, searched for card data at the end. */
const answered: string[] = [];

interface Answer {
  status: number;
  body: Record<string, unknown> & { data?: Record<string, unknown>[]; error?: { type: string; code: string; message: string } };
}

async function call(role: Role, method: 'GET' | 'POST', path: string, body?: object): Promise<Answer> {
  const session = sessions[role];
  const response = await fetch(`${t.url}/dashboard/api${path}`, {
    method,
    headers: { cookie: session.cookie, ...(method === 'POST' ? { 'x-csrf-token': session.csrf_token, 'content-type': 'application/json' } : {}) },
    ...(method === 'POST' ? { body: JSON.stringify(body ?? {}) } : {}),
  });
  const text = await response.text();
  answered.push(text);
  return { status: response.status, body: JSON.parse(text) as Answer['body'] };
}

async function ids(role: Role, query: string): Promise<string[]> {
  const answer = await call(role, 'GET', `/payments?limit=100&${query}`);
  expect(answer.status).toBe(200);
  return (answer.body.data ?? []).map((row) => String(row.id));
}

function signIn(email: string): Promise<Session> {
  return signInToDashboard(t.url, email, PASSWORD);
}

async function merchantOf(intent_id: string): Promise<string> {
  const row = await t.owner.query<{ merchant_id: string }>('SELECT merchant_id FROM payments.payment_intents WHERE id = $1', [intent_id]);
  return row.rows[0]?.merchant_id ?? '';
}

const made = {} as Record<
  'visa' | 'mastercard' | 'euro' | 'tagged' | 'receipt' | 'held' | 'held_too' | 'declined' | 'open' | 'raw' | 'other' | 'other_secure',
  Stripe.PaymentIntent
>;
let customer: Stripe.Customer;

beforeAll(async () => {
  t = await startTestPlatform();
  receiver = await startReceiver();
  const endpoint = await t.stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['*'] });
  receiver.secret = endpoint.secret ?? '';
  const pay = (params: Stripe.PaymentIntentCreateParams) => t.stripe.paymentIntents.create({ confirm: true, ...params });
  customer = await t.stripe.customers.create({ email: 'Buyer@Example.com', payment_method: 'pm_card_mastercard' });
  made.visa = await pay({ amount: 1000, currency: 'usd', payment_method: 'pm_card_visa' });
  made.mastercard = await pay({ amount: 2500, currency: 'usd', payment_method: 'pm_card_mastercard', customer: customer.id });
  made.euro = await pay({ amount: 4000, currency: 'eur', payment_method: 'pm_card_visa' });
  made.tagged = await pay({ amount: 1200, currency: 'usd', payment_method: 'pm_card_visa', metadata: { order: 'A-17', channel: 'web' } });
  made.receipt = await pay({ amount: 1300, currency: 'usd', payment_method: 'pm_card_visa', receipt_email: 'receipt@example.com' });
  made.held = await pay({ amount: 5000, currency: 'usd', payment_method: 'pm_card_visa', capture_method: 'manual' });
  made.held_too = await pay({ amount: 5100, currency: 'usd', payment_method: 'pm_card_visa', capture_method: 'manual' });
  made.declined = await pay({ amount: 700, currency: 'usd', payment_method: 'pm_card_chargeDeclined' }).catch(
    async (error: { raw?: { payment_intent?: Stripe.PaymentIntent } }) => error.raw?.payment_intent as Stripe.PaymentIntent,
  );
  made.open = await t.stripe.paymentIntents.create({ amount: 900, currency: 'usd' });
  const card = await t.stripe.paymentMethods.create({ type: 'card', card: { number: RAW_CARD, exp_month: 12, exp_year: 2040, cvc: RAW_CVC } });
  made.raw = await pay({ amount: 1900, currency: 'usd', payment_method: card.id });
  const other = await t.newMerchant();
  made.other = await other.stripe.paymentIntents.create({ amount: 3300, currency: 'usd', payment_method: 'pm_card_visa', confirm: true });
  made.other_secure = await other.stripe.paymentIntents.create({
    amount: 3400,
    currency: 'usd',
    payment_method: 'pm_card_authenticationRequired',
    confirm: true,
  });
  const merchant_id = await merchantOf(made.visa.id);
  const pool = t.platform.database.pool;
  for (const role of ['owner', 'support', 'analyst'] as const) {
    await createDashboardUser(pool, { merchant_id, email: `${role}@example.com`, password: PASSWORD, role });
    sessions[role] = await signIn(`${role}@example.com`);
  }
  await createDashboardUser(pool, { merchant_id: await merchantOf(made.other.id), email: 'other@example.com', password: PASSWORD, role: 'owner' });
  sessions.other_owner = await signIn('other@example.com');
}, 90_000);

afterAll(async () => {
  await receiver?.close();
  await t?.stop();
});

describe('the payments list', () => {
  it('narrows by each filter to exactly the payments that match', async () => {
    expect(made.declined?.id).toMatch(/^pi_/);
    expect(await ids('owner', 'status=requires_capture')).toEqual([made.held_too.id, made.held.id]);
    expect(await ids('owner', 'status=requires_payment_method')).toEqual([made.open.id, made.declined.id]);
    expect(await ids('owner', 'amount_gte=2500&amount_lte=4000')).toEqual([made.euro.id, made.mastercard.id]);
    expect(await ids('owner', 'currency=eur')).toEqual([made.euro.id]);
    expect(await ids('owner', 'email=buyer@example.com')).toEqual([made.mastercard.id]);
    expect(await ids('owner', 'email=RECEIPT@example.com')).toEqual([made.receipt.id]);
    expect(await ids('owner', 'last4=4444')).toEqual([made.mastercard.id]);
    expect(await ids('owner', 'last4=5556')).toEqual([made.raw.id]);
    expect(await ids('owner', 'metadata_key=order')).toEqual([made.tagged.id]);
    expect(await ids('owner', 'metadata_key=order&metadata_value=A-17')).toEqual([made.tagged.id]);
    expect(await ids('owner', 'metadata_key=order&metadata_value=A-18')).toEqual([]);
    const created = made.visa.created;
    expect(await ids('owner', `created_gte=${created + 3600}`)).toEqual([]);
    expect((await ids('owner', `created_gte=${created - 1}&created_lte=${created + 3600}`)).length).toBe(10);
  });

  it('shows each row with its card, refunds and customer, and refuses an unknown filter the Stripe way', async () => {
    const row = (await call('owner', 'GET', '/payments?email=buyer@example.com')).body.data?.[0];
    expect(row).toMatchObject({ id: made.mastercard.id, amount: 2500, amount_refunded: 0, currency: 'usd', status: 'succeeded' });
    expect(row).toMatchObject({ customer_email: 'Buyer@Example.com', card: { brand: 'mastercard', last4: '4444' } });
    const refused = await call('owner', 'GET', '/payments?colour=red');
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ type: 'invalid_request_error', code: 'parameter_unknown' });
  });

  it('pages through every payment newest first with no gap and no repeat', async () => {
    const all = await ids('owner', '');
    expect(all.length).toBe(10);
    const walked: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const answer = await call('owner', 'GET', `/payments?limit=3${cursor ? `&starting_after=${cursor}` : ''}`);
      walked.push(...(answer.body.data ?? []).map((row) => String(row.id)));
      cursor = answer.body.next_cursor as string | null;
      expect(answer.body.has_more).toBe(cursor !== null);
      if (!cursor) break;
    }
    expect(walked).toEqual(all);
    expect([...all].sort().reverse()).toEqual(all);
  });
});

describe('actions', () => {
  it('refuses a partial refund larger than the payment with a Stripe-shaped 400, and refunds nothing', async () => {
    const answer = await call('support', 'POST', `/payments/${made.visa.id}/refund`, { amount: 1001 });
    expect(answer.status).toBe(400);
    expect(answer.body.error?.type).toBe('invalid_request_error');
    expect(typeof answer.body.error?.message).toBe('string');
    const negative = await call('support', 'POST', `/payments/${made.visa.id}/refund`, { amount: -5 });
    expect(negative.status).toBe(400);
    expect((await t.stripe.refunds.list({ payment_intent: made.visa.id })).data).toEqual([]);
  });

  it('lets an analyst refund nothing: 403 at the API and no refund made', async () => {
    const answer = await call('analyst', 'POST', `/payments/${made.visa.id}/refund`, {});
    expect(answer.status).toBe(403);
    expect(answer.body.error?.code).toBe('dashboard_permission_denied');
    expect((await t.stripe.refunds.list({ payment_intent: made.visa.id })).data).toEqual([]);
    expect((await t.stripe.paymentIntents.retrieve(made.held.id)).status).toBe('requires_capture');
    expect((await call('analyst', 'POST', `/payments/${made.held.id}/capture`, {})).status).toBe(403);
    expect((await t.stripe.paymentIntents.retrieve(made.held.id)).status).toBe('requires_capture');
  });

  it('refunds part of a payment as support: the refund shows in /v1, the list, the balance and the timeline', async () => {
    const before = await t.stripe.balance.retrieve();
    await waitFor('the capture posted', async () => (await t.stripe.balanceTransactions.list({ source: made.visa.latest_charge as string })).data.length > 0);
    const answer = await call('support', 'POST', `/payments/${made.visa.id}/refund`, { amount: 400 });
    expect(answer.status).toBe(200);
    expect(answer.body.payment_intent).toMatchObject({ id: made.visa.id, object: 'payment_intent' });
    const refunds = (await t.stripe.refunds.list({ payment_intent: made.visa.id })).data;
    expect(refunds.map((refund) => refund.amount)).toEqual([400]);
    const row = (await call('support', 'GET', `/payments?last4=4242&amount_lte=1000`)).body.data?.find((r) => r.id === made.visa.id);
    expect(row?.amount_refunded).toBe(400);
    await waitFor('the refund posted', async () => (await t.stripe.balanceTransactions.list({ source: refunds[0]?.id ?? '' })).data.length > 0);
    const v1 = await t.stripe.balance.retrieve();
    expect(v1).not.toEqual(before);
    const dashboard = await call('owner', 'GET', '/balances');
    const usd = (entries: { amount: number; currency: string }[]) => entries.find((entry) => entry.currency === 'usd')?.amount;
    expect(usd(dashboard.body.pending as { amount: number; currency: string }[])).toBe(usd(v1.pending));
    expect(usd(dashboard.body.available as { amount: number; currency: string }[])).toBe(usd(v1.available));
    await waitFor('the refund webhook answered', () => receiver.delivered().some((event) => event.type === 'charge.refunded'));
    await waitFor('its attempt recorded', async () => {
      const detail = (await call('support', 'GET', `/payments/${made.visa.id}`)).body;
      return (detail.deliveries as { status_code: number }[]).some((d) => d.status_code === 200) && (detail.ledger as unknown[]).length >= 2;
    });
    const detail = (await call('support', 'GET', `/payments/${made.visa.id}`)).body;
    const timeline = detail.timeline as { kind: string; title: string; detail: string }[];
    const kinds = new Set(timeline.map((entry) => entry.kind));
    for (const kind of ['intent', 'attempt', 'risk', 'capture', 'refund', 'ledger', 'event', 'webhook']) expect(kinds).toContain(kind);
    expect(timeline.find((entry) => entry.kind === 'refund')?.detail).toBe('$4.00 usd');
    const ledger = detail.ledger as { kind: string; postings: { amount: number }[] }[];
    expect(ledger.map((transfer) => transfer.kind)).toEqual(expect.arrayContaining(['capture', 'refund']));
    for (const transfer of ledger) expect(transfer.postings.reduce((sum, posting) => sum + posting.amount, 0)).toBe(0);
    expect(timeline.some((entry) => entry.kind === 'webhook' && entry.detail.endsWith('→ 200'))).toBe(true);
    expect(detail.payment).toMatchObject({ id: made.visa.id, amount_refunded: 400 });
    const audit = (await call('owner', 'GET', '/audit_log')).body.data ?? [];
    const refunds_logged = audit.filter((entry) => entry.action === 'dashboard.payment.refund');
    expect(refunds_logged).toHaveLength(1);
    expect(refunds_logged[0]).toMatchObject({ user_email: 'support@example.com', target: made.visa.id });
  });

  it('captures and cancels through the same use cases as /v1', async () => {
    const captured = await call('support', 'POST', `/payments/${made.held.id}/capture`, { amount_to_capture: 4000 });
    expect(captured.status).toBe(200);
    expect(captured.body.payment_intent).toMatchObject({ status: 'succeeded', amount_received: 4000 });
    expect((await t.stripe.paymentIntents.retrieve(made.held.id)).amount_received).toBe(4000);
    const canceled = await call('owner', 'POST', `/payments/${made.held_too.id}/cancel`, {});
    expect(canceled.body.payment_intent).toMatchObject({ status: 'canceled' });
    const again = await call('owner', 'POST', `/payments/${made.held_too.id}/cancel`, {});
    expect(again.status).toBe(400);
    expect(again.body.error?.code).toBe('payment_intent_unexpected_state');
  });
});

describe('a retried action', () => {
  it('refunds once and logs once when the same Idempotency-Key is sent twice', async () => {
    const session = sessions.support;
    const refund = () =>
      fetch(`${t.url}/dashboard/api/payments/${made.receipt.id}/refund`, {
        method: 'POST',
        headers: { cookie: session.cookie, 'x-csrf-token': session.csrf_token, 'content-type': 'application/json', 'idempotency-key': 'dashboard-retry-1' },
        body: JSON.stringify({ amount: 300 }),
      });
    const first = await refund();
    const second = await refund();
    expect([first.status, second.status]).toEqual([200, 200]);
    expect((await t.stripe.refunds.list({ payment_intent: made.receipt.id })).data.map((r) => r.amount)).toEqual([300]);
    const audit = (await call('owner', 'GET', '/audit_log?limit=100')).body.data ?? [];
    expect(audit.filter((entry) => entry.action === 'dashboard.payment.refund' && entry.target === made.receipt.id)).toHaveLength(1);
  });
});

describe('merchant isolation', () => {
  it("answers 404 for another merchant's payment and never lists it", async () => {
    const answer = await call('owner', 'GET', `/payments/${made.other.id}`);
    expect(answer.status).toBe(404);
    expect(answer.body.error?.code).toBe('resource_missing');
    expect((await call('owner', 'POST', `/payments/${made.other.id}/refund`, {})).status).toBe(404);
    expect(await ids('owner', '')).not.toContain(made.other.id);
    expect(await ids('other_owner', '')).toEqual([made.other_secure.id, made.other.id]);
    expect((await call('other_owner', 'GET', '/customers')).body.data).toEqual([]);
  });
});

describe('the timeline', () => {
  it("shows a 3-D Secure challenge, and an attempt's card, processor and risk evaluation", async () => {
    expect(made.other_secure.status).toBe('requires_action');
    const detail = await call('other_owner', 'GET', `/payments/${made.other_secure.id}`);
    const timeline = detail.body.timeline as { kind: string; title: string; detail: string }[];
    expect(timeline.map((entry) => entry.kind)).toContain('three_d_secure');
    const paid = (await call('owner', 'GET', `/payments/${made.mastercard.id}`)).body.timeline as { kind: string; detail: string }[];
    expect(paid.find((entry) => entry.kind === 'risk')?.detail).toMatch(/^score \d+; rule none; authorized$/);
    expect(paid.find((entry) => entry.kind === 'attempt')?.detail).toMatch(/^mastercard •••• 4444 via /);
  });
});

describe('money, customers and charts', () => {
  it('lists balance transactions and payouts, and customers with their cards as brand, last4 and expiry only', async () => {
    const transactions = await call('owner', 'GET', '/balance_transactions?limit=2');
    expect(transactions.body.data?.length).toBe(2);
    expect(transactions.body.has_more).toBe(true);
    expect((await call('owner', 'GET', `/balance_transactions?limit=2&starting_after=${String(transactions.body.next_cursor)}`)).body.data?.length).toBe(2);
    expect((await call('owner', 'GET', '/payouts')).body).toMatchObject({ data: [], has_more: false, next_cursor: null });
    expect((await call('support', 'GET', '/balances')).status).toBe(403);
    const customers = await call('support', 'GET', '/customers');
    expect(customers.body.data?.map((row) => row.id)).toEqual([customer.id]);
    const detail = await call('support', 'GET', `/customers/${customer.id}`);
    const cards = detail.body.payment_methods as Record<string, unknown>[];
    expect(cards.map((card) => Object.keys(card).sort())).toEqual([['brand', 'exp_month', 'exp_year', 'id', 'last4']]);
    expect(cards[0]).toMatchObject({ brand: 'mastercard', last4: '4444' });
    expect(typeof cards[0]?.exp_year).toBe('number');
  });

  it('charts volume and success per day, and decline reasons', async () => {
    const volume = (await call('analyst', 'GET', '/charts/volume?days=7')).body.data as {
      day: string;
      currency: string;
      count: number;
      succeeded: number;
      failed: number;
    }[];
    const today = new Date().toISOString().slice(0, 10);
    const usd = volume.find((row) => row.day === today && row.currency === 'usd');
    // Eight USD attempts: six paid, two authorized for manual capture (Stripe's charge succeeds then too), one declined.
    expect(usd).toMatchObject({ count: 8, succeeded: 7, failed: 1 });
    expect(volume.find((row) => row.currency === 'eur')).toMatchObject({ count: 1, succeeded: 1, amount: 4000 });
    const declines = (await call('analyst', 'GET', '/charts/declines')).body.data;
    expect(declines).toEqual([{ decline_code: 'generic_decline', count: 1 }]);
    expect((await call('analyst', 'GET', '/charts/volume?days=0')).status).toBe(400);
  });

  it('never answered a card number or a CVC', () => {
    expect(answered.length).toBeGreaterThan(20);
    const all = answered.join('\n');
    expect(all).not.toContain(RAW_CARD);
    expect(all).not.toMatch(/"cvc"\s*:/);
    expect(all).not.toContain(`"${RAW_CVC}"`);
    expect(all).not.toMatch(/\b\d{13,19}\b/);
    expect(all).not.toContain('client_secret');
    expect(all).not.toContain(made.visa.client_secret ?? 'the visa payment has a client secret');
  });
});
