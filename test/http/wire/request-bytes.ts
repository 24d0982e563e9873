/**
 * Seeded byte sequences of HTTP/1.1 requests for the framing differential: valid requests,
 * pipelined ones, and requests mutated where framing parsers are known to disagree — whitespace,
 * tabs, bare CR or LF and obs-fold in header lines and in Content-Length / Transfer-Encoding
 * values, repeated Content-Length, Content-Length with chunked, chunked bodies with bad sizes,
 * odd methods, targets and versions, NUL and high bytes, a missing Host.
 */
import fc from 'fast-check';

/** Mostly what the wire path takes (so its framing is what gets compared), sometimes the odd one. */
const mostly = <T>(usual: fc.Arbitrary<T>, odd: fc.Arbitrary<T>) => fc.oneof({ arbitrary: usual, weight: 10 }, { arbitrary: odd, weight: 1 });

const METHOD = mostly(
  fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'HEAD'),
  fc.constantFrom('OPTIONS', 'PATCH', 'CONNECT', 'get', 'FOO', 'PUTT', 'G\u00c9T', 'DELETE ', ''),
);
const TARGET = mostly(
  fc.constantFrom('/v1/znodes/a', '/v1/znodes/a?version=1', '/v1/znodes/', '/v1/children/a', '/v1/stat/a?x=%20'),
  fc.oneof(
    fc.constantFrom('/', '*', 'http://x/v1/znodes/a', '/v1/znodes/a#f', '/%2e%2e/a', '/a/../b', '', 'v1/znodes/a'),
    fc.tuple(fc.constant('/v1/znodes/'), fc.array(fc.constantFrom('a', '%', '"', '<', '>', '\\', '^', '`', '{', '|', '}', '~', '#', '?', '=', '\u00e9', '\u007f', '\u0000', '\t', '[', ']', '@', '!'), { minLength: 1, maxLength: 4 }))
      .map(([prefix, chars]) => prefix + chars.join('')),
  ),
);
const VERSION = mostly(fc.constant('HTTP/1.1'), fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'http/1.1', 'HTTP/1.10', 'HTTP/1.1 ', 'HTTP/ 1.1', 'HTTP/1.1\t', 'HTTP/0.9'));

/** A Content-Length value for a body of `n` bytes, as sent or mangled. */
const lengthValue = (n: number) => mostly(fc.constant(`${n}`), fc.constantFrom(
  ` ${n}`, `  ${n}`, `${n} `, `${n}\t`, `\t${n}`, `0${n}`, `+${n}`, `${n},${n}`, `${n}, ${n}`,
  `-${n}`, '', `0x${n}`, `${n}x`, ` ${n} `, `${n}\u0000`, `${n + 1}`, `${Math.max(0, n - 1)}`, `${n}.0`, '99999999999999999999', `${n}\u000b`,
));
const TRANSFER_ENCODING = fc.constantFrom('chunked', 'chunked', 'Chunked', ' chunked', 'chunked ', 'chunked\t', 'gzip, chunked', 'chunked, gzip', 'identity', 'xchunked', 'chunked\u000b');
const CHUNK_SIZE = (n: number) => fc.constantFrom(n.toString(16), n.toString(16), n.toString(16).toUpperCase(), `0${n.toString(16)}`, `${n.toString(16)};ext=1`, ` ${n.toString(16)}`, `${n.toString(16)} `, `-${n}`, 'g', '');

const NAME = mostly(
  fc.constantFrom('Accept', 'Zk-Acl', 'Authorization', 'If-Match', 'X-Custom', 'Content-Type', 'Cookie', 'Zk-Request-Id', 'User-Agent'),
  fc.constantFrom('Connection', 'Expect', 'Upgrade', 'Te', 'Trailer', 'Origin', 'Zk-Session-Id', 'Set-Cookie', 'X Y', 'X\u00e9', '', 'X:Y', 'Host', 'Proxy-Connection', 'Keep-Alive', 'Transfer-Encoding'),
);
const VALUE = mostly(
  fc.oneof(fc.constantFrom('a', '*/*', '"1"', 'close', 'keep-alive'), fc.stringMatching(/^[!-~]([ -~]{0,10}[!-~])?$/)),
  fc.constantFrom('Keep-Alive', 'close, keep-alive', 'upgrade', '100-continue', 'x\u00e9y', 'a\u0000b', 'a\u007fb', ' padded ', '\ttabbed\t', '', 'a\rb', 'a\nb', 'a\u000bb', 'chunked'),
);

const BODY = fc.stringMatching(/^[a-z0-9]{0,12}$/);
interface Shape {
  readonly method: string;
  readonly target: string;
  readonly version: string;
  readonly host: string | null;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
}

/** The body and the headers that frame it: none, Content-Length (plain or mangled, maybe twice), chunked, or both. */
const FRAMED_BODY = BODY.chain((body) => fc.oneof(
  { weight: 2, arbitrary: fc.constant({ headers: [] as [string, string][], bytes: '' }) },
  { weight: 5, arbitrary: lengthValue(body.length).map((value) => ({ headers: [['Content-Length', value]] as [string, string][], bytes: body })) },
  { weight: 1, arbitrary: fc.tuple(lengthValue(body.length), lengthValue(body.length)).map(([a, b]) => ({ headers: [['Content-Length', a], ['content-length', b]] as [string, string][], bytes: body })) },
  { weight: 1, arbitrary: fc.tuple(TRANSFER_ENCODING, CHUNK_SIZE(body.length), fc.boolean()).map(([te, size, withLength]) => ({
    headers: [['Transfer-Encoding', te], ...(withLength ? [['Content-Length', `${body.length}`]] : [])] as [string, string][],
    bytes: `${body.length > 0 ? `${size}\r\n${body}\r\n` : ''}0\r\n\r\n`,
  })) },
));

const SHAPE: fc.Arbitrary<Shape> = fc.record({
  method: METHOD,
  target: TARGET,
  version: VERSION,
  host: mostly(fc.constantFrom('127.0.0.1', 'x'), fc.constantFrom(null, '', 'a b', 'x\u00e9')),
  headers: fc.array(fc.tuple(NAME, VALUE), { maxLength: 3 }),
  framed: FRAMED_BODY,
}).map(({ framed, ...shape }) => ({ ...shape, headers: [...shape.headers, ...framed.headers], body: framed.bytes }));

function serialize(shape: Shape, order: number): string {
  const lines = [`${shape.method} ${shape.target} ${shape.version}`];
  const headers = shape.host === null ? [...shape.headers] : [['Host', shape.host] as const, ...shape.headers];
  // The framing headers go anywhere among the others.
  const rotated = headers.length === 0 ? headers : [...headers.slice(order % headers.length), ...headers.slice(0, order % headers.length)];
  for (const [name, value] of rotated) lines.push(`${name}:${value.startsWith('\t') || value === '' ? '' : ' '}${value}`);
  return `${lines.join('\r\n')}\r\n\r\n${shape.body}`;
}

/** A mutation at a position: the bytes that break framing parsers most often. */
const MUTATION = fc.tuple(
  fc.nat(),
  fc.constantFrom('insert', 'delete', 'replace-crlf', 'fold'),
  fc.constantFrom(' ', '\t', '\r', '\n', '\r\n', '\u0000', '\u007f', '\u00ff', ':', '\r\n ', '\r\n\t', '\u000b', '\u000c'),
);

function mutate(text: string, [at, kind, bytes]: [number, string, string]): string {
  const i = at % (text.length + 1);
  switch (kind) {
    case 'insert':
      return text.slice(0, i) + bytes + text.slice(i);
    case 'delete':
      return text.slice(0, i) + text.slice(i + 1);
    case 'replace-crlf': {
      // A line end becomes a bare LF or CR (or another odd ending).
      const crlf = text.indexOf('\r\n', i);
      return crlf === -1 ? text : text.slice(0, crlf) + (bytes === '\r\n' ? '\n' : bytes) + text.slice(crlf + 2);
    }
    default: {
      // obs-fold: a header line continued on the next line with leading whitespace.
      const crlf = text.indexOf('\r\n', i);
      return crlf === -1 ? text : `${text.slice(0, crlf)}\r\n${bytes === '\t' ? '\t' : ' '}x${text.slice(crlf)}`;
    }
  }
}

/** One to three requests, each valid or mutated (mostly valid: a mutation early in a pipeline hides the rest). */
/** As latin1 text (one character a byte), so a counterexample prints readably. */
export const arbitraryRequestText: fc.Arbitrary<string> = fc.array(
  fc.tuple(SHAPE, fc.nat(8), fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: MUTATION })),
  { minLength: 1, maxLength: 3 },
).map((requests) => requests.map(([shape, order, mutation]) => {
  const text = serialize(shape, order);
  return mutation === null ? text : mutate(text, mutation);
}).join(''));
