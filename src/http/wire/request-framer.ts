/**
 * Where the next request starts and ends in a connection's bytes, as the wire path frames it.
 * The one rule: a request is framed here only when llhttp (node:http's parser) would frame it
 * the same way — same request line, same headers, same body — and everything else is left to
 * node:http from its first byte ('hand-off'), which then answers or refuses it as it always
 * does. test/http/wire/framing-differential.test.ts checks the rule against llhttp itself.
 */
import { maxHeaderSize } from 'node:http';
import type { ByteQueue } from './byte-queue.ts';
import { parseRequestHead, type RequestHead } from './request-head.ts';

export type Framed = RequestHead | 'incomplete' | 'hand-off';

const A = 65;
const Z = 90;

/**
 * Whether a head still arriving can no longer be one framed here: it does not begin with a
 * method's letter (a TLS ClientHello on the plain port) or it has a bare LF. llhttp refuses
 * those at once, so node:http takes them now rather than at the head timeout: `curl https://`
 * to a plain node fails at once with "wrong version number".
 */
function cannotBeFramed(queue: ByteQueue): boolean {
  const first = queue.firstRequestByte();
  return (first !== undefined && (first < A || first > Z)) || queue.bareLineFeed;
}

/**
 * The head at the front of `queue` (left there: the caller takes it, or hands the connection
 * on with every byte), 'incomplete' until its end arrives, or 'hand-off'.
 */
export function frameHead(queue: ByteQueue, maxHeadBytes = maxHeaderSize): Framed {
  const length = queue.headLength();
  // Past node:http's header limit without an end: node:http answers 431.
  if (length === -1) return queue.length > maxHeadBytes || cannotBeFramed(queue) ? 'hand-off' : 'incomplete';
  if (length > maxHeadBytes) return 'hand-off';
  const head = parseRequestHead(queue.front(length));
  if (typeof head === 'string') return 'hand-off';
  // llhttp refuses bytes after a `Connection: close` request (400): node:http's to answer.
  if (!head.keepAlive && queue.length > length + head.bodyLength) return 'hand-off';
  return head;
}

/**
 * Whether the bytes queued begin a request: llhttp skips the empty lines (CR, LF) a client may
 * send between requests, so those alone are no request begun (nothing to time out, nothing cut
 * short when the client closes).
 */
export function beginsRequest(queue: ByteQueue): boolean {
  return queue.length > 0 && queue.front(queue.length).some((byte) => byte !== 13 && byte !== 10);
}
