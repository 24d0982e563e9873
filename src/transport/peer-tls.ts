/**
 * Mutual TLS between members (TLS 1.3, node:tls): both ends present a certificate signed by the
 * cluster's CA, and a member's certificate names its id in the SAN `URI:urn:corral:member:<id>`.
 * The dialer refuses a listener whose certificate does not name the id it dialed; the listener
 * hands the id the dialer's certificate names to the handshake, which refuses a hello claiming
 * any other (handshake.ts). So a member holding its own certificate cannot pose as another.
 *
 * The listener hands a socket to TLS only after it was admitted (handshake-limits.ts): a refused
 * socket costs no TLS work. The admitted socket is injected into a tls.Server that never listens
 * (net.Server's documented 'connection' injection), so node verifies the chain and requires the
 * client's certificate (requestCert + rejectUnauthorized): a socket without one, or with one from
 * another CA, or speaking plain TCP, fails the TLS handshake and is closed.
 *
 * A renewed certificate (or CA bundle) is taken without a restart: setSecureContext (what
 * tls/cert-reloader.ts calls) builds the new context first — a bad pair throws and the old one
 * stays — then both ends use it for every new handshake; links already up keep the session they
 * negotiated, as the client listener's connections do.
 */
import type { Socket } from 'node:net';
import {
  connect, createSecureContext, createServer, type PeerCertificate, type SecureContext, type SecureContextOptions, type Server, type TLSSocket,
} from 'node:tls';

/** PEM contents (not paths) of this member's certificate chain and key, and of the CA bundle. */
export interface PeerTlsOptions {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  readonly ca: string | Buffer;
}

const MEMBER_URI = /^URI:urn:corral:member:(\d{1,15})$/;

/** The member id a certificate names, or undefined when it names none or more than one. */
export function memberIdOf(cert: PeerCertificate | undefined): number | undefined {
  const names = cert?.subjectaltname;
  if (typeof names !== 'string') return undefined;
  const ids = names.split(', ').flatMap((name) => {
    const match = MEMBER_URI.exec(name);
    return match ? [Number(match[1])] : [];
  });
  return ids.length === 1 ? ids[0] : undefined;
}

/** OpenSSL's verification codes and node's TLS codes; not a network errno (ECONNRESET...). */
export function isTlsError(error: NodeJS.ErrnoException): boolean {
  return error instanceof PeerIdentityError || (typeof error.code === 'string' && !/^E[A-Z]+$/.test(error.code) && /^[A-Z0-9_]+$/.test(error.code));
}

export class PeerIdentityError extends Error {
  override readonly name = 'PeerIdentityError';
  readonly code = 'ERR_TLS_PEER_IDENTITY';
}

/** How a listener's TLS handshake ended: the verified socket, or why not. */
export type TlsAccepted = { readonly ok: true; readonly socket: TLSSocket } | { readonly ok: false; readonly reason: 'tls' | 'timeout' };

export class PeerTls {
  private context: SecureContext;
  private readonly server: Server;
  /** Admitted sockets whose TLS handshake is under way, by remote address and port. */
  private readonly waiting = new Map<string, (socket: TLSSocket) => void>();

  constructor(options: PeerTlsOptions) {
    const context = contextOptionsOf(options);
    this.context = createSecureContext(context);
    // tls.Server builds its context from these options (it does not take a secureContext).
    this.server = createServer({ ...context, requestCert: true, rejectUnauthorized: true });
    this.server.on('secureConnection', (socket: TLSSocket) => {
      const resume = this.waiting.get(keyOf(socket));
      if (resume === undefined) socket.destroy();
      else resume(socket);
    });
    this.server.on('tlsClientError', (_error, socket) => socket.destroy());
  }

  /**
   * Takes a renewed key pair and CA for every handshake from now on, dialed or accepted. Throws
   * (and changes nothing) when they do not form a context: a key that does not match, bad PEM.
   */
  setSecureContext(options: SecureContextOptions): void {
    const next = contextOptionsOf({ cert: options.cert as Buffer, key: options.key as Buffer, ca: options.ca as Buffer });
    const context = createSecureContext(next);
    this.server.setSecureContext(next);
    this.context = context;
  }

  /** Runs the listener's TLS handshake on an admitted socket within `timeoutMs`; `done` is called once. */
  accept(socket: Socket, timeoutMs: number, done: (accepted: TlsAccepted) => void): void {
    const key = keyOf(socket);
    let settled = false;
    const settle = (accepted: TlsAccepted): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.waiting.delete(key);
      if (!accepted.ok) socket.destroy();
      done(accepted);
    };
    const timer = setTimeout(() => settle({ ok: false, reason: 'timeout' }), timeoutMs);
    socket.once('close', () => settle({ ok: false, reason: 'tls' }));
    this.waiting.set(key, (tlsSocket) => settle({ ok: true, socket: tlsSocket }));
    this.server.emit('connection', socket);
  }

  /** Dials member `peerId` at host:port; fails unless its certificate names `peerId`. */
  dial(host: string, port: number, peerId: number): TLSSocket {
    return connect({
      host, port, secureContext: this.context, rejectUnauthorized: true,
      // The id, not the host name, is what a member's certificate is checked for.
      checkServerIdentity: (_host, cert) => {
        const named = memberIdOf(cert);
        return named === peerId ? undefined : new PeerIdentityError(`dialed member ${peerId}, its certificate names ${named ?? 'no member'}`);
      },
    });
  }
}

/** A member's context: its pair, the cluster's CA, TLS 1.3 only. */
function contextOptionsOf(options: PeerTlsOptions) {
  return { cert: options.cert, key: options.key, ca: options.ca, minVersion: 'TLSv1.3' } as const;
}

function keyOf(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}
