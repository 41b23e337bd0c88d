import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import { ManualClock } from '../../src/kernel/clock.js';
import { consumerLag } from '../../src/services/events/app/consumer-status.js';
import { LEDGER_CONSUMER_NAME } from '../../src/services/ledger/app/consumer.js';
import { verifyLedger } from '../../src/services/ledger/app/verify.js';
import { DEFAULT_FEE_SCHEDULE, feeFor } from '../../src/services/ledger/domain/fees.js';
import { FX_FEE_SCHEDULE } from '../../src/services/ledger/domain/fx-flows.js';
import { RateConflictError, convertAmount, parseEcbRates, storeEcbDays } from '../../src/services/fx/index.js';
import { redated } from '../../src/services/fx/domain/ecb.js';
import { ledgerRecords } from '../../src/services/payments/index.js';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform, stripeClient } from '../support/platform.js';
import { chargeIdOf } from '../support/stripe-objects.js';
import { stripeSchemaProblems } from '../support/stripe-schema.js';

/**
 * Multi-currency charges through the SDK (docs/currencies.md): the shipped ECB sample loaded as current
 * rates, charges converted at capture into the merchant's settlement currency, refunds at the capture's
 * rate, zero- and three-decimal currencies, and a payment refused when no rate is fresh enough.
 */

const DAY_S = 86_400;
const clock = new ManualClock(Date.now());
let t: TestPlatform;
/** The sample's newest day's euro rates, as the quotes see them. */
let euro_rates: ReadonlyMap<string, string>;

/** The newest ECB day already published at `now_s` (the ECB publishes at 15:00 UTC). */
function publishedDay(now_s: number): string {
  return new Date(Math.floor((now_s - 15 * 3600) / DAY_S) * DAY_S * 1000).toISOString().slice(0, 10);
}

beforeAll(async () => {
  t = await startTestPlatform({}, { clock });
  // The shipped sample, made current (a test-mode platform may have loaded it at start already).
  const now_s = Math.floor(clock.now_ms() / 1000);
  const days = redated(parseEcbRates(readFileSync('data/fx/eurofxref-sample.xml', 'utf8')), publishedDay(now_s));
  await storeEcbDays(t.platform.database.pool, days, now_s).catch((error: unknown) => {
    if (!(error instanceof RateConflictError)) throw error;
  });
  // The day a quote uses now: the newest already published.
  const { rows } = await t.owner.query<{ currency: string; rate: string }>(
    `SELECT currency, rate FROM fx.rates WHERE date = (SELECT max(date) FROM fx.rates WHERE date <= $1::date)`,
    [publishedDay(now_s)],
  );
  euro_rates = new Map(rows.map((row) => [row.currency, row.rate]));
});
afterAll(async () => {
  await t?.stop();
});

async function ledgerCaughtUp(): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await consumerLag(t.platform.database.pool, LEDGER_CONSUMER_NAME, 0)).events_behind > 0) {
    if (Date.now() > deadline) throw new Error('the ledger did not catch up');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function pay(stripe: Stripe, amount: number, currency: string): Promise<Stripe.Charge> {
  const intent = await stripe.paymentIntents.create({ amount, currency, payment_method: 'pm_card_visa', confirm: true });
  return stripe.charges.retrieve(chargeIdOf(intent));
}

async function balanceTransactionOf(
  stripe: Stripe,
  source: { balance_transaction: string | Stripe.BalanceTransaction | null },
): Promise<Stripe.BalanceTransaction> {
  await ledgerCaughtUp();
  const id = source.balance_transaction;
  if (typeof id !== 'string') throw new Error(`expected a balance transaction id, got ${JSON.stringify(id)}`);
  const txn = await stripe.balanceTransactions.retrieve(id);
  expect(stripeSchemaProblems('balance_transaction', txn)).toEqual([]);
  return txn;
}

async function refusal(attempt: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  const error = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof Stripe.errors.StripeError)) throw new Error(`expected a Stripe error, got ${String(error)}`);
  return error;
}

/** A merchant of its own, settling in `currency`. */
async function merchantSettlingIn(currency: string): Promise<Stripe> {
  const { secret_key } = await t.newMerchant();
  const { rows } = await t.owner.query<{ id: string }>(`SELECT id FROM merchants.merchants ORDER BY id DESC LIMIT 1`);
  await t.owner.query(`UPDATE merchants.merchants SET default_currency = $1 WHERE id = $2`, [currency, rows[0]!.id]);
  return stripeClient(t.url, secret_key);
}

/** Stripe's fees on a converted amount: processing (2.9 % + 30) and the 1 % conversion fee. */
function feesOn(converted: number): { processing: number; conversion: number } {
  return { processing: feeFor(converted, DEFAULT_FEE_SCHEDULE), conversion: feeFor(converted, FX_FEE_SCHEDULE) };
}

describe('a charge in another currency than the settlement currency', () => {
  let eur_charge: Stripe.Charge;

  it('is converted at capture: the balance transaction is in USD with the exchange rate and both fees', async () => {
    eur_charge = await pay(t.stripe, 1000, 'eur');
    expect([eur_charge.amount, eur_charge.currency, eur_charge.captured]).toEqual([1000, 'eur', true]);
    const txn = await balanceTransactionOf(t.stripe, eur_charge);
    const rate = euro_rates.get('usd')!;
    const converted = convertAmount(1000, 'eur', 'usd', rate);
    const fees = feesOn(converted);
    expect(txn).toMatchObject({
      type: 'charge',
      source: eur_charge.id,
      currency: 'usd',
      amount: converted,
      exchange_rate: Number(rate),
      fee: fees.processing + fees.conversion,
      net: converted - fees.processing - fees.conversion,
    });
    expect(txn.fee_details).toEqual([
      { amount: fees.processing, application: null, currency: 'usd', description: 'Payrail processing fees', type: 'stripe_fee' },
      { amount: fees.conversion, application: null, currency: 'usd', description: 'Currency conversion fee', type: 'stripe_fee' },
    ]);
    // The balance holds the converted money in the settlement currency only.
    const balance = await t.stripe.balance.retrieve();
    expect(balance.pending).toEqual([{ amount: txn.net, currency: 'usd', source_types: { card: txn.net } }]);
  });

  it('converts a zero-decimal JPY charge with the JPY rate', async () => {
    const charge = await pay(t.stripe, 5000, 'jpy');
    const txn = await balanceTransactionOf(t.stripe, charge);
    // ¥5000 at usd/jpy = usd per eur ÷ jpy per eur, rounded half to even to whole cents.
    const rate = String(txn.exchange_rate);
    expect(Number(rate)).toBeCloseTo(Number(euro_rates.get('usd')) / Number(euro_rates.get('jpy')), 9);
    expect([txn.currency, txn.amount]).toEqual(['usd', convertAmount(5000, 'jpy', 'usd', rate)]);
  });

  it('captured later by hand, is converted when captured', async () => {
    const intent = await t.stripe.paymentIntents.create({
      amount: 2000,
      currency: 'eur',
      payment_method: 'pm_card_visa',
      confirm: true,
      capture_method: 'manual',
    });
    expect(intent.status).toBe('requires_capture');
    const captured = await t.stripe.paymentIntents.capture(intent.id, { amount_to_capture: 1500 });
    const txn = await balanceTransactionOf(t.stripe, await t.stripe.charges.retrieve(chargeIdOf(captured)));
    const rate = euro_rates.get('usd')!;
    expect(txn).toMatchObject({ currency: 'usd', amount: convertAmount(1500, 'eur', 'usd', rate), exchange_rate: Number(rate) });
  });

  it('is refunded at the capture rate: the refund balance transaction takes the converted share in USD', async () => {
    const refund = await t.stripe.refunds.create({ charge: eur_charge.id, amount: 400 });
    expect([refund.amount, refund.currency]).toEqual([400, 'eur']);
    const txn = await balanceTransactionOf(t.stripe, refund);
    const rate = euro_rates.get('usd')!;
    expect(txn).toMatchObject({ type: 'refund', currency: 'usd', amount: -convertAmount(400, 'eur', 'usd', rate), exchange_rate: Number(rate), fee: 0 });
  });
});

describe('charges in the settlement currency', () => {
  it('a KWD merchant charges three-decimal KWD without conversion', async () => {
    const kwd = await merchantSettlingIn('kwd');
    const charge = await pay(kwd, 1500, 'kwd');
    const txn = await balanceTransactionOf(kwd, charge);
    const fee = feeFor(1500, DEFAULT_FEE_SCHEDULE);
    expect(txn).toMatchObject({ currency: 'kwd', amount: 1500, exchange_rate: null, fee, net: 1500 - fee });
    const balance = await kwd.balance.retrieve();
    expect(balance.pending).toEqual([{ amount: 1500 - fee, currency: 'kwd', source_types: { card: 1500 - fee } }]);
  });

  it('below the currency minimum is refused with Stripe’s message, in the currency’s units', async () => {
    for (const [amount, currency, minimum] of [
      [49, 'jpy', '¥50 jpy'],
      [499, 'kwd', '0.500 kwd'],
      [499, 'bhd', '0.500 bhd'],
      [49, 'usd', '$0.50 usd'],
    ] as const) {
      const error = await refusal(t.stripe.paymentIntents.create({ amount, currency, payment_method: 'pm_card_visa', confirm: true }));
      expect([error.statusCode, error.type, error.code, error.param, error.message]).toEqual([
        400,
        'StripeInvalidRequestError',
        'amount_too_small',
        'amount',
        `Amount must be at least ${minimum}`,
      ]);
    }
  });
});

describe('without a fresh rate', () => {
  it('a charge that needs converting is refused before the processor and stores nothing; one that does not goes through', async () => {
    const count = async () => (await t.owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM payments.payment_intents`)).rows[0]!.n;
    const authorized = await t.stripe.paymentIntents.create({
      amount: 1000,
      currency: 'eur',
      payment_method: 'pm_card_visa',
      confirm: true,
      capture_method: 'manual',
    });
    clock.advance(7 * DAY_S * 1000); // past the rates’ maximum age (at most 5 days): the newest day loaded is too old now
    const before = await count();
    const error = await refusal(t.stripe.paymentIntents.create({ amount: 1000, currency: 'eur', payment_method: 'pm_card_visa', confirm: true }));
    expect([error.statusCode, error.code, error.raw]).toMatchObject([503, 'rate_unavailable', { type: 'api_error' }]);
    expect(await count()).toBe(before);
    // An authorization is converted when captured: without a fresh rate it stays uncaptured.
    const capture = await refusal(t.stripe.paymentIntents.capture(authorized.id));
    expect([capture.statusCode, capture.code]).toEqual([503, 'rate_unavailable']);
    expect((await t.stripe.paymentIntents.retrieve(authorized.id)).status).toBe('requires_capture');
    await pay(t.stripe, 1000, 'usd');
    expect(await count()).toBe(before + 1);
  });
});

describe('ledger verify', () => {
  it('finds nothing wrong after conversions, refunds and refusals', async () => {
    await ledgerCaughtUp();
    const report = await verifyLedger(t.platform.database.pool, Math.floor(clock.now_ms() / 1000), ledgerRecords);
    expect(report.problems).toEqual([]);
    expect(report.counts.charges).toBeGreaterThanOrEqual(4);
  });
});
