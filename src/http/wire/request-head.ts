/**
 * Parses the head of an HTTP/1.1 request — the plain kind the direct path answers — from the
 * bytes a connection has received. It is deliberately narrow: anything it does not fully
 * understand (HTTP/1.0, chunked or `Expect` bodies, upgrades, repeated or malformed headers,
 * heads over 16 KiB) is `unsupported`, and the connection goes to node:http, whose parser
 * answers or rejects it as it always has. So this parser never has to produce an error itself.
 */

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
}

export type HeadParse = RequestHead | 'incomplete' | 'unsupported';

/** node:http's default --max-http-header-size. */
export const MAX_HEAD_BYTES = 16 * 1024;

/**
 * The headers this path reads, itself or in a call: each may appear once (node:http would join
 * or refuse repeats; those requests go to it). Others are checked for syntax only.
 */
const READ_HEADERS: readonly string[] = [
  'host', 'content-length', 'connection', 'accept', 'if-match', 'zk-request-id',
  'origin', 'zk-min-zxid', 'zk-session-id', 'zk-session-token', 'zk-forwarded-by',
];

const END_OF_HEAD = Buffer.from('\r\n\r\n');
/**
 * A whole plain head: an HTTP/1.1 request line with an origin-form target of visible ASCII,
 * then header lines of a token, a colon and a value without control characters other than tab
 * (RFC 9110 §5.5; obsolete line folding is not plain).
 */
const PLAIN_HEAD = /^([A-Z]{1,16}) (\/[\x21-\x7e]*) HTTP\/1\.1(?:\r\n[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*)*$/;
const DECIMAL = /^\d{1,15}$/;
/** Headers that ask for what only node:http does: other framings, interim answers, protocol switches. */
const HANDED_ON: readonly string[] = ['transfer-encoding', 'expect', 'upgrade', 'te', 'trailer'];

function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value.charCodeAt(start) === 32 || value.charCodeAt(start) === 9)) start++;
  while (end > start && (value.charCodeAt(end - 1) === 32 || value.charCodeAt(end - 1) === 9)) end--;
  return value.slice(start, end);
}

const ALL_NAMED = [...HANDED_ON, ...READ_HEADERS];
/** One pass over a lower-cased head finds every line of a header this path cares about. */
const NAMED_LINE = new RegExp(`\\r\\n(${ALL_NAMED.join('|')}):`, 'g');

class PlainHead implements RequestHead {
  constructor(
    readonly method: string, readonly target: string, private readonly text: string, private readonly lower: string,
    /** Where each named header's value starts in `text`. */
    private readonly starts: ReadonlyMap<string, number>,
    readonly headLength: number, readonly bodyLength: number, readonly keepAlive: boolean,
  ) {}

  header(name: string): string | undefined {
    let start = this.starts.get(name);
    if (start === undefined) {
      if (ALL_NAMED.includes(name)) return undefined;
      const at = this.lower.indexOf(`\r\n${name}:`);
      if (at === -1) return undefined;
      start = at + name.length + 3;
    }
    return valueAt(this.text, start);
  }
}

function valueAt(text: string, start: number): string {
  const end = text.indexOf('\r\n', start);
  return trimOws(text.slice(start, end === -1 ? text.length : end));
}

/** The head at the start of `bytes`, if it is all there and plain. */
export function parseRequestHead(bytes: Buffer): HeadParse {
  const end = bytes.indexOf(END_OF_HEAD);
  if (end === -1) return bytes.length > MAX_HEAD_BYTES ? 'unsupported' : 'incomplete';
  if (end > MAX_HEAD_BYTES) return 'unsupported';
  const text = bytes.toString('latin1', 0, end);
  const first = PLAIN_HEAD.exec(text);
  if (!first) return 'unsupported';
  const lower = text.toLowerCase();
  const starts = new Map<string, number>();
  NAMED_LINE.lastIndex = 0;
  for (let match = NAMED_LINE.exec(lower); match !== null; match = NAMED_LINE.exec(lower)) {
    const name = match[1]!;
    if (starts.has(name) || HANDED_ON.includes(name)) return 'unsupported';
    starts.set(name, match.index + name.length + 3);
  }
  if (!starts.has('host')) return 'unsupported';
  const lengthAt = starts.get('content-length');
  const length = lengthAt === undefined ? undefined : valueAt(text, lengthAt);
  if (length !== undefined && !DECIMAL.test(length)) return 'unsupported';
  const connectionAt = starts.get('connection');
  const connection = connectionAt === undefined ? undefined : valueAt(lower, connectionAt);
  if (connection !== undefined && connection !== 'keep-alive' && connection !== 'close') return 'unsupported';
  return new PlainHead(first[1]!, first[2]!, text, lower, starts, end + END_OF_HEAD.length,
    length === undefined ? 0 : Number(length), connection !== 'close');
}
