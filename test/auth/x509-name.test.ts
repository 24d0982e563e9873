import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rfc2253NameOf, x509IdentityOf } from '../../src/auth/x509-name.ts';

// Expected names were checked against OpenJDK 25's X500Principal.getName() on the same DER
// (OpenJDK 17 agrees except where noted); the header of src/auth/x509-name.ts lists where Corral
// differs on purpose.

let dir: string;
let serial = 0;

/** A client certificate for `subject` (openssl -subj syntax), issued by the test CA. */
function clientCert(subject: string): X509Certificate {
  const name = `client-${serial++}`;
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const pem = join(dir, `${name}.pem`);
  execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', subject, '-utf8', '-multivalue-rdn'], { stdio: 'pipe' });
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'), '-set_serial', String(1000 + serial), '-days', '1', '-out', pem], { stdio: 'pipe' });
  return new X509Certificate(readFileSync(pem));
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'corral-x509-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem'), '-days', '1', '-subj', '/O=Corral Test/CN=Test CA'], { stdio: 'pipe' });
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('x509IdentityOf', () => {
  it('names a client by its subject, most specific RDN first, as ZooKeeper does', () => {
    const cert = clientCert('/C=US/O=Example/OU=eng/CN=alice');
    expect(cert.verify(new X509Certificate(readFileSync(join(dir, 'ca.pem'))).publicKey)).toBe(true);
    expect(x509IdentityOf(cert)).toBe('x509:CN=alice,OU=eng,O=Example,C=US');
  });

  it('escapes a comma and a plus in values, and joins a multi-valued RDN with +', () => {
    const cert = clientCert('/C=US/O=Example, Inc./OU=eng+UID=42/CN=Smith, John\\+admin');
    expect(x509IdentityOf(cert)).toBe('x509:CN=Smith\\, John\\+admin,OU=eng+UID=42,O=Example\\, Inc.,C=US');
  });

  it('escapes every RFC 2253 special character, = and # as Java does, and a trailing space', () => {
    const cert = clientCert('/CN=a\\+b=c;d\\\\e "q" <x> #h ');
    expect(x509IdentityOf(cert)).toBe('x509:CN=a\\+b\\=c\\;d\\\\e \\"q\\" \\<x\\> \\#h\\ ');
  });

  it('never lets a value pass for more RDNs', () => {
    const forged = x509IdentityOf(clientCert('/CN=alice,OU=admins'));
    const real = x509IdentityOf(clientCert('/OU=admins/CN=alice'));
    expect(real).toBe('x509:CN=alice,OU=admins');
    expect(forged).toBe('x509:CN=alice\\,OU\\=admins');
  });

  it('writes a newline as a hex pair and escapes a leading space', () => {
    expect(x509IdentityOf(clientCert('/C=US/CN=line1\nline2/O= lead'))).toBe('x509:O=\\ lead,CN=line1\\0Aline2,C=US');
  });

  it('uses keywords for DC and CN, dotted OIDs with hex DER for emailAddress and other attributes', () => {
    const cert = clientCert('/DC=org/DC=example/CN=Zoë/emailAddress=z@example.org/serialNumber=123');
    expect(x509IdentityOf(cert)).toBe('x509:2.5.4.5=#1303313233,1.2.840.113549.1.9.1=#160d7a406578616d706c652e6f7267,CN=Zoë,DC=example,DC=org');
  });

  it('gives no identity for an empty subject', () => {
    expect(x509IdentityOf(clientCert('/'))).toBeUndefined();
  });
});

// DER builders for names no CA tool would issue.
const length = (n: number): number[] => (n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff]);
const tlv = (tag: number, body: Uint8Array | number[]): Buffer => Buffer.concat([Buffer.from([tag, ...length(body.length)]), Buffer.from(body)]);
function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(BigInt);
  const bytes: number[] = [];
  const arc = (v: bigint): void => {
    const out = [Number(v & 0x7fn)];
    for (v >>= 7n; v > 0n; v >>= 7n) out.unshift(Number(v & 0x7fn) | 0x80);
    bytes.push(...out);
  };
  arc(arcs[0]! * 40n + arcs[1]!);
  arcs.slice(2).forEach(arc);
  return tlv(0x06, bytes);
}
const ava = (type: string, tag: number, value: Uint8Array): Buffer => tlv(0x30, Buffer.concat([oid(type), tlv(tag, value)]));
const rdn = (...avas: Buffer[]): Buffer => tlv(0x31, Buffer.concat(avas));
const name = (...rdns: Buffer[]): Buffer => tlv(0x30, Buffer.concat(rdns));
const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');
const cn = (tag: number, value: Uint8Array): Buffer => name(rdn(ava(CN, tag, value)));
const CN = '2.5.4.3';
const UTF8_STRING = 0x0c;

describe('rfc2253NameOf', () => {
  it('keeps a multi-valued RDN in its encoded order', () => {
    const der = name(rdn(ava(CN, UTF8_STRING, utf8('x')), ava('2.5.4.11', UTF8_STRING, utf8('y')), ava('0.9.2342.19200300.100.1.1', UTF8_STRING, utf8('z'))));
    expect(rfc2253NameOf(der)).toBe('CN=x+OU=y+UID=z');
  });

  it('has keywords for CN C L ST O OU STREET DC UID only', () => {
    const der = name(
      rdn(ava('2.5.4.8', UTF8_STRING, utf8('CA'))), rdn(ava('2.5.4.9', UTF8_STRING, utf8('1 Main St'))),
      rdn(ava('0.9.2342.19200300.100.1.25', 0x16, utf8('org'))), rdn(ava('2.5.4.7', UTF8_STRING, utf8('SF'))),
      rdn(ava('2.5.4.12', UTF8_STRING, utf8('Boss'))),
    );
    expect(rfc2253NameOf(der)).toBe('2.5.4.12=#0c04426f7373,L=SF,DC=org,STREET=1 Main St,ST=CA');
  });

  it('writes unknown attribute types as dotted OIDs, arcs of any size', () => {
    expect(rfc2253NameOf(name(rdn(ava('1.2.3.4', UTF8_STRING, utf8('foo')))))).toBe('1.2.3.4=#0c03666f6f');
    expect(rfc2253NameOf(name(rdn(ava('2.25.329800735698586629295641978511506172918', UTF8_STRING, utf8('big'))))))
      .toBe('2.25.329800735698586629295641978511506172918=#0c03626967');
  });

  it('re-encodes a long value\'s length in the hex form', () => {
    expect(rfc2253NameOf(name(rdn(ava('1.2.3.4', UTF8_STRING, utf8('x'.repeat(300))))))).toBe(`1.2.3.4=#0c82012c${'78'.repeat(300)}`);
  });

  it('decodes BMPString as UTF-16 and T61String as Latin-1 (as OpenJDK 25; 17 read both as UTF-8)', () => {
    expect(rfc2253NameOf(cn(0x1e, Buffer.from('日本,a', 'utf16le').swap16()))).toBe('CN=日本\\,a');
    expect(rfc2253NameOf(cn(0x14, Buffer.from([0x61, 0xe9])))).toBe('CN=aé');
    expect(rfc2253NameOf(cn(0x16, utf8('ia5')))).toBe('CN=ia5');
  });

  it('writes a value of a non-string type as hex DER, even under a keyword', () => {
    expect(rfc2253NameOf(cn(0x12, utf8('123')))).toBe('CN=#1203313233'); // NumericString
    expect(rfc2253NameOf(cn(0x1c, Buffer.from([0, 0, 0, 0x61])))).toBe('CN=#1c0400000061'); // UniversalString
    expect(rfc2253NameOf(cn(0x30, tlv(0x02, [1])))).toBe('CN=#3003020101');
  });

  it('escapes = and # anywhere, leading and trailing spaces, and leaves other punctuation', () => {
    expect(rfc2253NameOf(cn(UTF8_STRING, utf8('a#b=c')))).toBe('CN=a\\#b\\=c');
    expect(rfc2253NameOf(cn(UTF8_STRING, utf8('#lead')))).toBe('CN=\\#lead');
    expect(rfc2253NameOf(cn(UTF8_STRING, utf8('   ')))).toBe('CN=\\ \\ \\ ');
    expect(rfc2253NameOf(cn(0x13, utf8("it's (ok) -./:=?")))).toBe("CN=it's (ok) -./:\\=?");
    expect(rfc2253NameOf(cn(UTF8_STRING, utf8('')))).toBe('CN=');
  });

  it('writes control characters as UTF-8 hex pairs (Java: NUL only, the rest raw)', () => {
    expect(rfc2253NameOf(cn(UTF8_STRING, utf8('a\u0000b\nc\td\u007fe\u0085f😀é')))).toBe('CN=a\\00b\\0Ac\\09d\\7Fe\\C2\\85f😀é');
    expect(rfc2253NameOf(cn(UTF8_STRING, utf8('\r lead')))).toBe('CN=\\0D lead');
  });

  it('writes a string that is invalid in its encoding as hex, where Java would lose bytes to U+FFFD', () => {
    expect(rfc2253NameOf(cn(UTF8_STRING, Buffer.from([0x61, 0xff])))).toBe('CN=#0c0261ff');
    expect(rfc2253NameOf(cn(0x1e, Buffer.from([0xd8, 0x00, 0x00, 0x61])))).toBe('CN=#1e04d8000061');
    expect(rfc2253NameOf(cn(0x1e, Buffer.from([0x00, 0x61, 0x00])))).toBe('CN=#1e03006100');
  });

  it('is empty for an empty name', () => {
    expect(rfc2253NameOf(name())).toBe('');
  });

  it('is undefined for malformed DER', () => {
    const good = name(rdn(ava(CN, UTF8_STRING, utf8('alice'))));
    const malformed = [
      Buffer.alloc(0),
      good.subarray(0, good.length - 1), // cut short
      Buffer.concat([good, Buffer.from([0])]), // trailing byte
      tlv(0x31, good.subarray(2)), // a SET where the SEQUENCE goes
      name(tlv(0x30, ava(CN, UTF8_STRING, utf8('a')))), // an RDN that is not a SET
      name(rdn()), // an empty RDN
      name(rdn(tlv(0x30, Buffer.concat([tlv(0x02, [1]), tlv(UTF8_STRING, utf8('a'))])))), // type not an OID
      name(rdn(tlv(0x30, Buffer.concat([oid(CN), tlv(UTF8_STRING, utf8('a')), tlv(0x05, [])])))), // extra member
      name(rdn(tlv(0x30, Buffer.concat([tlv(0x06, [0x55, 0x80, 0x03]), tlv(UTF8_STRING, utf8('a'))])))), // non-minimal OID arc
      name(rdn(tlv(0x30, Buffer.concat([tlv(0x06, [0x55, 0x84]), tlv(UTF8_STRING, utf8('a'))])))), // OID cut mid-arc
      name(rdn(tlv(0x30, Buffer.concat([oid(CN), Buffer.from([0x1f, 0x81, 0x01, 0x00])])))), // multi-byte tag
      Buffer.from([0x30, 0x80, 0x00, 0x00]), // indefinite length
      Buffer.from([0x30, 0x85, 0, 0, 0, 0, 1, 0]), // five length bytes
    ];
    for (const der of malformed) expect(rfc2253NameOf(der), der.toString('hex')).toBeUndefined();
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const answer = rfc2253NameOf(bytes);
      expect(answer === undefined || typeof answer === 'string').toBe(true);
    }));
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), fc.integer({ min: 0, max: 255 }), (bytes, tag) => {
      rfc2253NameOf(cn(tag, bytes)); // any value under a keyword
    }));
  });

  it('gives different names different strings, whatever their values hold', () => {
    const types = fc.constantFrom(CN, '2.5.4.11', '1.2.3.4');
    const text = fc.string({ unit: fc.constantFrom(',', '+', '=', '\\', '#', ' ', '"', '<', '>', ';', 'C', 'N', 'O', 'U', '0', 'D', '\n', '\u0000', 'é', '\r'), maxLength: 6 });
    const names = fc.array(fc.array(fc.tuple(types, text), { minLength: 1, maxLength: 2 }), { maxLength: 3 });
    const der = (n: [string, string][][]): Buffer => name(...n.map((r) => rdn(...r.map(([type, value]) => ava(type, UTF8_STRING, utf8(value))))));
    fc.assert(fc.property(names, names, (a, b) => {
      fc.pre(JSON.stringify(a) !== JSON.stringify(b));
      expect(rfc2253NameOf(der(a))).not.toBe(rfc2253NameOf(der(b)));
    }), { numRuns: 2000 });
  });
});
