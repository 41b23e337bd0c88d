import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../src/kernel/clock.js';
import { UlidGenerator } from '../../src/kernel/ids.js';
import { StripeConnector } from '../../src/services/connectors/adapters/stripe-connector.js';
import type { AuthorizeRequest, VerifiedNotifications } from '../../src/services/connectors/domain/port.js';
import { ProcessorOutcomeUnknown, ProcessorUnreachable } from '../../src/services/connectors/domain/port.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';
import { HttpFaultProxy } from '../support/http-fault-proxy.js';
import { waitFor } from '../support/webhook-receiver.js';

/**
 * The stripe connector end to end against a second Payrail instance, which speaks Stripe's API: the
 * first platform (the merchant's) pays through its stripe connector, which calls the second (the
 * processor) with the processor account's own key, through a proxy that can lose answers. The
 * processor's PaymentIntents are counted to prove that no lost answer charges twice, and its webhooks
 * are verified by the connector.
 */

let processor: TestPlatform;
let account: { secret_key: string; stripe: Stripe };
let merchant: TestPlatform;
let proxy: HttpFaultProxy;
let connector: StripeConnector;
let webhook_secret: string;
const notifications: { raw: string; signature: string; verified: VerifiedNotifications }[] = [];
let receiver: Server;
let receiver_url: string;

beforeAll(async () => {
  processor = await startTestPlatform();
  account = await processor.newMerchant();
  receiver = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks);
      const verified = connector.verifyNotification(request.headers, raw);
      notifications.push({ raw: raw.toString('utf8'), signature: String(request.headers['stripe-signature']), verified });
      if (!verified.ok) response.writeHead(400).end();
      else response.writeHead(verified.ack.status, { 'content-type': verified.ack.content_type }).end(verified.ack.body);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiver_url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/stripe`;
  const endpoint = await account.stripe.webhookEndpoints.create({
    url: receiver_url,
    enabled_events: ['payment_intent.succeeded', 'payment_intent.payment_failed', 'payment_intent.canceled'],
  });
  webhook_secret = endpoint.secret!;
  proxy = await HttpFaultProxy.start(processor.url);
  connector = new StripeConnector({ secret_key: account.secret_key, base_url: proxy.url, webhook_secret, clock: systemClock, timeout_ms: 3_000 });
  merchant = await startTestPlatform({}, { connector });
}, 120_000);

afterAll(async () => {
  await merchant?.stop();
  await proxy?.close();
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
  await processor?.stop();
});

/** The processor's PaymentIntents made for one Payrail attempt (the processor's search reads what was written). */
async function processorIntents(attempt_id: string): Promise<Stripe.PaymentIntent[]> {
  const found = await account.stripe.paymentIntents.search({ query: `metadata['payrail_attempt']:'${attempt_id}'` });
  return found.data;
}

async function processorIntentCount(): Promise<number> {
  let count = 0;
  for await (const _intent of account.stripe.paymentIntents.list({ limit: 100 })) count += 1;
  return count;
}

function pay(params: Partial<Stripe.PaymentIntentCreateParams> = {}, options?: Stripe.RequestOptions): Promise<Stripe.PaymentIntent> {
  const create = { amount: 2000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true, ...params };
  return options ? merchant.stripe.paymentIntents.create(create, options) : merchant.stripe.paymentIntents.create(create);
}

function attemptOf(intent: Stripe.PaymentIntent): string {
  expect(intent.latest_charge).toMatch(/^ch_/);
  return intent.latest_charge as string;
}

/** An attempt id as payments makes them, made `age_ms` ago. */
function attemptId(age_ms: number): string {
  return new UlidGenerator(new ManualClock(Date.now() - age_ms)).next('charge');
}

function directRequest(attempt_id: string, number = '4242424242424242'): AuthorizeRequest {
  return { attempt_id, merchant_id: 'acct_direct', amount: 1234, currency: 'eur', capture: true, card: { number, exp_month: 12, exp_year: 2034, cvc: '123' } };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('payments through the stripe connector', () => {
  it('automatic capture: one PaymentIntent at the processor, captured, named by the attempt, with the card', async () => {
    const intent = await pay();
    expect(intent.status).toBe('succeeded');
    const [remote, ...others] = await processorIntents(attemptOf(intent));
    expect(others).toEqual([]);
    expect(remote).toMatchObject({ status: 'succeeded', amount: 2000, amount_received: 2000, currency: 'usd', capture_method: 'automatic' });
    const method = await account.stripe.paymentMethods.retrieve(remote!.payment_method as string);
    expect(method.card).toMatchObject({ last4: '4242', exp_month: expect.any(Number) as unknown });
  });

  it('manual capture, then a partial capture of the authorization', async () => {
    const intent = await pay({ capture_method: 'manual', amount: 3000 });
    expect(intent.status).toBe('requires_capture');
    const attempt = attemptOf(intent);
    expect((await processorIntents(attempt))[0]).toMatchObject({ status: 'requires_capture', amount_capturable: 3000 });
    const captured = await merchant.stripe.paymentIntents.capture(intent.id, { amount_to_capture: 1200 });
    expect(captured).toMatchObject({ status: 'succeeded', amount_received: 1200 });
    expect((await processorIntents(attempt))[0]).toMatchObject({ status: 'succeeded', amount_received: 1200 });
  });

  it('a void cancels the processor PaymentIntent', async () => {
    const intent = await pay({ capture_method: 'manual' });
    const canceled = await merchant.stripe.paymentIntents.cancel(intent.id);
    expect(canceled.status).toBe('canceled');
    expect((await processorIntents(attemptOf(intent)))[0]!.status).toBe('canceled');
  });

  it('a refund is one processor refund, named by the refund id, however often it is retried', async () => {
    const intent = await pay();
    const refund = await merchant.stripe.refunds.create({ payment_intent: intent.id, amount: 500 }, { idempotencyKey: `refund-${intent.id}` });
    expect(refund.status).toBe('succeeded');
    await merchant.stripe.refunds.create({ payment_intent: intent.id, amount: 500 }, { idempotencyKey: `refund-${intent.id}` });
    const remote = (await processorIntents(attemptOf(intent)))[0]!;
    const refunds = await account.stripe.refunds.list({ payment_intent: remote.id });
    expect(refunds.data.map((r) => [r.amount, r.metadata])).toEqual([[500, { payrail_refund: refund.id, payrail_attempt: attemptOf(intent) }]]);
    expect(await connector.refundStatus(refund.id)).toEqual({ found: true, outcome: 'succeeded' });
  });

  it.each([
    ['pm_card_chargeDeclined', 'generic_decline'],
    ['pm_card_visa_chargeDeclinedInsufficientFunds', 'insufficient_funds'],
  ])('%s declines with card_declined / %s, as the processor said', async (payment_method, decline_code) => {
    const error = (await rejection(pay({ payment_method }))) as Stripe.errors.StripeCardError;
    expect(error.type).toBe('StripeCardError');
    expect(error.code).toBe('card_declined');
    expect(error.decline_code).toBe(decline_code);
    const charge = await merchant.stripe.charges.retrieve((error.raw as { charge: string }).charge);
    expect(charge).toMatchObject({ status: 'failed', failure_code: 'card_declined', outcome: { reason: decline_code } });
    expect((await processorIntents(charge.id))[0]).toMatchObject({ status: 'requires_payment_method', last_payment_error: { decline_code } });
  });
});

describe('card verification through the stripe connector', () => {
  it('a SetupIntent is verified by one processor SetupIntent, which a status inquiry finds again', async () => {
    const setup = await merchant.stripe.setupIntents.create({ payment_method: 'pm_card_visa', confirm: true });
    expect(setup.status).toBe('succeeded');
    const attempt = setup.latest_attempt as string;
    expect(attempt).toMatch(/^setatt_/);
    const remote = (await account.stripe.setupIntents.list({ limit: 100 })).data.filter((s) => s.metadata?.payrail_attempt === attempt);
    expect(remote.map((s) => s.status)).toEqual(['succeeded']);
    const fresh = new StripeConnector({ secret_key: account.secret_key, base_url: proxy.url, webhook_secret, clock: systemClock, timeout_ms: 1_000 });
    expect(await fresh.attemptStatus(attempt)).toMatchObject({ found: true, result: { outcome: 'authorized', captured: false }, amount_captured: 0 });
  });

  it('a card the processor declines fails the SetupIntent with its decline code', async () => {
    const error = (await rejection(
      merchant.stripe.setupIntents.create({ payment_method: 'pm_card_visa_chargeDeclinedInsufficientFunds', confirm: true }),
    )) as Stripe.errors.StripeError;
    expect(error.code).toBe('card_declined');
    expect(error.decline_code).toBe('insufficient_funds');
  });
});

describe('lost answers', () => {
  it('a payment whose answer was lost is answered processing, settled by status inquiry, and charged once', async () => {
    const before = await processorIntentCount();
    proxy.arm('POST', /^\/v1\/payment_intents$/, 'drop_response');
    const first = await pay({}, { idempotencyKey: 'lost-answer-1' });
    expect(first.status).toBe('processing');
    expect(proxy.log.filter((entry) => entry.outcome === 'drop_response')).toHaveLength(1);
    expect(await pay({}, { idempotencyKey: 'lost-answer-1' })).toEqual(first);
    await waitFor('the sweeper to settle the attempt', async () => (await merchant.stripe.paymentIntents.retrieve(first.id)).status === 'succeeded', 20_000);
    const settled = await merchant.stripe.paymentIntents.retrieve(first.id);
    expect(settled).toMatchObject({ status: 'succeeded', amount_received: 2000 });
    expect(await processorIntents(attemptOf(settled))).toHaveLength(1);
    expect(await processorIntentCount()).toBe(before + 1);
  });

  it("the connector's own resend after a lost answer is Stripe's idempotent replay: one PaymentIntent", async () => {
    const request = directRequest(attemptId(0));
    proxy.arm('POST', /^\/v1\/payment_intents$/, 'drop_response');
    expect(await rejection(connector.authorize(request))).toBeInstanceOf(ProcessorOutcomeUnknown);
    expect(await connector.authorize(request)).toEqual({ outcome: 'authorized', captured: true, cvc_check: 'pass' });
    expect(await processorIntents(request.attempt_id)).toHaveLength(1);
  });

  it('status inquiry after a lost answer: found and authorized, with the amounts the processor holds', async () => {
    const request = { ...directRequest(attemptId(0)), capture: false };
    proxy.arm('POST', /^\/v1\/payment_intents$/, 'drop_response');
    await rejection(connector.authorize(request));
    expect(await connector.attemptStatus(request.attempt_id)).toEqual({
      found: true,
      result: { outcome: 'authorized', captured: false, cvc_check: 'pass' },
      amount_captured: 0,
      amount_refunded: 0,
      voided: false,
    });
  });

  it('an attempt the processor never received is "not found" only once no call under it can still be running', async () => {
    proxy.arm('POST', /^\/v1\/payment_intents$/, 'fail_500');
    const young = directRequest(attemptId(0));
    expect(await rejection(connector.authorize(young))).toBeInstanceOf(ProcessorOutcomeUnknown);
    expect(await connector.attemptStatus(young.attempt_id)).toEqual({ found: 'unknown' });
    const settled = new StripeConnector({
      secret_key: account.secret_key,
      base_url: proxy.url,
      webhook_secret,
      clock: systemClock,
      timeout_ms: 1_000,
      in_flight_ms: 0,
    });
    expect(await settled.attemptStatus(attemptId(5_000))).toEqual({ found: false });
    expect(await processorIntents(young.attempt_id)).toEqual([]);
  });

  it('a timeout after the charge was made is an unknown outcome, and the inquiry finds the charge', async () => {
    const impatient = new StripeConnector({ secret_key: account.secret_key, base_url: proxy.url, webhook_secret, clock: systemClock, timeout_ms: 500 });
    const request = directRequest(attemptId(0));
    proxy.arm('POST', /^\/v1\/payment_intents$/, 'hang');
    expect(await rejection(impatient.authorize(request))).toBeInstanceOf(ProcessorOutcomeUnknown);
    await waitFor('the held answer to have been made', () => proxy.log.some((entry) => entry.outcome === 'hang'));
    expect(await impatient.attemptStatus(request.attempt_id)).toMatchObject({ found: true, result: { outcome: 'authorized', captured: true } });
  });

  it('a processor that cannot be reached is ProcessorUnreachable, and says nothing secret', async () => {
    const closed = await HttpFaultProxy.start(processor.url);
    const url = closed.url;
    await closed.close();
    const offline = new StripeConnector({ secret_key: account.secret_key, base_url: url, webhook_secret, clock: systemClock, timeout_ms: 1_000 });
    const error = await rejection(offline.authorize(directRequest(attemptId(0))));
    expect(error).toBeInstanceOf(ProcessorUnreachable);
    expect(error.message).not.toContain(account.secret_key);
    expect(error.message).not.toContain('4242424242424242');
  });

  it('a wrong key is refused by the processor: nothing done, ProcessorUnreachable naming no key', async () => {
    const wrong_key = 'sk_test_notTheProcessorsKey00000000000001';
    const refused = new StripeConnector({ secret_key: wrong_key, base_url: proxy.url, webhook_secret, clock: systemClock, timeout_ms: 1_000 });
    const error = await rejection(refused.authorize(directRequest(attemptId(0))));
    expect(error).toBeInstanceOf(ProcessorUnreachable);
    expect(error.message).toContain('401');
    expect(error.message).not.toContain(wrong_key);
  });
});

describe("the processor's webhooks", () => {
  it('payment_intent.succeeded from the second instance is verified and names the attempt; a bad signature is refused', async () => {
    const intent = await pay();
    const attempt = attemptOf(intent);
    const matching = () => notifications.find((n) => n.verified.ok && n.verified.events.some((event) => 'reference' in event && event.reference === attempt));
    await waitFor('the processor webhook for the attempt', () => matching() !== undefined, 20_000);
    const delivered = matching()!;
    expect(delivered.verified).toMatchObject({
      ok: true,
      ack: { status: 200 },
      events: [{ kind: 'authorization', reference: attempt, result: { outcome: 'authorized', captured: true } }],
    });
    const tampered = delivered.signature.replace(/v1=([0-9a-f])/, (_match, digit: string) => `v1=${digit === '0' ? '1' : '0'}`);
    const answer = await fetch(receiver_url, { method: 'POST', headers: { 'stripe-signature': tampered }, body: delivered.raw });
    expect(answer.status).toBe(400);
    expect(notifications.at(-1)!.verified).toEqual({ ok: false, reason: 'no signature matches the payload' });
  });

  it("no secret reaches the merchant platform's logs", () => {
    const logs = merchant.logs.join('');
    expect(logs).not.toContain(account.secret_key);
    expect(logs).not.toContain(webhook_secret);
    expect(logs).not.toContain('4242424242424242');
  });
});
