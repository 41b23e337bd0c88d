import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { estimatedEntropyBits, generateKey, keyShape, redactedKey, weakKeyReason } from '../../src/services/merchants/domain/api-keys.js';
import { allows, publishableRule, requiredPermission, stripePermissionName } from '../../src/services/merchants/domain/permissions.js';
import { loadConfig } from '../../src/platform/config.js';

describe('API key shapes', () => {
  it('generates keys of each kind and mode that parse back to it', () => {
    for (const kind of ['secret', 'restricted', 'publishable'] as const) {
      for (const livemode of [false, true]) {
        const key = generateKey(kind, livemode, randomBytes);
        expect(key).toMatch(/^(sk|rk|pk)_(test|live)_[0-9A-Za-z]{32}$/);
        expect(keyShape(key)).toEqual({ kind, livemode, prefix: key.slice(0, 7) });
      }
    }
  });

  it('draws every character uniformly: bytes that would bias the alphabet are drawn again', () => {
    // A source of only 255s (always rejected) then 0s: the key must be built from the second draw.
    let calls = 0;
    const key = generateKey('secret', false, (n) => Buffer.alloc(n, calls++ === 0 ? 255 : 0));
    expect(key).toBe(`sk_test_${'0'.repeat(32)}`);
    expect(calls).toBe(2);
  });

  it('refuses anything that is not a key', () => {
    for (const text of [
      '',
      'sk_test_short',
      'sk_prod_0123456789abcdefXYZ',
      'xk_test_0123456789abcdefXYZ',
      'sk_test_0123456789abcdef!',
      `sk_test_${'a'.repeat(100)}`,
    ]) {
      expect(keyShape(text)).toBeUndefined();
      expect(weakKeyReason(text)).toBeDefined();
    }
  });

  it('shows only the prefix and the last four characters once created', () => {
    expect(redactedKey('rk_live', 'Ab12')).toBe('rk_live_…Ab12');
  });
});

describe('weak keys', () => {
  it('accepts memorable keys in test mode (scripts and the quick start use them)', () => {
    expect(weakKeyReason('sk_test_payrailQuickstart0000001')).toBeUndefined();
  });

  it('refuses short, repetitive or one-class live keys', () => {
    expect(weakKeyReason('sk_live_payrailQuickstart0000001')).toMatch(/at least 32/);
    expect(weakKeyReason(`sk_live_${'a'.repeat(40)}`)).toMatch(/random/);
    expect(weakKeyReason(`sk_live_${'abAB'.repeat(10)}`)).toMatch(/random/);
    expect(weakKeyReason(`sk_live_${'0123456789'.repeat(4)}`)).toMatch(/random/);
  });

  it('accepts every generated live key', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 256, maxLength: 256 }), (bytes) => {
        let offset = 0;
        const random = (n: number) => {
          const chunk = Buffer.from(bytes.subarray(offset % 224, (offset % 224) + n));
          offset += n;
          return chunk.length === n ? chunk : randomBytes(n);
        };
        const key = generateKey('secret', true, random);
        // A degenerate byte source (fast-check's all-zero arrays) yields a degenerate key, which must be refused.
        expect(weakKeyReason(key) === undefined).toBe(estimatedEntropyBits(key.slice(8)) >= 120 && /[A-Za-z]/.test(key.slice(8)));
      }),
    );
    for (let i = 0; i < 1_000; i++) expect(weakKeyReason(generateKey('secret', true, randomBytes))).toBeUndefined();
  });
});

describe('restricted key permissions', () => {
  it("names a route's resource as Stripe's dashboard does, and reads for GET only", () => {
    expect(requiredPermission('GET', '/v1/charges/:id')).toEqual({ resource: 'charges', access: 'read' });
    expect(requiredPermission('POST', '/v1/payment_intents/:id/confirm')).toEqual({ resource: 'payment_intents', access: 'write' });
    expect(requiredPermission('DELETE', '/v1/webhook_endpoints/:id')).toEqual({ resource: 'webhook_endpoints', access: 'write' });
    expect(requiredPermission('POST', '/v1/test_helpers/payment_intents/:id/authenticate')).toEqual({ resource: 'payment_intents', access: 'write' });
    expect(requiredPermission('GET', '/v1/customers/:id/payment_methods')).toEqual({ resource: 'payment_methods', access: 'read' });
    expect(requiredPermission('GET', '/v1/customers/:id/payment_methods/:payment_method')).toEqual({ resource: 'payment_methods', access: 'read' });
    expect(requiredPermission('GET', '/v1/customers/search')).toEqual({ resource: 'customers', access: 'read' });
    expect(requiredPermission('POST', '/v1/checkout/sessions/:id/expire')).toEqual({ resource: 'checkout_sessions', access: 'write' });
    expect(requiredPermission('GET', '/v1/setup_attempts')).toEqual({ resource: 'setup_intents', access: 'read' });
    expect(requiredPermission('GET', '/v1/balance')).toEqual({ resource: 'balance', access: 'read' });
  });

  it('lets write include read, and nothing include what is not named', () => {
    const permissions = { charges: 'read', payment_intents: 'write' } as const;
    expect(allows(permissions, { resource: 'charges', access: 'read' })).toBe(true);
    expect(allows(permissions, { resource: 'charges', access: 'write' })).toBe(false);
    expect(allows(permissions, { resource: 'payment_intents', access: 'read' })).toBe(true);
    expect(allows(permissions, { resource: 'refunds', access: 'read' })).toBe(false);
    // Properties inherited by every object are not permissions.
    expect(allows(permissions, { resource: 'constructor', access: 'read' })).toBe(false);
  });

  it("names the missing permission as Stripe's 403 does", () => {
    expect(stripePermissionName({ resource: 'charges', access: 'write' })).toBe('rak_charge_write');
    expect(stripePermissionName({ resource: 'payment_intents', access: 'read' })).toBe('rak_payment_intent_read');
    expect(stripePermissionName({ resource: 'customers', access: 'read' })).toBe('rak_customer_read');
    expect(stripePermissionName({ resource: 'balance_transactions', access: 'read' })).toBe('rak_balance_transaction_source_read');
    expect(stripePermissionName({ resource: 'checkout_sessions', access: 'write' })).toBe('rak_checkout_session_write');
  });
});

describe('publishable keys', () => {
  it("may do only what Stripe's may", () => {
    expect(publishableRule('POST', '/v1/payment_methods')).toBe('allowed');
    expect(publishableRule('GET', '/v1/payment_intents/:id')).toBe('client_secret');
    expect(publishableRule('POST', '/v1/payment_intents/:id/confirm')).toBe('client_secret');
    for (const [method, route] of [
      ['GET', '/v1/payment_methods/:id'],
      ['POST', '/v1/payment_intents'],
      ['GET', '/v1/payment_intents'],
      ['POST', '/v1/refunds'],
      ['GET', '/v1/balance'],
      ['POST', '/v1/payment_intents/:id/capture'],
    ] as const) {
      expect(publishableRule(method, route)).toBeUndefined();
    }
  });
});

describe('the admin token', () => {
  it('turns the admin API on only when set, and only when it is long and varied', () => {
    expect(loadConfig({}).admin_token).toBeUndefined();
    const token = randomBytes(24).toString('hex');
    expect(loadConfig({ PAYRAIL_ADMIN_TOKEN: token }).admin_token).toBe(token);
    for (const weak of ['admin', 'x'.repeat(64), 'abcabcabcabcabcabcabcabcabcabcabcabc']) {
      expect(() => loadConfig({ PAYRAIL_ADMIN_TOKEN: weak })).toThrow(/PAYRAIL_ADMIN_TOKEN must be at least 32 random characters/);
    }
  });
});
