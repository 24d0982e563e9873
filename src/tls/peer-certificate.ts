/**
 * The client certificate a request's connection proved, for the authenticate step: only one the
 * CA verified (`socket.authorized === true`) — with --tls-client-auth optional a client may send
 * any certificate, and an unverified one names nobody.
 *
 * Works for both kinds of request a TLS listener serves: HTTP/1.1 (`req.socket` is the TLSSocket)
 * and HTTP/2's compatibility API (`req.socket` is a proxy that routes these reads to the session's
 * TLSSocket, as Node documents). The certificate is read once per connection — an HTTP/2 session
 * or an HTTP/1.1 socket — so the authenticator can key its cache on the same object each time.
 */
import type { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { TLSSocket } from 'node:tls';

/** Per connection: its verified certificate, or null when it has none. */
const certificates = new WeakMap<object, X509Certificate | null>();

/** The verified client certificate of the request's connection; undefined on plain HTTP or without one. */
export function verifiedPeerCertificateOf(req: IncomingMessage | Http2ServerRequest): X509Certificate | undefined {
  const socket = req.socket as Partial<TLSSocket> | null;
  if (socket?.encrypted !== true) return undefined;
  const connection: object = ('stream' in req ? req.stream.session : undefined) ?? socket;
  let known = certificates.get(connection);
  if (known === undefined) {
    known = socket.authorized === true ? socket.getPeerX509Certificate?.() ?? null : null;
    certificates.set(connection, known);
  }
  return known ?? undefined;
}
