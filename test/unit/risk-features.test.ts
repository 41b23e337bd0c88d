import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import { openRiskScorer, type RiskScorer } from '../../src/services/risk/index.js';
import { ipCountry } from '../../src/services/risk/adapters/ip-country.js';
import { EmbeddedWindowStore } from '../../src/services/risk/adapters/embedded-window-store.js';
import { MIN_AMOUNT_HISTORY } from '../../src/services/risk/domain/features.js';
import { riskSignals } from '../support/risk-signals.js';

/**
 * The scorer's features as rules see them (RiskScore.attributes), driven through openRiskScorer with
 * the embedded windows and a clock the tests move.
 */
const START_MS = Date.UTC(2026, 10, 2, 14, 0, 0);
const MINUTE_MS = 60_000;

let scorer: RiskScorer | undefined;
let clock: ManualClock;

async function open(): Promise<RiskScorer> {
  clock = new ManualClock(START_MS);
  const opened = await openRiskScorer({ clock, instance_id: 'test' });
  scorer = opened;
  return opened;
}

afterEach(async () => {
  await scorer?.close();
  scorer = undefined;
});

describe('IP geolocation', () => {
  it('places public IPv4 addresses (and IPv4-mapped IPv6) in their country, and nothing else anywhere', () => {
    expect(ipCountry('8.8.8.8')).toBe('US');
    expect(ipCountry('81.2.69.160')).toBe('GB');
    expect(ipCountry('::ffff:81.2.69.160')).toBe('GB');
    expect(ipCountry('133.242.0.1')).toBe('JP');
    for (const other of ['10.1.2.3', '127.0.0.1', '192.168.1.1', '2001:db8::1', 'not an address', '', null]) expect(ipCountry(other)).toBeNull();
  });
});

describe('velocity windows', () => {
  it('counts earlier attempts per card, email and IP by result and window, and forgets them as windows pass', async () => {
    const scorer = await open();
    const signals = riskSignals();
    expect((await scorer.score(signals)).attributes.total_charges_per_card_number_hourly).toBe(0);
    await scorer.record(signals, 'authorized');
    clock.advance(10 * MINUTE_MS);
    await scorer.record(signals, 'declined');
    clock.advance(10 * MINUTE_MS);
    await scorer.record(signals, 'blocked');
    clock.advance(MINUTE_MS);
    const now = (await scorer.score(signals)).attributes;
    expect(now).toMatchObject({
      authorized_charges_per_card_number_hourly: 1,
      declined_charges_per_card_number_hourly: 1,
      blocked_charges_per_card_number_hourly: 1,
      total_charges_per_card_number_hourly: 3,
      total_charges_per_email_daily: 3,
      total_charges_per_ip_address_weekly: 3,
    });
    clock.advance(45 * MINUTE_MS); // the first attempt is now 66 minutes old: out of the hour, in the day
    const later = (await scorer.score(signals)).attributes;
    expect(later.total_charges_per_card_number_hourly).toBe(2);
    expect(later.total_charges_per_card_number_daily).toBe(3);
    clock.advance(8 * 24 * 60 * MINUTE_MS);
    expect((await scorer.score(signals)).attributes.total_charges_per_card_number_weekly).toBe(0);
  });

  it('counts distinct cards per IP and per email including the one being tried, and emails per card', async () => {
    const scorer = await open();
    for (const fingerprint of ['fpA', 'fpB', 'fpB', 'fpC']) {
      await scorer.record(riskSignals({ card_fingerprint: fingerprint, email: `${fingerprint}@example.com` }), 'declined');
    }
    const seen = (await scorer.score(riskSignals({ card_fingerprint: 'fpB', email: 'fpB@example.com' }))).attributes;
    expect(seen.card_count_for_ip_address_hourly).toBe(3);
    const fresh = (await scorer.score(riskSignals({ card_fingerprint: 'fpD', email: 'fpB@example.com' }))).attributes;
    expect(fresh.card_count_for_ip_address_hourly).toBe(4);
    expect(fresh.card_count_for_email_daily).toBe(2);
    const other_email = (await scorer.score(riskSignals({ card_fingerprint: 'fpB', email: 'new@example.com' }))).attributes;
    expect(other_email.email_count_for_card_daily).toBe(2);
  });

  it('treats an email by its normalised form and never puts it or the IP address in the attributes', async () => {
    const scorer = await open();
    await scorer.record(riskSignals({ email: 'Jenny@Example.com ' }), 'authorized');
    const score = await scorer.score(riskSignals({ email: 'jenny@example.com' }));
    expect(score.attributes.authorized_charges_per_email_hourly).toBe(1);
    expect(JSON.stringify(score)).not.toContain('jenny');
    expect(JSON.stringify(score)).not.toContain('8.8.8.8');
  });

  it('sees card-testing bursts: small attempts and declines at one merchant within ten minutes', async () => {
    const scorer = await open();
    for (let i = 0; i < 12; i += 1) {
      await scorer.record(riskSignals({ card_fingerprint: `fpTest${i}`, amount: 100, amount_in_usd: 100 }), i % 4 === 0 ? 'authorized' : 'declined');
      clock.advance(20_000);
    }
    const burst = await scorer.score(riskSignals({ card_fingerprint: 'fpTestNext', amount: 100, amount_in_usd: 100 }));
    expect(burst.attributes).toMatchObject({
      small_charges_per_merchant_10min: 12,
      declined_charges_per_merchant_10min: 9,
      small_charges_per_ip_address_hourly: 12,
    });
    const other_merchant = await scorer.score(riskSignals({ merchant_id: 'acct_riskTest0002', card_fingerprint: 'fpTestNext' }));
    expect(other_merchant.attributes.small_charges_per_merchant_10min).toBe(0);
    clock.advance(10 * MINUTE_MS);
    expect((await scorer.score(riskSignals())).attributes.small_charges_per_merchant_10min).toBe(0);
  });
});

describe('first seen', () => {
  it('a card is new on a merchant until a payment with it is authorized there', async () => {
    const scorer = await open();
    const signals = riskSignals();
    expect((await scorer.score(signals)).attributes.is_new_card_on_merchant).toBe(true);
    await scorer.record(signals, 'declined');
    expect((await scorer.score(signals)).attributes.is_new_card_on_merchant).toBe(true);
    await scorer.record(signals, 'authorized');
    expect((await scorer.score(signals)).attributes.is_new_card_on_merchant).toBe(false);
    expect((await scorer.score(riskSignals({ merchant_id: 'acct_riskTest0002' }))).attributes.is_new_card_on_merchant).toBe(true);
  });

  it("knows a customer's cards and emails, and how long ago a card was first seen anywhere", async () => {
    const scorer = await open();
    const known = riskSignals({ customer_id: 'cus_riskTest1' });
    expect((await scorer.score(riskSignals())).attributes.is_new_card_on_customer).toBeNull();
    await scorer.record(known, 'authorized');
    clock.advance(90 * MINUTE_MS);
    const same = (await scorer.score(known)).attributes;
    expect(same).toMatchObject({ is_new_card_on_customer: false, is_new_email_on_customer: false, seconds_since_card_first_seen: 90 * 60 });
    const takeover = (await scorer.score(riskSignals({ customer_id: 'cus_riskTest1', email: 'attacker@example.net', card_fingerprint: 'fpOther' }))).attributes;
    expect(takeover).toMatchObject({ is_new_card_on_customer: true, is_new_email_on_customer: true, seconds_since_card_first_seen: 0 });
  });
});

describe('amounts and countries', () => {
  it("scores an amount against the merchant's own history in that currency (z-score of log amounts)", async () => {
    const scorer = await open();
    for (let i = 0; i < MIN_AMOUNT_HISTORY; i += 1) {
      await scorer.record(riskSignals({ card_fingerprint: `fpAmt${i}`, amount: 3000 + 100 * (i % 5) }), 'authorized');
    }
    const usual = (await scorer.score(riskSignals({ amount: 3200 }))).attributes.amount_zscore as number;
    const huge = (await scorer.score(riskSignals({ amount: 90_000 }))).attributes.amount_zscore as number;
    expect(Math.abs(usual)).toBeLessThan(1);
    expect(huge).toBeGreaterThan(5);
    expect((await scorer.score(riskSignals({ amount: 90_000, currency: 'eur' }))).attributes.amount_zscore).toBe(0);
  });

  it('names the IP country and flags a card from another country', async () => {
    const scorer = await open();
    const abroad = await scorer.score(riskSignals({ ip_address: '81.2.69.160' }));
    expect(abroad.ip_country).toBe('GB');
    expect(abroad.attributes.card_country_differs_from_ip_country).toBe(true);
    const home = await scorer.score(riskSignals());
    expect(home.ip_country).toBe('US');
    expect(home.attributes.card_country_differs_from_ip_country).toBe(false);
    expect((await scorer.score(riskSignals({ ip_address: null }))).attributes.card_country_differs_from_ip_country).toBe(false);
  });
});

describe('bounds', () => {
  it('the embedded store keeps at most its limit of windows, forgetting the least recently written', async () => {
    const store = new EmbeddedWindowStore(10);
    for (let i = 0; i < 25; i += 1) await store.write([{ key: `k${i}`, member: 'm', ttl_ms: 60_000, keep_first: false }], START_MS, null);
    expect(store.size).toBe(10);
    const { values } = await store.read(
      [
        { kind: 'count', key: 'k0', since_ms: [0] },
        { kind: 'count', key: 'k24', since_ms: [0] },
      ],
      'stats',
      START_MS,
    );
    expect(values).toEqual([0, 1]);
  });

  it('a window keeps at most 1024 members, the oldest going first', async () => {
    const store = new EmbeddedWindowStore();
    for (let i = 0; i < 1100; i += 1) await store.write([{ key: 'busy', member: `e${i}`, ttl_ms: 3_600_000, keep_first: false }], START_MS + i, null);
    const { values } = await store.read(
      [
        { kind: 'count', key: 'busy', since_ms: [0] },
        { kind: 'score', key: 'busy', member: 'e75', since_ms: [0] },
        { kind: 'score', key: 'busy', member: 'e76', since_ms: [0] },
      ],
      'stats',
      START_MS + 1100,
    );
    expect(values).toEqual([1024, -1, START_MS + 76]);
  });
});

describe('addresses that name no client', () => {
  it('leaves loopback and private addresses out of the IP windows: every client behind a proxy would share them', async () => {
    const scorer = await open();
    for (let i = 0; i < 5; i += 1) await scorer.record(riskSignals({ card_fingerprint: `fpLan${i}`, ip_address: '10.0.0.7' }), 'declined');
    const lan = (await scorer.score(riskSignals({ card_fingerprint: 'fpLanNext', ip_address: '10.0.0.7' }))).attributes;
    expect(lan.card_count_for_ip_address_hourly).toBeUndefined();
    expect(lan.total_charges_per_ip_address_hourly).toBeUndefined();
    for (let i = 0; i < 5; i += 1) await scorer.record(riskSignals({ card_fingerprint: `fpWan${i}`, ip_address: '8.8.4.4' }), 'declined');
    const wan = (await scorer.score(riskSignals({ card_fingerprint: 'fpWanNext', ip_address: '8.8.4.4' }))).attributes;
    expect(wan).toMatchObject({ card_count_for_ip_address_hourly: 6, total_charges_per_ip_address_hourly: 5 });
  });
});
