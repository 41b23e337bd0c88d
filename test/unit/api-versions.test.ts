import { describe, expect, it } from 'vitest';
import { answeredVersion } from '../../src/services/gateway/adapters/api-versions.js';
import { noAccess } from '../../src/services/gateway/adapters/acting-account.js';
import { PayrailError } from '../../src/kernel/errors.js';

function refusal(call: () => unknown): PayrailError | undefined {
  try {
    call();
    return undefined;
  } catch (error) {
    return error as PayrailError;
  }
}

describe('Stripe-Version', () => {
  it('answers in the version whose shape the body has', () => {
    expect(answeredVersion(undefined)).toBe('2023-08-16');
    expect(answeredVersion('2023-08-16')).toBe('2023-08-16');
    // Shapes Payrail renders as they were.
    expect(answeredVersion('2019-02-11')).toBe('2019-02-11');
    expect(answeredVersion('2020-08-27')).toBe('2020-08-27');
    expect(answeredVersion(' 2022-08-01 ')).toBe('2022-08-01');
    // Close enough, or newer than Payrail: answered in 2023-08-16's shape, and said so.
    expect(answeredVersion('2022-11-15')).toBe('2023-08-16');
    expect(answeredVersion('2024-04-10')).toBe('2023-08-16');
    expect(answeredVersion('2025-09-30.clover')).toBe('2023-08-16');
  });

  it('refuses what names no Stripe version, and versions older than PaymentIntents’ shape', () => {
    for (const version of ['banana', '', '2023-8-16', '2023-02-30', '2021-01-01', '2024-06-20.Acacia', '2023-08-16; beta=v1']) {
      expect(refusal(() => answeredVersion(version))?.code, version).toBe('api_version_invalid');
    }
    expect(refusal(() => answeredVersion('banana'))?.message).toBe('Invalid Stripe API version: banana');
    expect(refusal(() => answeredVersion('4242424242424242 x'))?.message).not.toContain('4242');
    expect(refusal(() => answeredVersion('2017-08-15'))?.code).toBe('api_version_unsupported');
    expect(refusal(() => answeredVersion('2019-02-10'))?.code).toBe('api_version_unsupported');
  });
});

describe('Stripe-Account', () => {
  it('refuses an account the key cannot reach with Stripe’s 403, naming the account and only the kind of key', () => {
    const other = noAccess({ kind: 'secret', livemode: false }, 'acct_1Other');
    expect(other).toMatchObject({ code: 'account_invalid', status: 403 });
    expect(other.message).toBe(
      "The provided key 'sk_test_***' does not have access to account 'acct_1Other' (or that account does not exist). Application access may have been revoked.",
    );
    expect(noAccess({ kind: 'restricted', livemode: true }, '4242424242424242').message).not.toContain('4242');
  });
});
