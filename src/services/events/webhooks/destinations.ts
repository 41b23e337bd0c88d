import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { PayrailError } from '../../../kernel/errors.js';

/**
 * Where webhooks may go. A webhook makes the server send a request where a merchant says: pointed at
 * 127.0.0.1, the cloud's metadata service or the private network, it reaches what only the server
 * should reach (SSRF), and its outcome tells whether a port answered. So only public addresses are
 * allowed: checked here when an endpoint is created or updated (addresses written in the URL, in any
 * spelling), and again for every connection after DNS resolution (transport.ts), which is what
 * holds against names that resolve to private addresses or change what they resolve to.
 */

export interface DestinationPolicy {
  /** PAYRAIL_WEBHOOKS_ALLOW_PRIVATE: local receivers, for development only. */
  allow_private: boolean;
  /** PAYRAIL_MODE=live: every webhook goes over TLS, as in Stripe's live mode. */
  https_only?: boolean;
}

/**
 * Ranges ipaddr.js counts as public unicast that still reach this machine: the deprecated
 * IPv4-compatible IPv6 addresses (`::127.0.0.1`). Refused unless private destinations are allowed.
 */
export const DENIED_UNICAST_RANGES: readonly string[] = ['::/96'];

const denied = DENIED_UNICAST_RANGES.map((cidr) => ipaddr.parseCIDR(cidr));

/** Whether an IP address (v4 or v6, no brackets) is public: globally routable unicast. */
export function isPublicAddress(address: string): boolean {
  const parsed = ipaddr.parse(address);
  if (parsed.range() !== 'unicast') return false;
  return !denied.some(([range, bits]) => range.kind() === parsed.kind() && parsed.match(range, bits));
}

/**
 * True when the URL's host is this machine or a non-public network outright: an IP address (the URL
 * parser has already turned `0x7f.1`, `2130706433` or `0177.0.0.1` into `127.0.0.1`) that is not
 * public, or `localhost` and its subdomains, which resolve to loopback by definition (RFC 6761).
 */
export function namesPrivateHost(url: URL): boolean {
  const host = url.hostname
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '')
    .toLowerCase();
  if (isIP(host) !== 0) return !isPublicAddress(host);
  return host === 'localhost' || host.endsWith('.localhost');
}

/**
 * Refuses, with Stripe's 400 `url_invalid`, a plain-http URL in live mode (the platform's, or the
 * request's live key) and a URL whose host is written as a non-public address.
 */
export function checkDestination(url: URL, policy: DestinationPolicy, livemode: boolean): void {
  if ((policy.https_only === true || livemode) && url.protocol !== 'https:') {
    throw new PayrailError('url_invalid', { status: 400, param: 'url', message: 'Invalid URL: webhook URLs must use https in live mode.' });
  }
  if (policy.allow_private || !namesPrivateHost(url)) return;
  throw new PayrailError('url_invalid', {
    status: 400,
    param: 'url',
    message:
      'Invalid URL: webhook URLs must be publicly accessible; private, loopback and link-local addresses are refused. ' +
      'For a local receiver in development, start Payrail with PAYRAIL_WEBHOOKS_ALLOW_PRIVATE=1.',
  });
}
