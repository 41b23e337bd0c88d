import { describe, expect, it } from 'vitest';
import { AccountHealth, SuccessWindow } from '../../src/services/connectors/domain/health.js';
import type { HealthLimits } from '../../src/services/connectors/domain/health.js';
import { attemptIdOf, combineInquiries, isSoftDecline, referenceFor } from '../../src/services/connectors/domain/cascade.js';
import type { AuthorizeResult, RoutingTry } from '../../src/services/connectors/domain/port.js';

const LIMITS: HealthLimits = { window_ms: 10_000, buckets: 10, min_samples: 4, eliminate_below: 0.5, probe_every_ms: 1_000 };

describe('success window', () => {
  it('has no rate below the minimum of calls, then successes over calls', () => {
    const window = new SuccessWindow(LIMITS);
    window.record(0, true);
    window.record(10, false);
    window.record(20, true);
    expect(window.rate(30)).toBeNull();
    window.record(40, true);
    expect(window.rate(50)).toBe(0.75);
  });

  it('forgets calls older than the window, bucket by bucket', () => {
    const window = new SuccessWindow(LIMITS);
    for (let i = 0; i < 4; i += 1) window.record(0, false);
    for (let i = 0; i < 4; i += 1) window.record(5_000, true);
    expect(window.rate(5_000)).toBe(0.5);
    expect(window.counts(10_500)).toEqual({ successes: 4, failures: 0 });
    expect(window.counts(15_500)).toEqual({ successes: 0, failures: 0 });
  });

  it('reuses a ring slot for a new bucket without keeping the old counts', () => {
    const window = new SuccessWindow(LIMITS);
    window.record(0, false);
    window.record(10_000, true);
    expect(window.counts(10_000)).toEqual({ successes: 1, failures: 0 });
  });
});

describe('elimination and probes', () => {
  it('eliminates an account below the threshold, lets one probe through per interval, and takes it back once it recovers', () => {
    const health = new AccountHealth(LIMITS);
    for (let i = 0; i < 4; i += 1) health.window.record(0, false);
    expect(health.eliminated(100)).toBe(true);
    expect(health.admits(100)).toBe(true);
    expect(health.admits(200)).toBe(false);
    expect(health.admits(1_050)).toBe(false);
    expect(health.admits(1_100)).toBe(true);
    for (let i = 0; i < 5; i += 1) health.window.record(1_200, true);
    expect(health.eliminated(1_300)).toBe(false);
    expect(health.admits(1_300)).toBe(true);
    expect(health.admits(1_301)).toBe(true);
  });

  it('never eliminates on too few calls', () => {
    const health = new AccountHealth(LIMITS);
    for (let i = 0; i < 3; i += 1) health.window.record(0, false);
    expect(health.eliminated(1)).toBe(false);
  });
});

const declined = (decline_code: string, code: 'card_declined' | 'processing_error' = 'card_declined'): AuthorizeResult => ({
  outcome: 'declined',
  code,
  decline_code,
  message: 'declined',
  cvc_check: 'unchecked',
});

describe('cascade rules', () => {
  it.each(['processing_error', 'try_again_later', 'issuer_not_available'])('%s is soft', (code) => expect(isSoftDecline(declined(code))).toBe(true));
  it.each(['insufficient_funds', 'stolen_card', 'do_not_honor', 'generic_decline', 'lost_card', 'fraudulent'])('%s is hard', (code) =>
    expect(isSoftDecline(declined(code))).toBe(false),
  );
  it('an approval is not a decline at all', () => expect(isSoftDecline({ outcome: 'authorized', captured: true, cvc_check: 'pass' })).toBe(false));

  it('sends the attempt id first and numbered references after, and maps them back', () => {
    expect(referenceFor('ch_01ABC', 1)).toBe('ch_01ABC');
    expect(referenceFor('ch_01ABC', 2)).toBe('ch_01ABC_2');
    expect(attemptIdOf('ch_01ABC_3')).toBe('ch_01ABC');
    expect(attemptIdOf('ch_01ABC')).toBe('ch_01ABC');
    expect(attemptIdOf('setatt_01XYZ_2')).toBe('setatt_01XYZ');
    expect(() => referenceFor('ch_01ABC', 4)).toThrow();
  });
});

const aTry = (outcome: RoutingTry['outcome']): RoutingTry => ({
  connector_account: 'a',
  connector: 'sandbox',
  reference: 'ch_1',
  outcome,
  latency_ms: 1,
  raw_code: null,
  reason: 'test',
});
const found = (result: AuthorizeResult) => ({ found: true as const, result, amount_captured: 0, amount_refunded: 0, voided: false });

describe('combining the inquiries of an attempt’s tries', () => {
  it('an authorization at any try holds the attempt, whatever the others say', () => {
    const authorized = found({ outcome: 'authorized', captured: false, cvc_check: 'pass' });
    expect(
      combineInquiries([
        { try: aTry('declined'), status: found(declined('try_again_later')) },
        { try: aTry('unknown'), status: authorized },
      ]),
    ).toBe(authorized);
  });
  it('a processor that cannot tell yet keeps the attempt open over an earlier decline', () =>
    expect(
      combineInquiries([
        { try: aTry('declined'), status: found(declined('try_again_later')) },
        { try: aTry('unknown'), status: { found: 'unknown' } },
      ]),
    ).toEqual({ found: 'unknown' }));
  it('the latest decline stands when nothing holds money and nothing is open', () => {
    const last = found(declined('issuer_not_available'));
    expect(
      combineInquiries([
        { try: aTry('declined'), status: found(declined('try_again_later')) },
        { try: aTry('pending'), status: { found: false } },
        { try: aTry('declined'), status: last },
      ]),
    ).toBe(last);
  });
  it('never made when no processor heard of any try', () =>
    expect(
      combineInquiries([
        { try: aTry('unreachable'), status: 'skipped' },
        { try: aTry('pending'), status: { found: false } },
      ]),
    ).toEqual({ found: false }));
});
