/**
 * The connections other members dialed to us: authenticate each, then deliver its messages as
 * coming from the member the handshake proved, never from anything the payload says.
 *
 * Invariants: unauthenticated connections are admitted within per-source and global limits (the
 * rest are closed on arrival, before any TLS or handshake work: handshake-limits.ts) and each
 * lives at most the handshake timeout; refusals are counted and logged as periodic summaries,
 * never a line per socket; at most one authenticated
 * connection per member, the newest (a restarted peer's old connection may linger half-open);
 * a connection that has read nothing for `idleTicks` heartbeats is closed (the dialer pings every
 * heartbeat it has nothing else to send).
 * Any bad frame closes its connection and nothing else; one that fails to open (sealed links) is
 * counted as rejected and logged, as tampering.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../observability/logger.ts';
import { FramedSocket } from './framed-socket.ts';
import { acceptHandshake, HANDSHAKE_MAX_FRAME_BYTES, isAuthFailure, type HandshakeResult } from './handshake.ts';
import { HandshakeAdmission, RefusalLog, sourceOf, type RefusalReason } from './handshake-limits.ts';
import { parseDialerFrame } from './link-frames.ts';
import type { PeerCounters } from './peer-stats.ts';
import { memberIdOf, type PeerTls } from './peer-tls.ts';

export interface InboundLinksOptions {
  readonly selfId: number;
  readonly secret: string | undefined;
  /** Seal frames after the handshake (on the secret alone; TLS protects its own). */
  readonly seal: boolean;
  readonly tls: PeerTls | undefined;
  readonly counters: ReadonlyMap<number, PeerCounters>;
  readonly handshakeTimeoutMs: number;
  /** Heartbeats without a byte read after which a connection is closed. */
  readonly idleTicks: number;
  readonly maxFrameBytes: number;
  /** The newest message layout this member reads, told to every dialer in its acks. */
  readonly reads: number;
  readonly maxPendingHandshakes: number;
  readonly maxPendingHandshakesPerSource: number;
  /** Source addresses of configured members: their handshake slots are outside the global cap. */
  readonly memberSources: ReadonlySet<string>;
  /** Heartbeats between two summaries of refused connections. */
  readonly refusalLogTicks: number;
  readonly logger: Logger;
  readonly onMessage: (from: number, message: unknown) => void;
  /** Member `peerId` authenticated a connection to us: it is up, so our link to it need not wait out a backoff. */
  readonly onPeerAuthenticated: (peerId: number) => void;
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
  /** Who may authenticate: the members, kept current as the configuration changes (admit, forget). */
  private readonly members: Set<number>;
  private readonly pending = new Set<FramedSocket>();
  private readonly byPeer = new Map<number, Inbound>();
  private readonly admission: HandshakeAdmission;
  readonly refusals: RefusalLog;
  private closed = false;

  constructor(private readonly options: InboundLinksOptions) {
    this.members = new Set(options.counters.keys());
    this.admission = new HandshakeAdmission(options.maxPendingHandshakesPerSource, options.maxPendingHandshakes, options.memberSources);
    this.refusals = new RefusalLog(options.logger, options.selfId, options.refusalLogTicks);
  }

  /** Inbound connections closed before authenticating. */
  get rejected(): number {
    return this.refusals.total;
  }

  accept(socket: Socket): void {
    const source = sourceOf(socket.remoteAddress);
    const admitted = this.closed ? 'closed' : this.admission.admit(source);
    if (admitted !== 'admitted') {
      if (admitted !== 'closed') this.refusals.record(source, admitted);
      socket.destroy();
      return;
    }
    socket.on('error', () => socket.destroy()); // what TLS or the handshake makes of it is reported there
    socket.setNoDelay(true);
    const release = (): void => this.admission.release(source);
    const tls = this.options.tls;
    if (tls === undefined) {
      this.handshake(socket, source, undefined, release);
      return;
    }
    tls.accept(socket, this.options.handshakeTimeoutMs, (accepted) => {
      if (accepted.ok && !this.closed) {
        this.handshake(accepted.socket, source, accepted.socket, release);
        return;
      }
      release();
      if (!accepted.ok && !this.closed) this.refusals.record(source, accepted.reason);
      socket.destroy();
    });
  }

  private handshake(socket: Socket, source: string, tlsSocket: TLSSocket | undefined, release: () => void): void {
    const { selfId, secret, seal, handshakeTimeoutMs } = this.options;
    const conn = new FramedSocket(socket, HANDSHAKE_MAX_FRAME_BYTES);
    this.pending.add(conn);
    const peerIdentity = tlsSocket === undefined ? undefined : () => memberIdOf(tlsSocket.getPeerCertificate());
    acceptHandshake(conn, { selfId, secret, seal, timeoutMs: handshakeTimeoutMs, members: this.members, peerIdentity }, (result) => {
      this.pending.delete(conn);
      release();
      if (this.closed) conn.destroy('transport closed');
      else if (result.ok) this.onAuthenticated(conn, result.peerId);
      else this.onRejected(conn, source, result);
    });
  }

  /** Member `id` joined the configuration: its connections are accepted from now on (its counters must exist). */
  admit(id: number): void {
    this.members.add(id);
  }

  /** Member `id` left the configuration: its connection is closed and a new one refused. */
  forget(id: number): void {
    this.members.delete(id);
    this.byPeer.get(id)?.conn.destroy('no longer a member');
    this.byPeer.delete(id);
  }

  /** Called every heartbeat: acks what each connection has read since the last; closes silent ones. */
  tick(): void {
    this.refusals.tick();
    for (const inbound of [...this.byPeer.values()]) {
      const { conn } = inbound;
      if (conn.bytesRead > inbound.ackedBytes) {
        inbound.silentTicks = 0;
        inbound.ackedBytes = conn.bytesRead;
        conn.write({ type: 'ack', bytes: conn.bytesRead, reads: this.options.reads });
      } else if (++inbound.silentTicks > this.options.idleTicks) {
        conn.destroy(`nothing read for ${this.options.idleTicks} heartbeats`);
      }
    }
  }

  closeAll(): void {
    this.closed = true;
    this.refusals.flush();
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
      if (conn.tampered) {
        counters.framesRejected++;
        logger.warn({ event: 'peer-frame-rejected', node: selfId, peer: peerId, remote: conn.remote, reason }, `closed the link from ${peerId}: a frame failed authentication`);
        return;
      }
      logger.debug({ event: 'peer-inbound-closed', node: selfId, peer: peerId, reason }, `connection from ${peerId} closed`);
    };
    // The dialer learns what we read before it sends anything (the hello is all it owes so far).
    conn.write({ type: 'ack', bytes: conn.bytesRead, reads: this.options.reads });
    logger.debug({ event: 'peer-inbound-up', node: selfId, peer: peerId, remote: conn.remote }, `accepted ${peerId}`);
    this.options.onPeerAuthenticated(peerId);
  }

  private onRejected(conn: FramedSocket, source: string, result: Extract<HandshakeResult, { ok: false }>): void {
    const reason: RefusalReason = result.reason;
    this.refusals.record(source, reason);
    const claimed = result.claimedId === undefined ? undefined : this.options.counters.get(result.claimedId);
    if (claimed && isAuthFailure(result.reason)) claimed.authFailures++;
    this.options.logger.debug({
      event: 'peer-handshake-rejected', node: this.options.selfId, remote: conn.remote, claimedId: result.claimedId,
      reason, detail: result.detail,
    }, 'rejected an inbound peer connection');
  }
}
