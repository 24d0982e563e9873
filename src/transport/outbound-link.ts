/**
 * The one persistent connection from this member to one peer; everything we send that peer goes
 * on it (so a test can put a proxy on each directed link by giving us the proxy's address).
 *
 * Invariants: at most one socket at a time, connecting or up; send() writes only on an
 * authenticated connection and otherwise drops, counted (Raft retransmits, so nothing is ever
 * queued here); the link redials forever with capped, jittered backoff until stop(), after which
 * no socket and no timer is left.
 *
 * Liveness: the listener acknowledges the bytes it has read, once per heartbeat. When bytes
 * have been owed for `idleTicks` heartbeats in a row with no progress, the link is declared dead
 * and redialed. A ping goes out after a heartbeat with nothing written, so an idle link owes bytes
 * too and a hung one is noticed all the same. Time is counted in heartbeat ticks, not read from a
 * clock, so a stall of our own event loop (a big JSON.stringify) looks like one late tick, not
 * like a silent peer.
 *
 * Over mutual TLS the socket is a TLS one whose listener's certificate must name `peer.id`
 * (peer-tls.ts); a TLS refusal counts as an authentication failure, like a wrong MAC.
 */
import { connect } from 'node:net';
import type { Logger } from '../observability/logger.ts';
import { backoffDelayMs, type BackoffOptions } from './backoff.ts';
import { encodeBinaryFrame, encodeFrame, FrameTooLargeError } from './frame-codec.ts';
import { FramedSocket } from './framed-socket.ts';
import { dialHandshake, HANDSHAKE_MAX_FRAME_BYTES, isAuthFailure, type HandshakeResult } from './handshake.ts';
import { parseAckFrame } from './link-frames.ts';
import type { PeerCounters } from './peer-stats.ts';
import { isTlsError, type PeerTls } from './peer-tls.ts';

export interface PeerAddress {
  readonly id: number;
  readonly host: string;
  readonly port: number;
}

/** What send() did with a message; anything but 'sent' was dropped and counted. */
export type SendOutcome = 'sent' | 'disconnected' | 'backpressure' | 'too-large';

export interface OutboundLinkOptions {
  readonly selfId: number;
  readonly peer: PeerAddress;
  readonly secret: string | undefined;
  readonly seal: boolean;
  readonly tls: PeerTls | undefined;
  readonly handshakeTimeoutMs: number;
  /** Heartbeats without acknowledged progress after which the link is declared dead. */
  readonly idleTicks: number;
  readonly maxFrameBytes: number;
  readonly maxBufferedBytes: number;
  readonly backoff: BackoffOptions;
  readonly random: () => number;
  readonly logger: Logger;
  readonly counters: PeerCounters;
  readonly onState: (connected: boolean) => void;
}

export class OutboundLink {
  private conn: FramedSocket | undefined;
  private up = false;
  private everUp = false;
  private stopped = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  /** The listener's last acknowledged byte count on `conn`, and as of the previous tick. */
  private ackedBytes = 0;
  private ackedBytesAtTick = 0;
  private writtenBytesAtTick = 0;
  /** Consecutive ticks that ended with bytes owed and no progress. */
  private stalledTicks = 0;
  private peerReadsNow = 1;

  constructor(private readonly options: OutboundLinkOptions) {}

  get connected(): boolean {
    return this.up;
  }

  /** Whether send() may be given bytes now: the link is up (every PEER_PROTOCOL member reads them). */
  get sendsBinary(): boolean {
    return this.up;
  }

  /** The newest message layout the listener said it reads (1 until it says: earlier builds never do). */
  get peerReads(): number {
    return this.peerReadsNow;
  }

  start(): void {
    this.dial();
  }

  /** A Uint8Array goes as a binary frame (only while sendsBinary), anything else as JSON. */
  send(message: unknown): SendOutcome {
    const conn = this.conn;
    if (!this.up || conn === undefined) return this.drop('disconnected');
    if (conn.writableLength > this.options.maxBufferedBytes) return this.drop('backpressure');
    let frame: Buffer;
    try {
      if (message instanceof Uint8Array) {
        frame = encodeBinaryFrame(message, this.options.maxFrameBytes);
      } else {
        frame = encodeFrame({ type: 'msg', body: message }, this.options.maxFrameBytes);
      }
    } catch (error) {
      if (!(error instanceof FrameTooLargeError)) throw error;
      this.options.logger.warn({ event: 'peer-message-too-large', node: this.options.selfId, peer: this.options.peer.id,
        bytes: error.frameBytes, maxFrameBytes: error.maxFrameBytes }, 'message over the frame limit dropped');
      return this.drop('too-large');
    }
    conn.writeFrame(frame);
    this.options.counters.framesSent++;
    return 'sent';
  }

  /** Called every heartbeat: declares a silent link dead, or pings an idle one. */
  tick(): void {
    const conn = this.conn;
    if (!this.up || conn === undefined) return;
    const owed = conn.bytesWritten > this.ackedBytes;
    this.stalledTicks = owed && this.ackedBytes === this.ackedBytesAtTick ? this.stalledTicks + 1 : 0;
    this.ackedBytesAtTick = this.ackedBytes;
    if (this.stalledTicks > this.options.idleTicks) {
      conn.destroy(`nothing acknowledged for ${this.options.idleTicks} heartbeats`);
      return;
    }
    if (conn.bytesWritten === this.writtenBytesAtTick) conn.write({ type: 'ping' });
    this.writtenBytesAtTick = conn.bytesWritten;
  }

  /**
   * Dials at once if the link waits out a backoff. Called when the peer authenticated a connection
   * to us: it is listening now, and a member that just started (a leader its followers had given
   * up on for seconds) should not have to wait for the next redial before its proposals can go.
   */
  redialNow(): void {
    if (this.retryTimer === undefined) return;
    clearTimeout(this.retryTimer);
    this.dial();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const conn = this.conn;
    this.conn = undefined;
    this.up = false;
    conn?.destroy('transport closed');
  }

  private drop(outcome: Exclude<SendOutcome, 'sent'>): SendOutcome {
    this.options.counters.dropped++;
    return outcome;
  }

  private dial(): void {
    this.retryTimer = undefined;
    if (this.stopped) return;
    const { selfId, peer, secret, seal, tls, handshakeTimeoutMs } = this.options;
    const socket = tls === undefined ? connect({ host: peer.host, port: peer.port }) : tls.dial(peer.host, peer.port, peer.id);
    let tlsRefused = false;
    socket.on('error', (error: NodeJS.ErrnoException) => (tlsRefused ||= tls !== undefined && isTlsError(error)));
    // A listener that closes our TLS handshake (it refused our certificate) shows as a reset.
    let secured = tls === undefined;
    let tcpUp = false;
    socket.once('connect', () => (tcpUp = true));
    socket.once('secureConnect', () => (secured = true));
    socket.once('close', () => (tlsRefused ||= tcpUp && !secured));
    const conn = new FramedSocket(socket, HANDSHAKE_MAX_FRAME_BYTES);
    this.conn = conn;
    dialHandshake(conn, { selfId, secret, seal, timeoutMs: handshakeTimeoutMs, peerId: peer.id }, (result) => {
      if (this.conn !== conn) return; // stopped meanwhile
      if (result.ok) this.onUp(conn);
      else this.onFailed(result, tlsRefused);
    });
  }

  private onUp(conn: FramedSocket): void {
    const { selfId, peer, counters, logger } = this.options;
    this.up = true;
    this.attempt = 0;
    if (this.everUp) counters.reconnects++;
    this.everUp = true;
    // The listener has read our hello (it answered it): nothing is owed yet.
    this.ackedBytes = conn.bytesWritten;
    this.ackedBytesAtTick = this.ackedBytes;
    this.writtenBytesAtTick = this.ackedBytes;
    this.stalledTicks = 0;
    this.peerReadsNow = 1;
    conn.onFrame = (message) => {
      const ack = parseAckFrame(message);
      if (ack === undefined || ack.bytes > conn.bytesWritten) {
        conn.destroy('unexpected frame from the listener');
      } else {
        this.ackedBytes = Math.max(this.ackedBytes, ack.bytes);
        if (ack.reads !== undefined) this.peerReadsNow = ack.reads;
      }
    };
    conn.onClose = (reason) => this.onDown(conn, reason);
    logger.info({ event: 'peer-link-up', node: selfId, peer: peer.id, remote: conn.remote }, `link to ${peer.id} up`);
    this.options.onState(true);
  }

  private onDown(conn: FramedSocket, reason: string): void {
    if (this.conn !== conn) return; // stopped
    this.conn = undefined;
    this.up = false;
    if (conn.tampered) {
      this.options.counters.framesRejected++;
      this.options.logger.warn({ event: 'peer-frame-rejected', node: this.options.selfId, peer: this.options.peer.id, reason },
        `closed the link to ${this.options.peer.id}: a frame failed authentication`);
    }
    this.options.logger.info({ event: 'peer-link-down', node: this.options.selfId, peer: this.options.peer.id, reason },
      `link to ${this.options.peer.id} down`);
    this.options.onState(false);
    this.scheduleRedial();
  }

  private onFailed(result: Extract<HandshakeResult, { ok: false }>, tlsRefused: boolean): void {
    const { selfId, peer, counters, logger } = this.options;
    this.conn = undefined;
    const reason = tlsRefused && result.reason === 'closed' ? 'tls' : result.reason;
    const fields = { event: 'peer-dial-failed', node: selfId, peer: peer.id, reason, detail: result.detail };
    if (isAuthFailure(result.reason) || reason === 'tls') {
      counters.authFailures++;
      logger.warn(fields, `peer ${peer.id} failed the handshake`);
    } else {
      // A peer that is down fails every redial: not worth more than a debug line each time.
      logger.debug(fields, `could not reach peer ${peer.id}`);
    }
    this.scheduleRedial();
  }

  private scheduleRedial(): void {
    if (this.stopped) return;
    const delayMs = backoffDelayMs(this.attempt++, this.options.backoff, this.options.random);
    this.retryTimer = setTimeout(() => this.dial(), delayMs);
  }
}
