/**
 * Parses the head of an HTTP/1.1 request — the plain kind the direct path answers — from the
 * bytes a connection has received. It is deliberately narrow: anything it does not fully
 * understand (HTTP/1.0, chunked or `Expect` bodies, upgrades, repeated or malformed headers,
 * heads over 16 KiB) is `unsupported`, and the connection goes to node:http, whose parser
 * answers or rejects it as it always has. So this parser never has to produce an error itself.
 */
import { maxHeaderSize } from 'node:http';

export interface RequestHead {
  readonly method: string;
  /** The request target as sent (origin form: starts with `/`). */
  readonly target: string;
  /** A header's value by lower-case name (the calls read only those in READ_HEADERS). */
  header(name: string): string | undefined;
  /** Bytes of the head, the blank line that ends it included. */
  readonly headLength: number;
  readonly bodyLength: number;
  /** False when the client sent `Connection: close`. */
  readonly keepAlive: boolean;
  /** How many header lines the head has. */
  readonly headerLines: number;
}

export type HeadParse = RequestHead | 'incomplete' | 'unsupported';

/** node:http's header limit (--max-http-header-size): a longer head is its to refuse (431). */
export const MAX_HEAD_BYTES = maxHeaderSize;

/**
 * The headers this path reads, itself or in a call: each may appear once (node:http would join
 * or refuse repeats; those requests go to it). Others are checked for syntax only.
 */
const READ_HEADERS: readonly string[] = [
  'host', 'content-length', 'connection', 'accept', 'if-match', 'zk-request-id',
  'origin', 'zk-min-zxid', 'zk-session-id', 'zk-session-token',
  // Every request's authenticate step reads it, and every create its ACL: a slot each, so no
  // request lower-cases its whole head to look for them.
  'authorization', 'zk-acl',
];

const END_OF_HEAD = Buffer.from('\r\n\r\n');
/** Headers that ask for what only node:http does: other framings, interim answers, protocol switches. */
const HANDED_ON: readonly string[] = [
  'transfer-encoding', 'expect', 'upgrade', 'te', 'trailer',
  // llhttp reads it as Connection (a `close` in it ends the connection).
  'proxy-connection',
];
const ALL_NAMED = [...HANDED_ON, ...READ_HEADERS];
/** Each named header's slot in a head's `starts`. */
const SLOT = new Map(ALL_NAMED.map((name, i) => [name, i]));
const HANDED_ON_SLOTS = HANDED_ON.length;
const HOST = SLOT.get('host')!;
const CONTENT_LENGTH = SLOT.get('content-length')!;
const CONNECTION = SLOT.get('connection')!;
/** A Content-Length as sent, after the colon: spaces, then digits to the end of the line (anything else is node:http's). */
const DECIMAL = /^ *\d{1,15}$/;
const HTTP_1_1 = ' HTTP/1.1';
/** The methods of the direct routes: every one is a method llhttp knows and frames plainly (not CONNECT). */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE']);
const MAX_METHOD = 6;

/** A header name's characters: RFC 9110's tchar. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;

/** A header value's characters: visible ASCII, space, tab and obs-text (RFC 9110 §5.5); no other control. */
function isValueChar(c: number): boolean {
  return c >= 0x20 ? c !== 0x7f : c === 0x09;
}

function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value.charCodeAt(start) === 32 || value.charCodeAt(start) === 9)) start++;
  while (end > start && (value.charCodeAt(end - 1) === 32 || value.charCodeAt(end - 1) === 9)) end--;
  return value.slice(start, end);
}

/** Headers node:http keeps the first of when repeated (it joins the others' values, `cookie` with `; `). */
const FIRST_ONLY = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since',
  'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer', 'retry-after',
  'server', 'user-agent',
]);

class PlainHead implements RequestHead {
  private lower: string | undefined;

  constructor(
    readonly method: string, readonly target: string, private readonly text: string,
    /** Where each named header's value starts in `text`, by its slot (-1: absent). */
    private readonly starts: readonly number[],
    readonly headLength: number, readonly bodyLength: number, readonly keepAlive: boolean,
    readonly headerLines: number,
  ) {}

  header(name: string): string | undefined {
    const slot = SLOT.get(name);
    if (slot !== undefined) {
      const start = this.starts[slot]!;
      return start === -1 ? undefined : valueAt(this.text, start);
    }
    // A header no call reads in the usual course: looked for in the whole head, once asked, and
    // repeats kept or joined as node:http's IncomingMessage does.
    this.lower ??= this.text.toLowerCase();
    const key = `\r\n${name}:`;
    let at = this.lower.indexOf(key);
    if (at === -1) return undefined;
    let value = valueAt(this.text, at + key.length);
    if (FIRST_ONLY.has(name)) return value;
    const separator = name === 'cookie' ? '; ' : ', ';
    while ((at = this.lower.indexOf(key, at + key.length)) !== -1) value += separator + valueAt(this.text, at + key.length);
    return value;
  }
}

function rawValueAt(text: string, start: number): string {
  const end = text.indexOf('\r\n', start);
  return text.slice(start, end === -1 ? text.length : end);
}

function valueAt(text: string, start: number): string {
  return trimOws(rawValueAt(text, start));
}

/**
 * The head at the start of `bytes`, if it is all there and plain: an HTTP/1.1 request line with
 * an origin-form target of visible ASCII, then header lines of a token, a colon and a value.
 * One pass over the characters (two regular expressions and a lower-cased copy of every head
 * cost more in profiles).
 */
export function parseRequestHead(bytes: Buffer): HeadParse {
  const end = bytes.indexOf(END_OF_HEAD);
  if (end === -1) return bytes.length > MAX_HEAD_BYTES ? 'unsupported' : 'incomplete';
  if (end > MAX_HEAD_BYTES) return 'unsupported';
  const text = bytes.toString('latin1', 0, end);
  let i = 0;
  for (let c = text.charCodeAt(0); i < MAX_METHOD && c >= 65 && c <= 90; c = text.charCodeAt(++i));
  if (i === 0 || text.charCodeAt(i) !== 32 || text.charCodeAt(i + 1) !== 47) return 'unsupported';
  const method = text.slice(0, i);
  if (!METHODS.has(method)) return 'unsupported';
  const targetStart = ++i;
  for (let c = text.charCodeAt(i); c >= 0x21 && c <= 0x7e; c = text.charCodeAt(++i));
  const target = text.slice(targetStart, i);
  if (!text.startsWith(HTTP_1_1, i)) return 'unsupported';
  i += HTTP_1_1.length;
  const starts: number[] = ALL_NAMED.map(() => -1);
  let lines = 0;
  while (i < end) {
    lines++;
    if (text.charCodeAt(i) !== 13 || text.charCodeAt(i + 1) !== 10) return 'unsupported';
    i += 2;
    const nameStart = i;
    for (let c = text.charCodeAt(i); c < 128 && TCHAR[c] === 1; c = text.charCodeAt(++i));
    if (i === nameStart || text.charCodeAt(i) !== 58) return 'unsupported';
    const slot = SLOT.get(text.slice(nameStart, i).toLowerCase());
    i++;
    if (slot !== undefined) {
      if (slot < HANDED_ON_SLOTS || starts[slot] !== -1) return 'unsupported';
      starts[slot] = i;
    }
    for (let c = text.charCodeAt(i); i < end && c !== 13; c = text.charCodeAt(++i)) {
      if (!isValueChar(c)) return 'unsupported';
    }
  }
  if (starts[HOST] === -1) return 'unsupported';
  const lengthAt = starts[CONTENT_LENGTH]!;
  const length = lengthAt === -1 ? undefined : rawValueAt(text, lengthAt);
  if (length !== undefined && !DECIMAL.test(length)) return 'unsupported';
  const connectionAt = starts[CONNECTION]!;
  const connection = connectionAt === -1 ? undefined : valueAt(text, connectionAt).toLowerCase();
  if (connection !== undefined && connection !== 'keep-alive' && connection !== 'close') return 'unsupported';
  return new PlainHead(method, target, text, starts, end + END_OF_HEAD.length,
    length === undefined ? 0 : Number(length), connection !== 'close', lines);
}
