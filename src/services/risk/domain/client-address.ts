import ipaddr from 'ipaddr.js';

/**
 * Whether an address can name a client on the internet. A loopback, private, link-local or other
 * reserved address (a load balancer's, when PAYRAIL_TRUST_PROXY is unset; a developer's machine) is
 * shared by every client behind it, so counting attempts "per IP address" there would lump strangers
 * together: the scorer then treats the attempt as having no address at all.
 */
const cache = new Map<string, boolean>();
const MAX_CACHED = 10_000;

export function isPublicAddress(address: string): boolean {
  const known = cache.get(address);
  if (known !== undefined) return known;
  let result = false;
  if (ipaddr.isValid(address)) {
    let parsed = ipaddr.parse(address);
    if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
    result = parsed.range() === 'unicast';
  }
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(address, result);
  return result;
}
