import { describe, expect, it } from 'vitest';
import { AddressList, clientIp, parseAddressPattern } from '../../src/guard/address-list.js';

describe('AddressList', () => {
  it('matches addresses and CIDR blocks of both families, and IPv4 clients of a dual-stack listener', () => {
    const list = new AddressList(['10.0.0.0/8', '192.0.2.7', 'fd00::/8', '::1']);
    expect(list.includes('10.200.3.4')).toBe(true);
    expect(list.includes('::ffff:10.1.2.3')).toBe(true);
    expect(list.includes('192.0.2.7')).toBe(true);
    expect(list.includes('192.0.2.8')).toBe(false);
    expect(list.includes('fd12::5')).toBe(true);
    expect(list.includes('::1')).toBe(true);
    expect(list.includes('2001:db8::1')).toBe(false);
    expect(list.includes(undefined)).toBe(false);
  });

  it('explains what is wrong with an entry', () => {
    expect(parseAddressPattern('10.0.0.0/33')).toEqual({ problem: 'the prefix length must be 0..32' });
    expect(parseAddressPattern('db.example.com')).toMatchObject({ problem: expect.stringContaining('IP address') });
    expect(parseAddressPattern('::/0')).toEqual({ family: 'ipv6', address: '::', prefix: 0 });
    expect(parseAddressPattern('1.2.3.4/x')).toMatchObject({ problem: expect.any(String) });
  });

  it('reports an IPv4-mapped address as IPv4', () => {
    expect(clientIp('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(clientIp('::ffff:abcd')).toBe('::ffff:abcd');
  });
});
