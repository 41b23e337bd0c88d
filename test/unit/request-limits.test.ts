import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PayrailError } from '../../src/kernel/errors.js';
import { EXPAND_MAX_DEPTH, EXPAND_MAX_ENTRIES, EXPAND_MAX_PATHS, expand, parseParams } from '../../src/platform/http/params.js';
import { FailureWindows } from '../../src/services/gateway/domain/failure-window.js';
import { TokenBuckets } from '../../src/services/gateway/domain/rate-limit.js';
import { WRITE_COST, requestCost } from '../../src/services/gateway/domain/request-cost.js';
import { nestsDeeperThan } from '../../src/services/gateway/adapters/body-shape.js';
import { addressKey } from '../../src/services/gateway/domain/client-address.js';

const schema = z.strictObject({ expand: expand().optional() });
const parsed = (value: unknown) => parseParams(schema, { expand: value }).expand;
const refusal = (value: unknown): PayrailError => {
  try {
    parsed(value);
  } catch (error) {
    return error as PayrailError;
  }
  throw new Error('expected expand to be refused');
};

describe('expand[] parsing', () => {
  it('names the entry limit when more entries than it are sent, repeats included', () => {
    expect(parsed(Array.from({ length: EXPAND_MAX_ENTRIES }, () => 'customer'))).toEqual(['customer']);
    const error = refusal(Array.from({ length: EXPAND_MAX_ENTRIES + 1 }, () => 'customer'));
    expect(error).toMatchObject({ code: 'parameter_invalid', param: 'expand' });
    expect(error.message).toBe(`expand takes at most ${EXPAND_MAX_ENTRIES} entries, repeats included.`);
  });

  it('de-duplicates repeated paths, so repeats cannot multiply the work', () => {
    expect(parsed(Array.from({ length: 100 }, () => 'customer'))).toEqual(['customer']);
    expect(parsed({ 0: 'customer', 1: 'latest_charge', 2: 'customer' })).toEqual(['customer', 'latest_charge']);
    expect(parsed('customer')).toEqual(['customer']);
  });

  it(`allows paths ${EXPAND_MAX_DEPTH} levels deep and refuses deeper ones`, () => {
    expect(parsed(['data.payment_intent.customer.invoice_settings'])).toEqual(['data.payment_intent.customer.invoice_settings']);
    expect(refusal(['data.payment_intent.customer.invoice_settings.default_payment_method'])).toMatchObject({ code: 'parameter_invalid', param: 'expand' });
  });

  it(`allows ${EXPAND_MAX_PATHS} distinct paths and refuses more`, () => {
    const paths = Array.from({ length: EXPAND_MAX_PATHS + 1 }, (_, i) => `field_${i}`);
    expect(parsed(paths.slice(0, EXPAND_MAX_PATHS))).toHaveLength(EXPAND_MAX_PATHS);
    expect(refusal(paths).message).toContain(`more than ${EXPAND_MAX_PATHS}`);
  });

  it('refuses what is not a field path', () => {
    for (const bad of [[''], ['customer.'], ['.customer'], ['a..b'], ['customer name'], [42], [['customer']], Array.from({ length: 101 }, () => 'customer')]) {
      expect(refusal(bad)).toMatchObject({ code: 'parameter_invalid', param: 'expand' });
    }
  });
});

describe('request cost', () => {
  it('grows with the page size, the expansions and writes', () => {
    expect(requestCost({ write: false, objects: 1, expansions: 0 })).toBe(1);
    expect(requestCost({ write: false, objects: 10, expansions: 0 })).toBe(1);
    expect(requestCost({ write: false, objects: 100, expansions: 0 })).toBe(10);
    expect(requestCost({ write: false, objects: 100, expansions: 3 })).toBe(40);
    expect(requestCost({ write: true, objects: 1, expansions: 0 })).toBe(WRITE_COST);
    expect(requestCost({ write: true, objects: 1, expansions: 2 })).toBe(WRITE_COST + 2);
  });
});

describe('in-process limits', () => {
  it('a token bucket spends costs, refills at the rate and says when to retry', () => {
    const buckets = new TokenBuckets({ rate_per_s: 2, burst: 10 });
    expect(buckets.take('m', 8, 0)).toEqual({ allowed: true });
    expect(buckets.take('m', 4, 0)).toEqual({ allowed: false, retry_after_ms: 1_000 });
    expect(buckets.take('m', 4, 1_000)).toEqual({ allowed: true });
    expect(buckets.take('other', 10, 1_000)).toEqual({ allowed: true });
    // A cost above the burst spends the whole burst rather than never passing.
    expect(buckets.take('m', 50, 10_000)).toEqual({ allowed: true });
  });

  it('failed authentications block an address for the rest of the window, and only that address', () => {
    const windows = new FailureWindows({ limit: 3, window_ms: 60_000 });
    for (let i = 0; i < 3; i++) {
      expect(windows.blockedFor('a', i)).toBeUndefined();
      windows.record('a', i);
    }
    expect(windows.blockedFor('a', 10_000)).toBe(50_000);
    expect(windows.blockedFor('b', 10_000)).toBeUndefined();
    expect(windows.blockedFor('a', 60_000)).toBeUndefined();
  });
});

describe('JSON nesting check', () => {
  it('counts containers outside strings only', () => {
    expect(nestsDeeperThan('{"a":{"b":[1,[2]]}}', 4)).toBe(false);
    expect(nestsDeeperThan('{"a":{"b":[1,[[2]]]}}', 4)).toBe(true);
    expect(nestsDeeperThan(`{"a":"${'[{'.repeat(100)}\\"${'{'.repeat(10)}"}`, 2)).toBe(false);
  });
});

describe('client addresses', () => {
  it('count IPv6 clients by their /64 and everything else as it is', () => {
    expect(addressKey('203.0.113.9')).toBe('203.0.113.9');
    expect(addressKey('::ffff:203.0.113.9')).toBe('::ffff:203.0.113.9');
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0DB8:0001:0002::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1:2:3:4')).toBe('fe80:0:0:0::/64');
  });
});
