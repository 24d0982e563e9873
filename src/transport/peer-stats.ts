/** Per-peer counters of the transport, shared by a peer's outbound link and its inbound side. */
import type { RefusalReason } from './handshake-limits.ts';


export interface PeerCounters {
  /** Messages written to the peer's outbound connection. */
  framesSent: number;
  /** Messages delivered to onMessage from the peer's authenticated inbound connections. */
  framesReceived: number;
  /** Messages send() did not write: link down, too much buffered, or over the frame limit. */
  dropped: number;
  /** Times the outbound link was authenticated again after having been up before. */
  reconnects: number;
  /** Handshakes that failed on proof, not on the network: a wrong MAC, a wrong target, garbage. */
  authFailures: number;
  /** Links closed because a sealed frame from the peer failed authentication (injected, replayed, altered). */
  framesRejected: number;
}

export interface PeerStats extends Readonly<PeerCounters> {
  /** The outbound link is up and authenticated: send() writes. */
  readonly connected: boolean;
}

export interface TransportStats {
  readonly peers: Readonly<Record<number, PeerStats>>;
  /** Inbound connections closed before authenticating (garbage, silence, bad proof, over the limit). */
  readonly rejectedConnections: number;
  /** The same, by reason (per-source and global limits, TLS, timeouts, bad proofs...). */
  readonly refusedHandshakes: Readonly<Record<RefusalReason, number>>;
}

export function emptyCounters(): PeerCounters {
  return { framesSent: 0, framesReceived: 0, dropped: 0, reconnects: 0, authFailures: 0, framesRejected: 0 };
}
