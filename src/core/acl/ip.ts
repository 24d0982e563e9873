/**
 * The `ip` ACL scheme as ZooKeeper's IPAuthenticationProvider has it: an entry's id is an address
 * or `address/bits`, and matches a caller whose address agrees on the first `bits` bits (all of
 * them without `/bits`). IPv4 and IPv6 never match each other.
 *
 * IPv6: ZooKeeper 3.8 and 3.9.0–3.9.3 are IPv4-only (addr2Bytes has `// TODO Write the
 * v6addr2Bytes`); 3.9.4 added IPv6 (ZOOKEEPER-4240), which this follows: eight hex groups of 1–4
 * digits with at most one `::`, no embedded dotted quad, no zone (`%eth0`), `/0`–`/128`.
 *
 * Differences from ZooKeeper, all on odd spellings only: Java's Integer.parseInt also takes a
 * sign (`+1.2.3.4`, `10.0.0.0/+8`) and non-ASCII digits; here numbers are ASCII digits only
 * (leading zeros are still decimal, as in Java). A caller's IPv4-mapped address
 * (`::ffff:127.0.0.1`, as Node reports IPv4 peers on a dual-stack socket) is its IPv4 address,
 * as Java's InetAddress makes it before ZooKeeper sees it.
 *
 * Pure. Parsed ids and addresses are kept in a bounded Map: permits() calls this per entry per
 * request, and the same few strings come back every time.
 */

/** An address as 32-bit words (one for IPv4, four for IPv6) and the prefix length that counts. */
interface Parsed {
  readonly words: Uint32Array;
  /** The `/bits` given, or the address's full length. */
  readonly bits: number;
  readonly hasPrefix: boolean;
}

const CACHED_MAX = 4096;
const cache = new Map<string, Parsed | null>();

function parsedOf(text: string): Parsed | null {
  let parsed = cache.get(text);
  if (parsed === undefined) {
    parsed = parse(text);
    if (cache.size >= CACHED_MAX) cache.clear();
    cache.set(text, parsed);
  }
  return parsed;
}

/** Whether `id` is a valid `ip` ACL id: an IPv4 or IPv6 address, optionally with `/bits`. */
export function isValidIpAclId(id: string): boolean {
  return parsedOf(id) !== null;
}

/** Whether a caller at `address` matches the `ip` ACL id `aclId`; anything invalid never matches. */
export function ipMatches(aclId: string, address: string): boolean {
  const acl = parsedOf(aclId);
  if (acl === null) return false;
  const peer = parsedOf(address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address);
  if (peer === null || peer.hasPrefix || peer.words.length !== acl.words.length) return false;
  let bits = acl.bits;
  for (let i = 0; i < acl.words.length && bits > 0; i++, bits -= 32) {
    // `>>> 0` keeps the comparison unsigned; a shift by 32 is a shift by 0 in JavaScript, hence the branch.
    const mask = bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
    if (((acl.words[i]! & mask) >>> 0) !== ((peer.words[i]! & mask) >>> 0)) return false;
  }
  return true;
}

function parse(text: string): Parsed | null {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  // ZooKeeper's addr2Bytes: a colon means IPv6, else a dot means IPv4, else nothing.
  const words = address.includes(':') ? parseV6(address) : address.includes('.') ? parseV4(address) : null;
  if (words === null) return null;
  const width = words.length * 32;
  if (slash < 0) return { words, bits: width, hasPrefix: false };
  const bits = decimal(text.slice(slash + 1), width);
  return bits === null ? null : { words, bits, hasPrefix: true };
}

/** Four decimal octets 0–255, as v4addr2Bytes. */
function parseV4(address: string): Uint32Array | null {
  const parts = address.split('.');
  if (parts.length !== 4) return null;
  let word = 0;
  for (const part of parts) {
    const octet = decimal(part, 255);
    if (octet === null) return null;
    word = word * 256 + octet;
  }
  return Uint32Array.of(word);
}

/** ZooKeeper 3.9.4's parseV6addr: groups of 1–4 hex digits, eight of them or fewer around one `::`. */
function parseV6(address: string): Uint32Array | null {
  const halves = address.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length === 1 || halves[1] === '' ? [] : halves[1]!.split(':');
  if (halves.length === 1 ? head.length !== 8 : head.length + tail.length >= 8) return null;
  const groups = new Array<number>(8).fill(0);
  for (let i = 0; i < head.length; i++) {
    const g = hexGroup(head[i]!);
    if (g === null) return null;
    groups[i] = g;
  }
  for (let i = 0; i < tail.length; i++) {
    const g = hexGroup(tail[i]!);
    if (g === null) return null;
    groups[8 - tail.length + i] = g;
  }
  const words = new Uint32Array(4);
  for (let i = 0; i < 4; i++) words[i] = groups[2 * i]! * 0x10000 + groups[2 * i + 1]!;
  return words;
}

/** ASCII digits (leading zeros allowed, as Java's parseInt) as a number at most `max`, else null. */
function decimal(text: string, max: number): number | null {
  if (text.length === 0) return null;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return null;
    n = n * 10 + d;
    if (n > max) return null;
  }
  return n;
}

function hexGroup(text: string): number | null {
  if (text.length === 0 || text.length > 4) return null;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (d < 0) return null;
    n = n * 16 + d;
  }
  return n;
}
