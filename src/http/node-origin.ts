/**
 * The origin a request reached this node at (`scheme://host[:port]`), as the node itself sees it:
 * what the served openapi.yaml names as its server, so the reference's "try it" calls the node
 * that served it and not the spec file's example address.
 *
 * - scheme: the public listener's (https exactly when --tls-cert is set: the admin listener does
 *   not serve the reference);
 * - host: the Host header (HTTP/2's :authority) the edge guard already let through
 *   (edge/host-guard.ts), normalised by the guard's own parser; a value it cannot parse (possible
 *   only where any Host is allowed) is never echoed;
 * - otherwise (HTTP/1.0 without a Host, an unparseable one): the address and port the
 *   connection arrived at, else the configured listen address (in-process requests).
 */
import type { Context } from 'hono';
import type { Config } from '../config.ts';
import { tlsEnabled } from '../tls/tls-options.ts';
import { splitHost } from './edge/host-guard.ts';
import { hostOf, incomingOf } from './request-env.ts';

const bracketed = (address: string): string => (address.includes(':') && !address.startsWith('[') ? `[${address}]` : address);

/** The Host the client named, when it named one (not @hono/node-server's stand-in for a missing one). */
function namedHost(c: Context): string | undefined {
  const header = c.req.header('host');
  if (header !== undefined) return header;
  const incoming = incomingOf(c);
  // HTTP/2 has no Host header: its :authority is the URL's authority. In-process requests
  // (app.request) have only their URL. An HTTP/1 request without Host named none.
  if (incoming === undefined || incoming.httpVersionMajor === 2) return hostOf(c);
  return undefined;
}

/** `scheme://host[:port]` of the node as this request reached it. */
export function originOf(c: Context, config: Pick<Config, 'tlsCert' | 'host' | 'port'>): string {
  const scheme = tlsEnabled(config) ? 'https' : 'http';
  const named = namedHost(c);
  const host = named === undefined || named === '' ? undefined : splitHost(named);
  if (host !== undefined) return `${scheme}://${host.name}${host.port === undefined ? '' : `:${Number(host.port)}`}`;
  const socket = incomingOf(c)?.socket;
  if (socket?.localAddress !== undefined && socket.localPort !== undefined) {
    return `${scheme}://${bracketed(socket.localAddress)}:${socket.localPort}`;
  }
  return `${scheme}://${bracketed(config.host)}:${config.port}`;
}
