/**
 * What a request brings besides the web Request: under @hono/node-server, the Node request
 * (`incoming`: the target as sent, the body's stream, the socket). In-process calls
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

/** Where a URL's path starts: after `scheme://authority`. */
function pathStart(url: string): number {
  const slash = url.indexOf('/', url.indexOf('://') + 3);
  return slash === -1 ? url.length : slash;
}

/**
 * The request target as the client sent it (absolute form and `.`/`..` segments included),
 * for the edge checks (edge/edge-guard.ts); in-process requests have only the parsed URL.
 */
export function sentTarget(c: Context): string {
  const incoming = envOf(c)?.incoming;
  if (incoming?.url !== undefined) return incoming.url;
  return c.req.url.slice(pathStart(c.req.url));
}

/** The path the app routed, still percent-encoded: the parsed URL's, before any `?` or `#`. */
export function routedPath(c: Context): string {
  const { url } = c.req;
  const start = pathStart(url);
  const end = url.slice(start).search(/[?#]/);
  return end === -1 ? url.slice(start) : url.slice(start, start + end);
}

/** The Host a request names: its Host header, else the parsed URL's authority (HTTP/2, in-process). */
export function hostOf(c: Context): string | undefined {
  const header = c.req.header('host');
  if (header !== undefined) return header;
  const { url } = c.req;
  const from = url.indexOf('://');
  return from === -1 ? undefined : url.slice(from + 3, pathStart(url));
}

/** The connection's peer address, when the request came over a socket. */
export function remoteAddressOf(c: Context): string | undefined {
  return envOf(c)?.incoming?.socket.remoteAddress;
}
