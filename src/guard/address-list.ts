/**
 * Lists of client addresses and CIDR blocks (server.allow, users[].hosts), matched with Node's BlockList.
 * Pure: no sockets. IPv4 clients of a dual-stack listener arrive as '::ffff:a.b.c.d' and match IPv4 entries.
 */
import net from 'node:net';

/** One entry of a list: an address, or an address and a prefix length. */
export type AddressPattern = { family: 'ipv4' | 'ipv6'; address: string; prefix: number | null };

/** Parses "10.0.0.0/8", "192.0.2.7", "::1", "fd00::/8"; a reason when the text is none of these. */
export function parseAddressPattern(text: string): AddressPattern | { problem: string } {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const version = net.isIP(address);
  if (version === 0) return { problem: 'an IP address or a CIDR block (a.b.c.d/n, x::/n) is expected' };
  const family = version === 4 ? 'ipv4' : 'ipv6';
  if (slash === -1) return { family, address, prefix: null };
  const prefixText = text.slice(slash + 1);
  const prefix = /^[0-9]{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  const max = version === 4 ? 32 : 128;
  if (!(prefix >= 0 && prefix <= max)) return { problem: `the prefix length must be 0..${max}` };
  return { family, address, prefix };
}

/** The address a socket reports, with an IPv4-mapped IPv6 address given as IPv4. */
export function clientIp(remoteAddress: string | undefined): string {
  if (!remoteAddress) return '';
  return remoteAddress.startsWith('::ffff:') && net.isIPv4(remoteAddress.slice(7)) ? remoteAddress.slice(7) : remoteAddress;
}

export class AddressList {
  private readonly blocks = new net.BlockList();

  /** Builds a list from entries already validated by parseAddressPattern (config loading). */
  constructor(readonly entries: readonly string[]) {
    for (const entry of entries) {
      const pattern = parseAddressPattern(entry);
      if ('problem' in pattern) throw new Error(`${entry}: ${pattern.problem}`);
      if (pattern.prefix === null) this.blocks.addAddress(pattern.address, pattern.family);
      else this.blocks.addSubnet(pattern.address, pattern.prefix, pattern.family);
    }
  }

  /** Whether the client address (as the socket reports it) is on the list. */
  includes(remoteAddress: string | undefined): boolean {
    const ip = clientIp(remoteAddress);
    const version = net.isIP(ip);
    if (version === 0) return false;
    return this.blocks.check(ip, version === 4 ? 'ipv4' : 'ipv6');
  }
}
