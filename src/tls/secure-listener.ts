/**
 * The public listener with TLS: HTTP/2 negotiated by ALPN (`h2`), HTTP/1.1 for clients that do not
 * offer it (`allowHTTP1`). HTTP/2 is what lets a browser page hold many EventSource streams to
 * one origin: over HTTP/1.1 it opens at most six connections per origin, and each stream holds one.
 *
 * Requests of both kinds reach one request listener (the direct path, then the Hono app):
 * HTTP/1.1 ones as IncomingMessage, HTTP/2 ones through Node's compatibility API
 * (Http2ServerRequest/Response), which both @hono/node-server and the direct path read only through
 * members the two share. The raw wire path (http/wire/) is never installed here: it parses
 * HTTP/1.1 from a plain TCP socket.
 *
 * HTTP/2 forbids HTTP/1.1's connection headers (RFC 9113 §8.2.2) and Node refuses to send a
 * response carrying one; the event streams name `Transfer-Encoding: chunked` and
 * `Connection: keep-alive` for HTTP/1.1 proxies, so withoutConnectionHeaders() drops them from the
 * app's answers to HTTP/2 requests (HTTP/2 frames the body itself and keeps the connection open).
 *
 * Closing: Http2SecureServer.close() waits for every session and socket, and event streams
 * never end on their own, so the listener keeps its connections: shutdown() sends each HTTP/2
 * session a GOAWAY (requests in flight finish; no new ones), destroy() ends what is left.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { TlsOptions } from 'node:tls';

/** Hop-by-hop headers of HTTP/1.1 that an HTTP/2 response must not carry. */
const CONNECTION_HEADERS = ['connection', 'transfer-encoding', 'keep-alive', 'proxy-connection', 'upgrade'] as const;

type Fetch = (request: Request, env: { incoming?: { httpVersionMajor?: number } }) => unknown;

function stripped(answer: unknown): unknown {
  if (answer instanceof Response) for (const name of CONNECTION_HEADERS) answer.headers.delete(name);
  return answer;
}

/** `fetch`, with HTTP/1.1's connection headers removed from its answers to HTTP/2 requests. */
export function withoutConnectionHeaders<F extends Fetch>(fetch: F): F {
  return ((request, env) => {
    const answer = fetch(request, env);
    if (env?.incoming?.httpVersionMajor !== 2) return answer;
    return answer instanceof Promise ? answer.then(stripped) : stripped(answer);
  }) as F;
}

export type AnyRequestListener = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void;

/** Concurrent streams one HTTP/2 connection may open (a page's event streams and requests together). */
export const STREAMS_PER_CONNECTION_MAX = 1000;

export interface SecureListener {
  readonly server: Http2SecureServer;
  /** GOAWAY to every HTTP/2 session: requests in flight finish, new ones go to a new connection. */
  shutdown(): void;
  /** Ends every connection still open. */
  destroy(): void;
}

export function createSecureListener(tls: TlsOptions, listener: AnyRequestListener): SecureListener {
  const server = createSecureServer({
    ...tls,
    allowHTTP1: true,
    settings: { maxConcurrentStreams: STREAMS_PER_CONNECTION_MAX },
  }, listener);
  const sockets = new Set<Socket>();
  const sessions = new Set<Http2Session>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  return {
    server,
    shutdown() {
      for (const session of sessions) session.close();
    },
    destroy() {
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
    },
  };
}
