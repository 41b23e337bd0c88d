import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_SCHEDULE, afterFailure, baseInterval_ms, parseSchedule } from '../../src/services/events/webhooks/schedule.js';
import { newWebhookSecret, openSecret, sealSecret, signatureHeader, webhookSecretKey } from '../../src/services/events/webhooks/secrets.js';
import Stripe from 'stripe';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';

describe('the retry schedule', () => {
  it('first retry within 10 s, growing, capped at an hour, never past 3 days or 100 attempts', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 150 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        fc.integer({ min: 0, max: 4 * 86_400_000 }),
        (failures, r, elapsed) => {
          const now_ms = 1_000_000_000_000;
          const next = afterFailure(DEFAULT_RETRY_SCHEDULE, { failures, round_started_ms: now_ms - elapsed, now_ms }, () => r);
          if (failures >= 100) return next.kind === 'give_up' && next.reason === 'attempts';
          if (next.kind === 'give_up') return next.reason === 'age' && now_ms + 45 * 60_000 - (now_ms - elapsed) > 3 * 86_400_000 - 3_600_000;
          const wait = next.at_ms - now_ms;
          const base = baseInterval_ms(DEFAULT_RETRY_SCHEDULE, failures);
          return (
            wait <= base &&
            wait >= base * 0.75 - 1 &&
            (failures > 1 || wait <= 10_000) &&
            wait <= 3_600_000 &&
            next.at_ms - (now_ms - elapsed) <= 3 * 86_400_000
          );
        },
      ),
    );
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => baseInterval_ms(DEFAULT_RETRY_SCHEDULE, n) / 1000)).toEqual([8, 24, 72, 216, 648, 1944, 3600, 3600]);
    expect(baseInterval_ms(DEFAULT_RETRY_SCHEDULE, 500)).toBe(3_600_000);
  });

  it('reads overrides from text and refuses nonsense', () => {
    expect(parseSchedule('first=5s, multiplier=2, max=30m, for=1d, attempts=50, jitter=0.1')).toEqual({
      first_retry_ms: 5_000,
      multiplier: 2,
      max_interval_ms: 1_800_000,
      give_up_after_ms: 86_400_000,
      attempts_max: 50,
      jitter: 0.1,
    });
    expect(parseSchedule('attempts=7')).toEqual({ ...DEFAULT_RETRY_SCHEDULE, attempts_max: 7 });
    expect(() => parseSchedule('first=30s')).toThrow(/first_retry_ms/);
    expect(() => parseSchedule('often=1s')).toThrow(/unknown field/);
    expect(() => parseSchedule('max=1 hour')).toThrow(/duration/);
    expect(() => parseSchedule('jitter=1')).toThrow(/jitter/);
  });
});

describe('webhook secrets', () => {
  it('seal to the endpoint, sign as Stripe does, and never print', () => {
    const key = webhookSecretKey(randomBytes(32));
    const secret = newWebhookSecret();
    const sealed = sealSecret(secret, 'we_1', key);
    expect(sealed.toString('latin1')).not.toContain(secret.reveal().slice(6));
    expect(openSecret(sealed, 'we_1', key).reveal()).toBe(secret.reveal());
    expect(() => openSecret(sealed, 'we_2', key)).toThrow();
    expect(() => openSecret(sealed, 'we_1', webhookSecretKey(randomBytes(32)))).toThrow();
    // eslint-disable-next-line @typescript-eslint/restrict-template-expressions -- interpolating the secret, as a careless log line would, is the case under test.
    for (const text of [String(secret), JSON.stringify({ secret }), inspect(secret), `${secret}`]) expect(text).not.toContain(secret.reveal().slice(6));

    const payload = JSON.stringify({ id: 'evt_1', object: 'event', type: 'charge.succeeded' });
    const now_s = Math.floor(Date.now() / 1000);
    const header = signatureHeader(secret, now_s, payload);
    const stripe = new Stripe('sk_test_unused', { apiVersion: '2023-08-16' });
    expect(stripe.webhooks.constructEvent(payload, header, secret.reveal()).id).toBe('evt_1');
    // The SDK's own test header for the same input is identical.
    expect(header).toBe(stripe.webhooks.generateTestHeaderString({ payload, secret: secret.reveal(), timestamp: now_s }));
  });
});
