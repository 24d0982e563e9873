/**
 * Open connections per client address (ZooKeeper's maxClientCnxns): counted on the server's
 * 'connection' event, before any other listener sees the socket, and given back when it closes.
 * A connection past the limit is closed, as ZooKeeper closes it. Over plain HTTP it is first
 * answered `429 THROTTLEDOP` with `Retry-After` (whatever its first request was) so an HTTP
 * client learns why; over TLS nothing readable can be sent before the handshake, so the socket
 * is just destroyed. The listeners node:http, TLS and the wire path put on 'connection' are
 * moved behind this gate, so a refused socket never reaches them.
 */
import type { Server } from 'node:net';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import { normalAddress } from '../../auth/authenticator.ts';
import { ZK_CODES } from '../../core/errors.ts';

export interface ConnectionLimitOptions {
  /** Open connections one address may hold; 0 for no limit (nothing is installed). */
  readonly maxPerAddress: number;
  /** A connection was refused (for the metrics). */
  readonly onRefused?: () => void;
}

export interface ConnectionLimit {
  /** Open connections from `address` (as the authenticator names it: IPv4-mapped IPv6 as IPv4). */
  openFrom(address: string): number;
}

/** A refused socket is given this long to take its answer before it is destroyed. */
const LINGER_MS = 1000;

function refusalText(max: number): string {
  const body = JSON.stringify({ code: 'THROTTLEDOP', zkCode: ZK_CODES.THROTTLEDOP, message: `at most ${max} connections per client address` });
  return 'HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n'
    + `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** Installs the limit in front of `server`'s connection listeners (call after they are all added). */
export function limitConnections(server: Server, options: ConnectionLimitOptions): ConnectionLimit {
  const open = new Map<string, number>();
  const openFrom = (address: string) => open.get(address) ?? 0;
  const max = options.maxPerAddress;
  if (max <= 0) return { openFrom };
  const tls = server instanceof TlsServer;
  const refusal = refusalText(max);
  const listeners = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    const address = normalAddress(socket.remoteAddress);
    const held = openFrom(address);
    if (held >= max) {
      options.onRefused?.();
      refuse(socket, tls ? undefined : refusal);
      return;
    }
    open.set(address, held + 1);
    socket.once('close', () => {
      const left = openFrom(address) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
    for (const listener of listeners) listener.call(server, socket);
  });
  return { openFrom };
}

/** Answers (plain HTTP) and closes; what the client sends meanwhile is read and dropped, so it gets the answer rather than a reset. */
function refuse(socket: Socket, answer: string | undefined): void {
  socket.on('error', () => socket.destroy());
  if (answer === undefined) {
    socket.destroy();
    return;
  }
  const linger = setTimeout(() => socket.destroy(), LINGER_MS);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
  socket.resume();
  socket.end(answer);
}
