/**
 * A client certificate's identity as ZooKeeper's X509AuthenticationProvider names it:
 * `x509:` + the subject's X500Principal.getName(), Java's RFC 2253 form
 * (`CN=alice,OU=eng,O=Example,C=US`), so ACLs written for ZooKeeper work here unchanged.
 *
 * The subject is read from the certificate's DER, not from Node's `X509Certificate.subject`:
 * that string is OpenSSL's (encoding order, one RDN per line, a multi-valued RDN joined by " + ",
 * OpenSSL's own escapes and names such as `emailAddress`), and parsing it back would be guessing.
 * Formatting follows OpenJDK's AVA.toRFC2253String:
 * - RDNs last to first, joined by `,`; a multi-valued RDN's AVAs in encoding order, joined by `+`;
 * - keywords only for CN C L ST O OU STREET DC UID; any other attribute is its dotted OID with
 *   `#` + the lowercase hex of the value's DER (so is a value of a non-string type);
 * - string values decoded as Java does (UTF8String as UTF-8, BMPString as UTF-16BE, Printable,
 *   T61, IA5 and GeneralString as ISO-8859-1), then `,` `=` `+` `<` `>` `#` `;` `"` `\` escaped
 *   with a backslash wherever they are, and leading and trailing spaces too.
 *
 * Where Java's form can confuse two names, this one does not; both differ from Java only on
 * certificates no real CA issues:
 * - control characters (U+0000–U+001F, U+007F–U+009F) are written as `\XX` hex pairs of their
 *   UTF-8 (RFC 2253 allows it; Java does so only for NUL, `\00`, and writes the rest raw);
 * - a string value that is not valid in its encoding (bad UTF-8, odd-length or unpaired UTF-16)
 *   is written as `#hex`, as a value of unknown type is; Java would put U+FFFD in its place,
 *   so two different values could read the same.
 * Pure; an unreadable or empty subject is undefined, never an exception.
 */
import type { X509Certificate } from 'node:crypto';

/** `x509:<subject DN>`, or undefined when the subject is empty or cannot be read. */
export function x509IdentityOf(cert: X509Certificate): string | undefined {
  const subject = subjectOf(cert.raw);
  const dn = subject === undefined ? undefined : rfc2253NameOf(subject);
  return dn === undefined || dn === '' ? undefined : `x509:${dn}`;
}

/** A DER-encoded X.501 Name in Java's X500Principal.getName() form, or undefined if malformed. */
export function rfc2253NameOf(name: Uint8Array): string | undefined {
  const outer = readTlv(name, 0, name.length);
  if (outer === undefined || outer.tag !== SEQUENCE || outer.end !== name.length) return undefined;
  const rdns: string[] = [];
  for (let at = outer.contentStart; at < outer.end;) {
    const rdn = readTlv(name, at, outer.end);
    if (rdn === undefined || rdn.tag !== SET) return undefined;
    const avas: string[] = [];
    for (let a = rdn.contentStart; a < rdn.end;) {
      const ava = readTlv(name, a, rdn.end);
      const text = ava === undefined || ava.tag !== SEQUENCE ? undefined : avaOf(name, ava);
      if (ava === undefined || text === undefined) return undefined;
      avas.push(text);
      a = ava.end;
    }
    if (avas.length === 0) return undefined;
    rdns.push(avas.join('+'));
    at = rdn.end;
  }
  return rdns.reverse().join(',');
}

const SEQUENCE = 0x30;
const SET = 0x31;
const OID = 0x06;

/** Java's AVAKeyword entries that are RFC 2253 compliant; every other type is written as its OID. */
const KEYWORDS = new Map<string, string>([
  ['2.5.4.3', 'CN'], ['2.5.4.6', 'C'], ['2.5.4.7', 'L'], ['2.5.4.8', 'ST'], ['2.5.4.10', 'O'],
  ['2.5.4.11', 'OU'], ['2.5.4.9', 'STREET'], ['0.9.2342.19200300.100.1.25', 'DC'],
  ['0.9.2342.19200300.100.1.1', 'UID'],
]);

/** String types Java writes as text (AVA.isDerString), and how it decodes each (AVA.getCharset). */
const STRING_TYPES = new Map<number, 'utf8' | 'latin1' | 'utf16be'>([
  [0x0c, 'utf8'], // UTF8String
  [0x13, 'latin1'], // PrintableString
  [0x14, 'latin1'], // T61String
  [0x16, 'latin1'], // IA5String
  [0x1b, 'latin1'], // GeneralString
  [0x1e, 'utf16be'], // BMPString
]);

/** Characters Java escapes with a backslash anywhere in a value. */
const ESCAPED = new Set([...',=+<>#;"\\'].map((c) => c.charCodeAt(0)));
const UTF8 = new TextDecoder('utf-8', { fatal: true });

interface Tlv {
  readonly tag: number;
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
}

/** One DER element at `at`, inside `limit`; undefined for multi-byte tags, indefinite or overlong lengths. */
function readTlv(der: Uint8Array, at: number, limit: number): Tlv | undefined {
  if (at + 2 > limit) return undefined;
  const tag = der[at]!;
  if ((tag & 0x1f) === 0x1f) return undefined;
  let length = der[at + 1]!;
  let contentStart = at + 2;
  if (length >= 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || contentStart + bytes > limit) return undefined;
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[contentStart + i]!;
    contentStart += bytes;
  }
  const end = contentStart + length;
  return end > limit ? undefined : { tag, start: at, contentStart, end };
}

/** The subject Name's DER: tbsCertificate's sixth field, or fifth without the explicit version. */
function subjectOf(cert: Uint8Array): Uint8Array | undefined {
  const outer = readTlv(cert, 0, cert.length);
  const tbs = outer?.tag === SEQUENCE ? readTlv(cert, outer.contentStart, outer.end) : undefined;
  if (tbs?.tag !== SEQUENCE) return undefined;
  let field = readTlv(cert, tbs.contentStart, tbs.end);
  if (field?.tag === 0xa0) field = readTlv(cert, field.end, tbs.end); // [0] version
  // serialNumber, signature, issuer, validity, then subject.
  for (let skip = 0; skip < 4 && field !== undefined; skip++) field = readTlv(cert, field.end, tbs.end);
  return field?.tag === SEQUENCE ? cert.subarray(field.start, field.end) : undefined;
}

/** `KEYWORD=value` or `dotted.oid=#hex` for one AttributeTypeAndValue. */
function avaOf(der: Uint8Array, ava: Tlv): string | undefined {
  const type = readTlv(der, ava.contentStart, ava.end);
  if (type === undefined || type.tag !== OID) return undefined;
  const value = readTlv(der, type.end, ava.end);
  if (value === undefined || value.end !== ava.end) return undefined;
  const oid = oidOf(der.subarray(type.contentStart, type.end));
  if (oid === undefined) return undefined;
  const keyword = KEYWORDS.get(oid);
  const text = keyword === undefined ? undefined : decoded(der.subarray(value.contentStart, value.end), value.tag);
  return text === undefined ? `${keyword ?? oid}=#${hexOf(der, value)}` : `${keyword}=${escaped(text)}`;
}

/** Dotted form of an OBJECT IDENTIFIER's content; undefined if not minimally encoded or cut short. */
function oidOf(content: Uint8Array): string | undefined {
  if (content.length === 0) return undefined;
  const arcs: bigint[] = [];
  let arc = 0n;
  let fresh = true;
  for (const byte of content) {
    if (fresh && byte === 0x80) return undefined;
    arc = (arc << 7n) | BigInt(byte & 0x7f);
    fresh = (byte & 0x80) === 0;
    if (fresh) {
      arcs.push(arc);
      arc = 0n;
    }
  }
  if (!fresh) return undefined;
  const first = arcs[0]!;
  const [top, second] = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [top, second, ...arcs.slice(1)].join('.');
}

/** A string value's text as Java decodes it; undefined for other types and for invalid encodings. */
function decoded(content: Uint8Array, tag: number): string | undefined {
  switch (STRING_TYPES.get(tag)) {
    case 'latin1':
      return Buffer.from(content).toString('latin1');
    case 'utf8':
      try {
        return UTF8.decode(content);
      } catch {
        return undefined;
      }
    case 'utf16be': {
      if (content.length % 2 !== 0) return undefined;
      const units: number[] = [];
      for (let i = 0; i < content.length; i += 2) units.push((content[i]! << 8) | content[i + 1]!);
      for (let i = 0; i < units.length; i++) {
        const u = units[i]!;
        if (u < 0xd800 || u > 0xdfff) continue;
        const next = units[i + 1];
        if (u > 0xdbff || next === undefined || next < 0xdc00 || next > 0xdfff) return undefined; // unpaired surrogate
        i++;
      }
      return Buffer.from(content).swap16().toString('utf16le');
    }
    default:
      return undefined;
  }
}

/** Java's escaping (see the header), control characters as hex pairs. */
function escaped(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (ESCAPED.has(c)) out += `\\${text[i]}`;
    else if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
      for (const byte of Buffer.from(text[i]!, 'utf8')) out += `\\${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    } else out += text[i];
  }
  let lead = 0;
  while (lead < out.length && out[lead] === ' ') lead++;
  let trail = out.length;
  while (trail > lead && out[trail - 1] === ' ') trail--;
  return '\\ '.repeat(lead) + out.slice(lead, trail) + '\\ '.repeat(out.length - trail);
}

/** The value's DER, length re-encoded minimally as Java's DerValue.toByteArray does, in lowercase hex. */
function hexOf(der: Uint8Array, value: Tlv): string {
  const length = value.end - value.contentStart;
  const lengthBytes: number[] = [];
  if (length < 0x80) lengthBytes.push(length);
  else {
    for (let n = length; n > 0; n = Math.floor(n / 256)) lengthBytes.unshift(n % 256);
    lengthBytes.unshift(0x80 | lengthBytes.length);
  }
  return Buffer.concat([Uint8Array.of(value.tag, ...lengthBytes), der.subarray(value.contentStart, value.end)]).toString('hex');
}
