import { describe, expect, it } from 'vitest';
import { PayrailError } from '../../src/kernel/errors.js';
import { loadConfig } from '../../src/platform/config.js';
import { checkDestination, isPublicAddress, namesPrivateHost } from '../../src/services/events/webhooks/destinations.js';

/** What endpoint creation refuses before any connection: addresses written in the URL, and plain http in live mode. */

const refusal = (call: () => void): PayrailError | undefined => {
  try {
    call();
    return undefined;
  } catch (error) {
    return error as PayrailError;
  }
};

describe('webhook destinations', () => {
  it('classifies addresses: only globally routable unicast is public', () => {
    for (const address of ['8.8.8.8', '93.184.216.34', '2606:4700:4700::1111']) expect(isPublicAddress(address), address).toBe(true);
    const private_addresses = ['127.0.0.1', '10.1.2.3', '172.31.255.255', '192.168.0.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '255.255.255.255'];
    const private_v6 = ['::1', '::', '::ffff:7f00:1', '::7f00:1', 'fe80::1', 'fd12:3456::1', '64:ff9b::a00:1', '2001:db8::1', 'ff02::1'];
    for (const address of [...private_addresses, ...private_v6]) expect(isPublicAddress(address), address).toBe(false);
  });

  it('sees through the spellings the URL parser normalizes, and localhost names', () => {
    for (const url of ['http://0x7f.1/', 'http://2130706433/', 'http://[::ffff:127.0.0.1]/', 'http://127.1/', 'http://Localhost./', 'http://a.b.localhost/']) {
      expect(namesPrivateHost(new URL(url)), url).toBe(true);
    }
    for (const url of ['https://hooks.example.com/', 'https://localhost.example.com/', 'http://8.8.8.8/', 'http://[2606:4700::1111]/']) {
      expect(namesPrivateHost(new URL(url)), url).toBe(false);
    }
  });

  it('refuses with a 400 url_invalid on param url, unless private destinations are allowed', () => {
    const production = { allow_private: false, https_only: false };
    expect(refusal(() => checkDestination(new URL('http://169.254.169.254/'), production, false))).toMatchObject({
      code: 'url_invalid',
      status: 400,
      param: 'url',
    });
    expect(refusal(() => checkDestination(new URL('http://127.0.0.1:3000/'), { ...production, allow_private: true }, false))).toBeUndefined();
    expect(refusal(() => checkDestination(new URL('https://hooks.example.com/'), production, false))).toBeUndefined();
  });

  it('requires https in live mode: a live key, or the platform in live mode', () => {
    const production = { allow_private: false, https_only: false };
    const http = new URL('http://hooks.example.com/');
    expect(refusal(() => checkDestination(http, production, false))).toBeUndefined();
    const live_refusal = refusal(() => checkDestination(http, production, true));
    expect(live_refusal).toMatchObject({ code: 'url_invalid', status: 400 });
    expect(live_refusal?.message).toMatch(/https/);
    expect(refusal(() => checkDestination(http, { ...production, https_only: true }, false))).toMatchObject({ code: 'url_invalid', status: 400 });
    expect(refusal(() => checkDestination(new URL('https://hooks.example.com/'), { ...production, https_only: true }, true))).toBeUndefined();
  });

  it('PAYRAIL_WEBHOOKS_ALLOW_PRIVATE is 1 or 0 (unset: 0); anything else is refused, not guessed', () => {
    expect(loadConfig({}).webhooks_allow_private).toBe(false);
    expect(loadConfig({ PAYRAIL_WEBHOOKS_ALLOW_PRIVATE: '0' }).webhooks_allow_private).toBe(false);
    expect(loadConfig({ PAYRAIL_WEBHOOKS_ALLOW_PRIVATE: '1' }).webhooks_allow_private).toBe(true);
    for (const raw of ['true', 'yes', 'on']) expect(() => loadConfig({ PAYRAIL_WEBHOOKS_ALLOW_PRIVATE: raw }), raw).toThrow(/must be 0 or 1/);
  });
});
