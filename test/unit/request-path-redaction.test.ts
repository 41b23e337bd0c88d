import { describe, expect, it } from 'vitest';
import { loggablePath } from '../../src/services/gateway/adapters/request-recording.js';

/** What the API request log keeps of a path: never a card number or a secret a client put where an id goes. */

describe('loggablePath', () => {
  it('redacts card numbers of every length, grouped or not, and percent-encoded', () => {
    expect(loggablePath('/v1/payment_methods/4242424242424242')).toBe('/v1/payment_methods/[redacted]');
    expect(loggablePath('/v1/payment_methods/378282246310005/attach')).toBe('/v1/payment_methods/[redacted]/attach');
    expect(loggablePath('/v1/customers/cus_1/sources/4242-4242-4242-4242')).toBe('/v1/customers/cus_1/sources/[redacted]');
    expect(loggablePath('/v1/payment_methods/4242%204242%204242%204242')).toBe('/v1/payment_methods/[redacted]');
    expect(loggablePath('/v1/payment_methods/pm_6011111111111117')).toBe('/v1/payment_methods/pm_[redacted]');
    expect(loggablePath('/v1/charges/4000056655665556123')).toBe('/v1/charges/[redacted]');
  });

  it('redacts API keys, webhook secrets and the secret part of a client secret', () => {
    expect(loggablePath('/v1/customers/sk_live_abcDEF123')).toBe('/v1/customers/[redacted]');
    expect(loggablePath('/v1/customers/rk_test_abcDEF123/x')).toBe('/v1/customers/[redacted]/x');
    expect(loggablePath('/v1/webhook_endpoints/whsec_abc123')).toBe('/v1/webhook_endpoints/[redacted]');
    expect(loggablePath('/v1/payment_intents/pi_123_secret_a-b_C9')).toBe('/v1/payment_intents/pi_123_secret_[redacted]');
  });

  it('keeps ordinary ids, short numbers and the path without its query', () => {
    expect(loggablePath('/v1/payment_intents/pi_01JABCDXYZ?client_secret=pi_1_secret_x')).toBe('/v1/payment_intents/pi_01JABCDXYZ');
    expect(loggablePath('/v1/charges/ch_12345678901')).toBe('/v1/charges/ch_12345678901');
    expect(loggablePath('/v1/balance_transactions?created[gte]=1700000000000000')).toBe('/v1/balance_transactions');
    expect(loggablePath('/v1/customers/%E0%A4%A')).toBe('/v1/customers/%E0%A4%A');
    expect(loggablePath(`/v1/customers/${'x'.repeat(600)}`)).toHaveLength(500);
  });
});
