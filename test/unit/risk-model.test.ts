import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.js';
import { openRiskScorer, type RiskScorer, type RiskSignals } from '../../src/services/risk/index.js';
import { FEATURE_NAMES } from '../../src/services/risk/domain/features.js';
import { loadModel, probabilityToScore, riskLevel } from '../../src/services/risk/domain/model.js';
import { RISK_RAISING } from '../../src/services/risk/training/index.js';
import { riskSignals } from '../support/risk-signals.js';

/**
 * The shipped model's inference: known inputs move the score the right way, the probability maps to
 * Radar's 0–100 score and levels at the thresholds the model file names, and a broken model file is
 * refused at start rather than scoring nonsense.
 */
const MODEL_PATH = new URL('../../src/services/risk/model/risk-model-v1.json', import.meta.url);
const shipped = JSON.parse(readFileSync(MODEL_PATH, 'utf8')) as Record<string, unknown> & {
  thresholds: { elevated_probability: number; highest_probability: number };
};
const AFTERNOON_MS = Date.UTC(2026, 10, 4, 15, 0, 0);
const NIGHT_MS = Date.UTC(2026, 10, 5, 3, 0, 0);

const open_scorers: RiskScorer[] = [];
afterEach(async () => {
  await Promise.all(open_scorers.splice(0).map((s) => s.close()));
});

/** The merchant's prices: spread as real baskets are (a log-amount standard deviation of about 0.6). */
const USUAL_AMOUNTS = [1500, 2500, 3500, 4000, 5000, 7000, 9000];

/** A scorer whose merchant knows the card and its usual amounts: a repeat customer's history. */
async function scorerWithHistory(at_ms: number): Promise<{ scorer: RiskScorer; clock: ManualClock }> {
  const clock = new ManualClock(at_ms - 30 * 86_400_000);
  const scorer = await openRiskScorer({ clock, instance_id: 'model-test' });
  open_scorers.push(scorer);
  for (let day = 0; day < 25; day += 1) {
    const amount = USUAL_AMOUNTS[day % USUAL_AMOUNTS.length] ?? 0;
    await scorer.record(
      riskSignals({ card_fingerprint: `fpOther${day}`, email: `other${day}@example.com`, ip_address: '8.8.4.4', amount, amount_in_usd: amount }),
      'authorized',
    );
    if (day % 5 === 0) await scorer.record(riskSignals(), 'authorized');
    clock.advance(86_400_000);
  }
  clock.advance(at_ms - clock.now_ms());
  return { scorer, clock };
}

async function scoreOf(overrides: Partial<RiskSignals>, at_ms = AFTERNOON_MS): Promise<number> {
  const { scorer } = await scorerWithHistory(at_ms);
  return (await scorer.score(riskSignals(overrides))).score;
}

describe('the shipped model', () => {
  it('is risk-model-v1 over the features the server computes, and names itself on every score', async () => {
    expect(shipped.model_version).toBe('risk-model-v1');
    expect(shipped.features).toEqual([...FEATURE_NAMES]);
    const { scorer } = await scorerWithHistory(AFTERNOON_MS);
    const score = await scorer.score(riskSignals());
    expect(score).toMatchObject({ model_version: 'risk-model-v1', level: 'normal', ip_country: 'US' });
    expect(Number.isInteger(score.score)).toBe(true);
    expect(score.score).toBeLessThan(20);
  });

  it('scores a returning customer low, a stranger higher, and each fraud signal on a stranger higher still', async () => {
    const returning = await scoreOf({});
    const stranger = { card_fingerprint: 'fpNeverSeen', email: 'new@example.net' };
    const base = await scoreOf(stranger);
    expect(returning).toBeLessThan(20);
    expect(base).toBeGreaterThan(returning);
    expect(base).toBeLessThan(65);
    for (const signal of [
      { cvc_check: 'fail' },
      { address_postal_code_check: 'fail' },
      { address_line1_check: 'fail' },
      { ip_address: '81.2.69.160' },
      { amount: 60_000, amount_in_usd: 60_000 },
    ] satisfies Array<Partial<RiskSignals>>) {
      expect(await scoreOf({ ...stranger, ...signal }), JSON.stringify(signal)).toBeGreaterThan(base);
    }
    const large = { ...stranger, amount: 60_000, amount_in_usd: 60_000 };
    expect(await scoreOf(large, NIGHT_MS)).toBeGreaterThan(await scoreOf(large));
  });

  it('scores a card spent from ever more addresses and emails within the hour higher each time, then highest', async () => {
    const { scorer, clock } = await scorerWithHistory(AFTERNOON_MS);
    const stolen = { card_fingerprint: 'fpStolen', amount: 6000, amount_in_usd: 6000 };
    const spree = ['8.8.8.8', '1.1.1.1', '81.2.69.160', '133.242.0.1', '200.160.2.3'].map((ip_address, i) =>
      riskSignals({ ...stolen, ip_address, email: `buyer${i}@quick.example` }),
    );
    const scores: number[] = [];
    for (const attempt of spree) {
      const score = await scorer.score(attempt);
      scores.push(score.score);
      await scorer.record(attempt, 'authorized');
      clock.advance(6 * 60_000);
    }
    expect(scores[0]).toBeLessThan(65);
    expect(scores.at(-1)).toBeGreaterThanOrEqual(75);
    for (let i = 1; i < scores.length; i += 1) expect(scores[i]).toBeGreaterThanOrEqual(scores[i - 1] ?? 0);
    const next = await scorer.score(riskSignals({ ...stolen, ip_address: '5.39.0.1', email: 'buyer9@quick.example' }));
    expect(next.attributes).toMatchObject({ ip_address_count_for_card_hourly: 6, email_count_for_card_daily: 6, authorized_charges_per_card_number_hourly: 5 });
  });

  it('scores a card-testing burst elevated or above', async () => {
    const { scorer, clock } = await scorerWithHistory(AFTERNOON_MS);
    for (let i = 0; i < 30; i += 1) {
      await scorer.record(
        riskSignals({ card_fingerprint: `fpBurst${i}`, ip_address: '5.39.0.1', email: null, amount: 100, amount_in_usd: 100, cvc_check: 'fail' }),
        'declined',
      );
      clock.advance(10_000);
    }
    const next = await scorer.score(
      riskSignals({ card_fingerprint: 'fpBurstNext', ip_address: '5.39.0.1', email: null, amount: 100, amount_in_usd: 100, cvc_check: 'unavailable' }),
    );
    expect(next.level).not.toBe('normal');
  });
});

describe('risk-raising features', () => {
  it('no velocity count, mismatch, failed check or first sighting has a negative weight', () => {
    const weights = shipped.weights as number[];
    const raising = FEATURE_NAMES.flatMap((name, i) => (RISK_RAISING.has(name) ? [[name, weights[i] ?? 0] as const] : []));
    expect(raising.length).toBeGreaterThan(20);
    expect(raising.filter(([, weight]) => weight < 0)).toEqual([]);
  });

  it('more cards tried from one address within minutes never lowers the score, and thirty reach elevated', async () => {
    const { scorer, clock } = await scorerWithHistory(AFTERNOON_MS);
    const scores: number[] = [];
    for (let i = 0; i < 30; i += 1) {
      const attempt = riskSignals({ card_fingerprint: `fpMany${i}`, ip_address: '5.39.0.1', email: null, amount: 2000, amount_in_usd: 2000 });
      scores.push((await scorer.score(attempt)).score);
      await scorer.record(attempt, 'authorized');
      clock.advance(1000);
    }
    for (let i = 1; i < scores.length; i += 1) expect(scores[i]).toBeGreaterThanOrEqual(scores[i - 1] ?? 0);
    expect(scores.at(-1)).toBeGreaterThanOrEqual(65);
  });
});

describe('probability → score → level', () => {
  const { elevated_probability: e, highest_probability: h } = shipped.thresholds;

  it("lands the model's chosen probabilities on Radar's 65 and 75 and never decreases", () => {
    expect(probabilityToScore(e, e, h)).toBe(65);
    expect(probabilityToScore(e - 1e-9, e, h)).toBe(64);
    expect(probabilityToScore(h, e, h)).toBe(75);
    expect(probabilityToScore(h - 1e-9, e, h)).toBe(74);
    expect(probabilityToScore(0, e, h)).toBe(0);
    expect(probabilityToScore(1, e, h)).toBe(100);
    let previous = -1;
    for (let p = 0; p <= 1; p += 0.0005) {
      const score = probabilityToScore(p, e, h);
      expect(score).toBeGreaterThanOrEqual(previous);
      expect(Number.isInteger(score)).toBe(true);
      previous = score;
    }
  });

  it("names the level from Stripe's default thresholds", () => {
    expect([0, 64, 65, 74, 75, 100].map(riskLevel)).toEqual(['normal', 'normal', 'elevated', 'elevated', 'highest', 'highest']);
  });
});

describe('model files', () => {
  it('refuses a model trained on other features, a non-finite weight, or thresholds out of order', () => {
    expect(() => loadModel(shipped)).not.toThrow();
    const features = [...FEATURE_NAMES].reverse();
    expect(() => loadModel({ ...shipped, features })).toThrow(/features must be exactly/);
    const weights = (shipped.weights as number[]).map((w, i) => (i === 3 ? Number.NaN : w));
    expect(() => loadModel({ ...shipped, weights })).toThrow(/number/);
    expect(() => loadModel({ ...shipped, weights: [1, 2] })).toThrow(/one entry per feature/);
    expect(() => loadModel({ ...shipped, thresholds: { elevated_probability: 0.6, highest_probability: 0.4 } })).toThrow(/below the highest/);
  });

  it('a scorer opened with a broken model fails at start, not at the first payment', async () => {
    await expect(openRiskScorer({ clock: new ManualClock(AFTERNOON_MS), model: { ...shipped, kind: 'random_forest' } })).rejects.toThrow();
  });
});
