/**
 * IP addresses as value list items hold them: IPv4 in dotted decimal, IPv6 in one canonical spelling
 * (RFC 5952: lower case, leading zeros dropped, the longest run of zero groups as `::`), so
 * `2001:DB8:0:0::1` and `2001:db8::1` are one item. Pure: the domain does no I/O (node:net included).
 */

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

export function isIpv4(text: string): boolean {
  return IPV4.test(text);
}

/** The eight 16-bit groups of an IPv6 address (a trailing dotted IPv4 counts as two), or undefined. */
function ipv6Groups(text: string): number[] | undefined {
  if (text.length > 45 || text.includes(':::')) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const pieces = part.split(':');
    const groups: number[] = [];
    for (const [index, piece] of pieces.entries()) {
      if (index === pieces.length - 1 && isIpv4(piece)) {
        const [a = 0, b = 0, c = 0, d = 0] = piece.split('.').map(Number);
        groups.push((a << 8) | b, (c << 8) | d);
      } else if (HEX_GROUP.test(piece)) groups.push(parseInt(piece, 16));
      else return undefined;
    }
    return groups;
  };
  const head = parse(halves[0] ?? '');
  const tail = halves.length === 2 ? parse(halves[1] ?? '') : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  return [...head, ...Array<number>(missing).fill(0), ...tail];
}

export function isIpAddress(text: string): boolean {
  return isIpv4(text) || ipv6Groups(text) !== undefined;
}

/** The canonical spelling of an IP address; anything else as it was given. */
export function canonicalIp(text: string): string {
  const groups = isIpv4(text) ? undefined : ipv6Groups(text);
  if (!groups) return text;
  let best = { start: -1, length: 1 };
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((group) => group.toString(16));
  if (best.start < 0) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.length).join(':')}`;
}
