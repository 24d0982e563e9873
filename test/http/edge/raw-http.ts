/**
 * Raw HTTP/1.1 over a socket to 127.0.0.1, for requests a fetch client would never send as
 * written (absolute-form targets, dot segments, repeated Host headers), and for choosing the
 * carrier: the first requests of a fresh connection go down the wire path; once a connection
 * sends a request the wire path does not take, node:http has it (and its direct path, or the
 * app). Every exchange is bounded in time and closes its socket.
 */
import { connect } from 'node:net';

export interface RawReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
  /** The body as JSON, when it parses. */
  readonly json: any;
}

/** A request's text: `Host: 127.0.0.1` unless `headers` names a host, and Content-Length for a body. */
export function rawRequest(method: string, target: string, headers: Record<string, string> = {}, body = ''): string {
  const lines = [`${method} ${target} HTTP/1.1`];
  if (!Object.keys(headers).some((name) => name.toLowerCase() === 'host')) lines.push('Host: 127.0.0.1');
  for (const [name, value] of Object.entries(headers)) {
    for (const one of value.split('\n')) lines.push(`${name}: ${one}`);
  }
  if (body !== '' || method === 'POST' || method === 'PUT') lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/**
 * Parses every complete response in `bytes`, in order; `methods[i]` is the method of the i-th
 * request (an answer to HEAD has no body, whatever its Content-Length says).
 */
export function parseReplies(bytes: Buffer, methods: readonly string[] = []): RawReply[] {
  const replies: RawReply[] = [];
  let at = 0;
  for (;;) {
    const end = bytes.indexOf('\r\n\r\n', at);
    if (end === -1) return replies;
    const [statusLine, ...lines] = bytes.toString('latin1', at, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    let body: Buffer = Buffer.alloc(0);
    let next = end + 4;
    if (headers['transfer-encoding'] === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        const sizeEnd = bytes.indexOf('\r\n', next);
        if (sizeEnd === -1) return replies;
        const size = parseInt(bytes.toString('latin1', next, sizeEnd), 16);
        if (Number.isNaN(size) || bytes.length < sizeEnd + 2 + size + 2) return replies;
        parts.push(bytes.subarray(sizeEnd + 2, sizeEnd + 2 + size));
        next = sizeEnd + 2 + size + 2;
        if (size === 0) break;
      }
      body = Buffer.concat(parts);
    } else {
      const length = methods[replies.length] === 'HEAD' ? 0 : Number(headers['content-length'] ?? 0);
      if (bytes.length < next + length) return replies;
      body = bytes.subarray(next, next + length);
      next += length;
    }
    const text = body.toString('utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    replies.push({ status: Number(statusLine!.split(' ')[1]), headers, text, json });
    at = next;
  }
}

/**
 * Sends `requests` on one connection, one after another's answer, and resolves with the
 * answers once `requests.length` have arrived (or the server closed the connection).
 */
export function exchange(port: number, requests: readonly string[], timeoutMs = 5000): Promise<RawReply[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const methods = requests.map((request) => request.slice(0, request.indexOf(' ')));
    let received: Buffer = Buffer.alloc(0);
    let sent = 0;
    const timer = setTimeout(() => finish(new Error(`no complete answer within ${timeoutMs} ms: ${received.toString('latin1').slice(0, 300)}`)), timeoutMs);
    const finish = (error?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(parseReplies(received, methods));
    };
    const sendNext = () => {
      socket.write(requests[sent]!);
      sent++;
    };
    socket.on('connect', sendNext);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const answered = parseReplies(received, methods).length;
      if (answered === requests.length) finish();
      else if (answered === sent) sendNext();
    });
    socket.on('end', () => finish());
    socket.on('error', (error) => finish(error));
  });
}

/** A request the wire path hands to node:http (not a direct route), to move a connection there. */
export const HAND_OFF = rawRequest('GET', '/healthz');

/** The carriers a request can take on a server without CORS, and how to reach each. */
export const CARRIERS = {
  /** A fresh connection's first request: the wire path answers plain calls off the socket. */
  wire: (request: string) => [request],
  /** After a request the wire path does not take, node:http has the connection: withFastPath. */
  'node:http direct path': (request: string) => [HAND_OFF, request],
} as const;
