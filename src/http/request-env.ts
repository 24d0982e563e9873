/**
 * What a request brings besides the web Request: under @hono/node-server, the Node request
 * (`incoming`: the raw target, the body's stream, the socket). In-process calls
 * (`app.request()` in tests) bring none.
 */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';

interface RequestEnv {
  readonly incoming?: IncomingMessage;
}

const envOf = (c: Context) => c.env as RequestEnv | undefined;

/** The Node request under @hono/node-server. */
export function incomingOf(c: Context): IncomingMessage | undefined {
  return envOf(c)?.incoming;
}

/** The request target (path and query) as the client sent it: `.` and `..` not normalised away. */
export function rawTarget(c: Context): string {
  return envOf(c)?.incoming?.url ?? c.req.url.replace(/^[a-z]+:\/\/[^/]+/i, '');
}

/** The connection's peer address, when the request came over a socket. */
export function remoteAddressOf(c: Context): string | undefined {
  return envOf(c)?.incoming?.socket.remoteAddress;
}
