/**
 * The direct wire path in front of node:http. Profiles showed node:http's per-request machinery
 * (IncomingMessage and ServerResponse streams, header objects) costing ~60 µs of the server's
 * CPU per request here, against ~20 µs for the socket work itself; plain znode calls are most of
 * the traffic, so they are parsed and answered straight off the socket (wire-connection.ts).
 * node:http still listens, times out and closes connections, and any connection that sends
 * something else — a session, a watch stream, a chunked body, a malformed request — is handed
 * to its own connection listener, which then serves it exactly as before.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { AppDeps } from '../app-deps.ts';
import { WireConnection } from './wire-connection.ts';

export interface WirePath {
  /** Ends idle wire connections; busy ones end after their answer. */
  close(): void;
  /** Destroys the wire connections still open. */
  destroy(): void;
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
  const handOff = (socket: Socket) => nodeHttp.call(server, socket);
  const done = (connection: WireConnection) => open.delete(connection);
  let closed = false;
  server.on('connection', (socket: Socket) => {
    if (closed) {
      handOff(socket);
      return;
    }
    open.add(new WireConnection(socket, deps, { keepAliveMs: server.keepAliveTimeout }, handOff, done));
  });
  return {
    close() {
      closed = true;
      for (const connection of open) connection.close();
    },
    destroy() {
      for (const connection of open) connection.destroy();
    },
  };
}
