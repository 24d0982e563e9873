import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ipMatches, isValidIpAclId } from '../../src/core/acl/ip.ts';

describe('isValidIpAclId', () => {
  it('accepts an IPv4 address, alone or with /0 to /32', () => {
    for (const id of ['127.0.0.1', '10.0.0.0/8', '0.0.0.0/0', '1.2.3.4/32', '255.255.255.255']) {
      expect(isValidIpAclId(id), id).toBe(true);
    }
  });

  it('accepts an IPv6 address, alone or with /0 to /128, as ZooKeeper 3.9.4 does', () => {
    for (const id of ['::1', '::', '1::', '2001:db8::/32', 'fe80::1/128', '1:2:3:4:5:6:7:8', 'ABCD:ef01::/0']) {
      expect(isValidIpAclId(id), id).toBe(true);
    }
  });

  it('reads leading zeros as decimal, as Java does', () => {
    expect(isValidIpAclId('010.000.000.001/08')).toBe(true);
    expect(ipMatches('010.0.0.1', '10.0.0.1')).toBe(true);
  });

  it('refuses out-of-range octets and prefix lengths', () => {
    for (const id of ['1.2.3.4/33', '300.1.1.1', '1.2.3.256', '::1/129', '1.2.3.4/-1']) {
      expect(isValidIpAclId(id), id).toBe(false);
    }
  });

  it('refuses anything that is not an address', () => {
    for (const id of ['abc', '', '1.2.3', '1.2.3.4.5', '1..2.3', '1.2.3.4/', '/8', '1.2.3.4/8/8', ' 1.2.3.4', '1.2.3.4 ', 'localhost', '0x7f.0.0.1']) {
      expect(isValidIpAclId(id), id).toBe(false);
    }
  });

  it('refuses malformed IPv6: two ::, nine groups, long groups, an embedded dotted quad, a zone', () => {
    for (const id of ['1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', ':1:2:3:4:5:6:7', 'g::1', '::ffff:1.2.3.4', 'fe80::1%eth0', '1:2:3:4::5:6:7:8']) {
      expect(isValidIpAclId(id), id).toBe(false);
    }
  });

  it('refuses the signs Java\'s parseInt would take', () => {
    expect(isValidIpAclId('+1.2.3.4')).toBe(false);
    expect(isValidIpAclId('1.2.3.4/+8')).toBe(false);
  });
});

describe('ipMatches', () => {
  it('matches an exact address and nothing else', () => {
    expect(ipMatches('127.0.0.1', '127.0.0.1')).toBe(true);
    expect(ipMatches('127.0.0.1', '127.0.0.2')).toBe(false);
    expect(ipMatches('255.255.255.255', '255.255.255.255')).toBe(true);
  });

  it('matches a /24 on the first three octets', () => {
    expect(ipMatches('10.1.2.0/24', '10.1.2.0')).toBe(true);
    expect(ipMatches('10.1.2.0/24', '10.1.2.255')).toBe(true);
    expect(ipMatches('10.1.2.0/24', '10.1.3.0')).toBe(false);
    expect(ipMatches('10.1.2.0/24', '11.1.2.7')).toBe(false);
  });

  it('masks the ACL address too, as ZooKeeper does: host bits in the id do not matter', () => {
    expect(ipMatches('10.1.2.77/24', '10.1.2.5')).toBe(true);
  });

  it('matches every IPv4 address with /0, and no IPv6 one', () => {
    expect(ipMatches('0.0.0.0/0', '8.8.8.8')).toBe(true);
    expect(ipMatches('1.2.3.4/0', '255.255.255.255')).toBe(true);
    expect(ipMatches('0.0.0.0/0', '::1')).toBe(false);
  });

  it('matches exactly with /32', () => {
    expect(ipMatches('192.168.1.1/32', '192.168.1.1')).toBe(true);
    expect(ipMatches('192.168.1.1/32', '192.168.1.0')).toBe(false);
  });

  it('cuts inside an octet, the top bit included', () => {
    expect(ipMatches('128.0.0.0/1', '200.1.1.1')).toBe(true);
    expect(ipMatches('128.0.0.0/1', '127.255.255.255')).toBe(false);
    expect(ipMatches('10.0.0.0/31', '10.0.0.1')).toBe(true);
    expect(ipMatches('10.0.0.0/31', '10.0.0.2')).toBe(false);
  });

  it('treats an IPv4-mapped IPv6 caller as its IPv4 address', () => {
    expect(ipMatches('127.0.0.1', '::ffff:127.0.0.1')).toBe(true);
    expect(ipMatches('10.1.2.0/24', '::ffff:10.1.2.3')).toBe(true);
    expect(ipMatches('10.1.2.0/24', '::ffff:10.1.3.3')).toBe(false);
  });

  it('matches IPv6 by prefix, across 32-bit boundaries', () => {
    expect(ipMatches('::1', '::1')).toBe(true);
    expect(ipMatches('::1', '0:0:0:0:0:0:0:1')).toBe(true);
    expect(ipMatches('::1', '::2')).toBe(false);
    expect(ipMatches('2001:db8::/32', '2001:db8:ffff::1')).toBe(true);
    expect(ipMatches('2001:db8::/32', '2001:db9::1')).toBe(false);
    expect(ipMatches('2001:db8:0:0:8000::/65', '2001:db8::ffff:0:0:1')).toBe(true);
    expect(ipMatches('2001:db8:0:0:8000::/65', '2001:db8::7fff:0:0:1')).toBe(false);
    expect(ipMatches('fe80::/10', 'febf::1')).toBe(true);
    expect(ipMatches('fe80::/10', 'fec0::1')).toBe(false);
  });

  it('never matches IPv4 against IPv6', () => {
    expect(ipMatches('::/0', '127.0.0.1')).toBe(false);
    expect(ipMatches('::ffff:7f00:1', '::ffff:127.0.0.1')).toBe(false);
  });

  it('never matches with an invalid ACL id', () => {
    for (const id of ['0.0.0.0/33', '300.1.1.1', 'abc', '', '1.2.3.4/']) {
      expect(ipMatches(id, '1.2.3.4'), id).toBe(false);
    }
  });

  it('never matches an invalid caller address, nor one given as a range', () => {
    for (const address of ['', 'unknown', '1.2.3', '10.1.2.3/24', 'fe80::1%eth0']) {
      expect(ipMatches('0.0.0.0/0', address), address).toBe(false);
      expect(ipMatches('::/0', address), address).toBe(false);
    }
  });

  it('agrees with a bitwise reference for random IPv4 addresses and prefixes', () => {
    const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
    fc.assert(fc.property(v4, v4, fc.nat(32), (a, b, bits) => {
      const expected = bits === 0 || (BigInt(word(a)) ^ BigInt(word(b))) >> BigInt(32 - bits) === 0n;
      expect(ipMatches(`${a.join('.')}/${bits}`, b.join('.'))).toBe(expected);
    }));
  });

  it('agrees with a bitwise reference for random IPv6 addresses and prefixes', () => {
    const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 });
    fc.assert(fc.property(v6, v6, fc.nat(128), (a, b, bits) => {
      const expected = bits === 0 || (big(a) ^ big(b)) >> BigInt(128 - bits) === 0n;
      expect(ipMatches(`${hex(a)}/${bits}`, hex(b))).toBe(expected);
    }));
  });

  it('keeps answering correctly once more ids were seen than it caches', () => {
    for (let i = 0; i < 10_000; i++) isValidIpAclId(`10.${i >> 8}.${i & 255}.0/24`);
    expect(ipMatches('10.1.2.0/24', '10.1.2.9')).toBe(true);
    expect(ipMatches('10.1.2.0/24', '10.1.3.9')).toBe(false);
  });
});

const word = (octets: readonly number[]): number => octets.reduce((w, o) => w * 256 + o, 0);
const big = (groups: readonly number[]): bigint => groups.reduce((w, g) => (w << 16n) | BigInt(g), 0n);
const hex = (groups: readonly number[]): string => groups.map((g) => g.toString(16)).join(':');
