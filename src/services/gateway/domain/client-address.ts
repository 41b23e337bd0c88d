/**
 * The key failed authentications are counted under for a client address. IPv6 clients are counted by
 * their /64, which one subscriber usually holds whole (rotating through it would otherwise reset the
 * count); IPv4, IPv4-mapped IPv6 and anything else are counted as they are.
 */
export function addressKey(address: string): string {
  // Node gives addresses in canonical text; only IPv6 has colons.
  if (!address.includes(':') || address.toLowerCase().startsWith('::ffff:')) return address;
  const [head = '', tail = ''] = address.split('::', 2);
  const left = head === '' ? [] : head.split(':');
  const right = address.includes('::') && tail !== '' ? tail.split(':') : [];
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => group.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
