import { describe, expect, it } from 'vitest';
import { connectionName, roleFromEnv } from '../../src/roles/names.js';

describe('the role a process runs', () => {
  it('is PAYRAIL_SERVICE, else api when consumers are off, else all', () => {
    expect(roleFromEnv({ PAYRAIL_SERVICE: 'ledger' })).toBe('ledger');
    expect(roleFromEnv({ PAYRAIL_SERVICE: 'relay', PAYRAIL_CONSUMERS: 'off' })).toBe('relay');
    expect(roleFromEnv({ PAYRAIL_CONSUMERS: 'off' })).toBe('api');
    expect(roleFromEnv({ PAYRAIL_CONSUMERS: 'on' })).toBe('all');
    expect(roleFromEnv({})).toBe('all');
  });

  it('refuses a name that is not a role, listing the ones that are', () => {
    expect(() => roleFromEnv({ PAYRAIL_SERVICE: 'payments' })).toThrow(
      'PAYRAIL_SERVICE (or --service) must be one of all, api, vault, risk, ledger, webhooks, relay, scheduler; got "payments"',
    );
  });

  it('names its database connections after the role, and `all` as before', () => {
    expect(connectionName('all')).toBe('payrail');
    expect(connectionName('scheduler')).toBe('payrail-scheduler');
  });
});
