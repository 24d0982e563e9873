/**
 * The connections other members dialed to us: authenticate each, then deliver its messages as
 * coming from the member the handshake proved, never from anything the payload says.
 *
 * Invariants: at most `maxPendingHandshakes` unauthenticated connections at a time (the rest are
 * closed on arrival) and each lives at most the handshake timeout; at most one authenticated
 * connection per member, the newest (a restarted peer's old connection may linger half-open);
 * a connection that has read nothing for `idleTicks` heartbeats is closed (the dialer pings every
 * heartbeat it has nothing else to send).
 * Any bad frame closes its connection and nothing else.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../observability/logger.ts';
import { FramedSocket } from './framed-socket.ts';
import { acceptHandshake, HANDSHAKE_MAX_FRAME_BYTES, isAuthFailure, type HandshakeResult } from './handshake.ts';
import { parseDialerFrame } from './link-frames.ts';
import type { PeerCounters } from './peer-stats.ts';

export interface InboundLinksOptions {
  readonly selfId: number;
  readonly secret: string;
  readonly counters: ReadonlyMap<number, PeerCounters>;
  readonly handshakeTimeoutMs: number;
  /** Heartbeats without a byte read after which a connection is closed. */
  readonly idleTicks: number;
  readonly maxFrameBytes: number;
  readonly maxPendingHandshakes: number;
  readonly logger: Logger;
  readonly onMessage: (from: number, message: unknown) => void;
}

interface Inbound {
  readonly conn: FramedSocket;
  readonly peerId: number;
  /** Bytes read as of the last ack we sent. */
  ackedBytes: number;
  /** Consecutive heartbeats in which nothing was read. */
  silentTicks: number;
}

export class InboundLinks {
  /** Inbound connections closed before authenticating. */
  rejected = 0;
  private readonly members: ReadonlySet<number>;
  private readonly pending = new Set<FramedSocket>();
  private readonly byPeer = new Map<number, Inbound>();
  private closed = false;

  constructor(private readonly options: InboundLinksOptions) {
    this.members = new Set(options.counters.keys());
  }

  accept(socket: Socket): void {
    const { selfId, secret, handshakeTimeoutMs, logger } = this.options;
    const conn = new FramedSocket(socket, HANDSHAKE_MAX_FRAME_BYTES);
    if (this.closed || this.pending.size >= this.options.maxPendingHandshakes) {
      this.rejected++;
      if (!this.closed) logger.warn({ event: 'peer-accept-refused', node: selfId, remote: conn.remote }, 'too many handshakes in progress');
      conn.destroy('refused');
      return;
    }
    this.pending.add(conn);
    acceptHandshake(conn, { selfId, secret, timeoutMs: handshakeTimeoutMs, members: this.members }, (result) => {
      this.pending.delete(conn);
      if (this.closed) conn.destroy('transport closed');
      else if (result.ok) this.onAuthenticated(conn, result.peerId);
      else this.onRejected(conn, result);
    });
  }

  /** Called every heartbeat: acks what each connection has read since the last; closes silent ones. */
  tick(): void {
    for (const inbound of [...this.byPeer.values()]) {
      const { conn } = inbound;
      if (conn.bytesRead > inbound.ackedBytes) {
        inbound.silentTicks = 0;
        inbound.ackedBytes = conn.bytesRead;
        conn.write({ type: 'ack', bytes: conn.bytesRead });
      } else if (++inbound.silentTicks > this.options.idleTicks) {
        conn.destroy(`nothing read for ${this.options.idleTicks} heartbeats`);
      }
    }
  }

  closeAll(): void {
    this.closed = true;
    for (const conn of [...this.pending]) conn.destroy('transport closed');
    for (const { conn } of [...this.byPeer.values()]) conn.destroy('transport closed');
    this.pending.clear();
    this.byPeer.clear();
  }

  private onAuthenticated(conn: FramedSocket, peerId: number): void {
    const { selfId, maxFrameBytes, logger, onMessage } = this.options;
    const counters = this.options.counters.get(peerId)!;
    this.byPeer.get(peerId)?.conn.destroy('replaced by a newer connection from the same member');
    const inbound: Inbound = { conn, peerId, ackedBytes: 0, silentTicks: 0 };
    this.byPeer.set(peerId, inbound);
    conn.maxFrameBytes = maxFrameBytes;
    conn.onFrame = (message) => {
      if (message instanceof Uint8Array) {
        counters.framesReceived++;
        onMessage(peerId, message);
        return;
      }
      const frame = parseDialerFrame(message);
      if (frame === undefined) {
        conn.destroy('unexpected frame from the dialer');
      } else if (frame.type === 'msg') {
        counters.framesReceived++;
        onMessage(peerId, frame.body);
      }
    };
    conn.onClose = (reason) => {
      if (this.byPeer.get(peerId) === inbound) this.byPeer.delete(peerId);
      logger.debug({ event: 'peer-inbound-closed', node: selfId, peer: peerId, reason }, `connection from ${peerId} closed`);
    };
    logger.debug({ event: 'peer-inbound-up', node: selfId, peer: peerId, remote: conn.remote }, `accepted ${peerId}`);
  }

  private onRejected(conn: FramedSocket, result: Extract<HandshakeResult, { ok: false }>): void {
    this.rejected++;
    const claimed = result.claimedId === undefined ? undefined : this.options.counters.get(result.claimedId);
    if (claimed && isAuthFailure(result.reason)) claimed.authFailures++;
    this.options.logger.warn({
      event: 'peer-handshake-rejected', node: this.options.selfId, remote: conn.remote, claimedId: result.claimedId,
      reason: result.reason, detail: result.detail,
    }, 'rejected an inbound peer connection');
  }
}
