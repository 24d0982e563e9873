/**
 * The direct wire path in front of node:http. Profiles showed node:http's per-request machinery
 * (IncomingMessage and ServerResponse streams, header objects) costing ~60 µs of the server's
 * CPU per request here, against ~20 µs for the socket work itself; plain znode calls are most of
 * the traffic, so they are parsed and answered straight off the socket (wire-connection.ts).
 * node:http still listens and limits connections (maxConnections), and any connection that
 * sends something else — a session, a watch stream, a chunked body, a malformed request — is
 * handed to its own connection listener, which then serves it exactly as before.
 *
 * node:http's deadlines are kept for the connections here as node:http keeps them, read from
 * the server itself so they are configured in one place: a request's head within
 * `headersTimeout`, all of it within `requestTimeout` (else 408 and close), an idle kept-alive
 * connection closed after `keepAliveTimeout`. One sweep checks them all, as node:http's own
 * connection check does, rather than a timer per request.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { AppDeps } from '../app-deps.ts';
import { WireConnection, type RefusalCode, type WireTimeouts } from './wire-connection.ts';

export interface WirePath {
  /** Ends idle wire connections; busy ones end after their answer. */
  close(): void;
  /** Destroys the wire connections still open, and stops the sweep. */
  destroy(): void;
}

/** What node:http writes when it refuses a request itself (no 'clientError' listener). */
const REFUSALS: Record<RefusalCode, string> = {
  ERR_HTTP_REQUEST_TIMEOUT: 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n',
  HPE_INVALID_EOF_STATE: 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n',
};

/** How often the deadlines are checked: a quarter of the shortest, within [10 ms, 1 s]. */
function sweepEveryMs(timeouts: WireTimeouts): number {
  const shortest = Math.min(...[timeouts.headersMs, timeouts.requestMs, timeouts.keepAliveMs].filter((ms) => ms > 0), 4000);
  return Math.min(1000, Math.max(10, Math.floor(shortest / 4)));
}

/** Puts the wire path in front of `server`'s connection listener. */
export function installWirePath(server: Server, deps: AppDeps): WirePath {
  if (deps.config.corsOrigins.length > 0) return { close() {}, destroy() {} };
  const listeners = server.listeners('connection');
  // node:http registers exactly one; anything else means an unknown Node version: fail loudly.
  if (listeners.length !== 1) throw new Error(`node:http server has ${listeners.length} connection listeners, expected 1`);
  const nodeHttp = listeners[0] as (socket: Socket) => void;
  server.removeAllListeners('connection');
  const open = new Set<WireConnection>();
  const timeouts = (): WireTimeouts => ({ headersMs: server.headersTimeout, requestMs: server.requestTimeout, keepAliveMs: server.keepAliveTimeout });
  const options = {
    keepAliveMs: () => server.keepAliveTimeout,
    handOff: (socket: Socket) => nodeHttp.call(server, socket),
    refuse: (socket: Socket, code: RefusalCode) => {
      if (server.emit('clientError', Object.assign(new Error(`request refused: ${code}`), { code }), socket)) return;
      if (socket.writable) socket.write(REFUSALS[code]);
      socket.destroy();
    },
    done: (connection: WireConnection) => open.delete(connection),
  };
  let sweep: NodeJS.Timeout | undefined;
  const check = () => {
    const now = deps.nowMs();
    const current = timeouts();
    for (const connection of open) {
      const overdue = connection.overdue(now, current);
      if (overdue === 'request') connection.timedOut();
      else if (overdue === 'idle') connection.destroy();
    }
    sweep = setTimeout(check, sweepEveryMs(current)).unref();
  };
  sweep = setTimeout(check, sweepEveryMs(timeouts())).unref();
  const stopSweep = () => clearTimeout(sweep);
  server.once('close', stopSweep);
  let closed = false;
  server.on('connection', (socket: Socket) => {
    if (closed) {
      options.handOff(socket);
      return;
    }
    open.add(new WireConnection(socket, deps, options));
  });
  return {
    close() {
      closed = true;
      for (const connection of open) connection.close();
    },
    destroy() {
      stopSweep();
      for (const connection of open) connection.destroy();
    },
  };
}
