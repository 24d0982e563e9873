/**
 * Messages between cluster members over TCP, authenticated with a shared secret, or mutual TLS
 * (peer-tls.ts), or both.
 *
 * Each member dials every other member and sends only on that outbound connection; it receives
 * only on connections it accepted, after the dialer proved it knows the secret or holds the
 * certificate of the member it claims to be (handshake.ts). On the secret alone every later frame
 * is sealed (frame-seal.ts): a frame the channel did not authenticate closes the link.
 * Unauthenticated connections are admitted within per-source limits (handshake-limits.ts).
 * So there is exactly one connection per directed link i→j, which a test can route through its
 * own proxy by giving i a proxy's address for j.
 *
 * Delivery is best effort, in order per link, at most once: a message to a peer whose link is
 * down, or whose socket already buffers `maxBufferedBytes`, is dropped and counted, never queued
 * (Raft retransmits). Links redial forever with capped, jittered backoff until close(). A link
 * that accepts writes but delivers nothing (a hung peer or a blackholing proxy) is noticed by its
 * missing acknowledgements within about `idleTimeoutMs` and redialed; a message in flight then is
 * lost, like any other.
 *
 * Bad input from the network (garbage, a wrong proof, a frame over the limit, bad JSON) closes
 * that connection only. Exceptions thrown by onMessage are not caught: they are the caller's
 * invariant violations. Payloads are JSON — whatever send() is given arrives as JSON.parse of
 * its JSON.stringify — or bytes: a Uint8Array sent while `sendsBinary(to)` arrives as a
 * Uint8Array with the same bytes. onMessage gets either as `unknown`, to be validated by the receiver.
 */
import { lookup } from 'node:dns/promises';
import { createServer, isIP, type Server, type Socket } from 'node:net';
import { assert } from '../core/errors.ts';
import type { Logger } from '../observability/logger.ts';
import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';
import { DEFAULT_MAX_FRAME_BYTES } from './frame-codec.ts';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from './handshake.ts';
import { DEFAULT_PENDING_HANDSHAKES_MAX, DEFAULT_PENDING_HANDSHAKES_PER_SOURCE, sourceOf } from './handshake-limits.ts';
import { InboundLinks } from './inbound-links.ts';
import { OutboundLink, type PeerAddress, type SendOutcome } from './outbound-link.ts';
import { emptyCounters, type PeerCounters, type PeerStats, type TransportStats } from './peer-stats.ts';
import { PeerTls, type PeerTlsOptions } from './peer-tls.ts';

export type { PeerAddress, SendOutcome } from './outbound-link.ts';
export type { PeerStats, TransportStats } from './peer-stats.ts';
export type { PeerTlsOptions } from './peer-tls.ts';

export interface PeerTransportOptions {
  readonly selfId: number;
  /** Port 0 binds any free port; `port` tells which once start() resolves. */
  readonly listen: { readonly host: string; readonly port: number };
  /** Every other member and where to dial it. */
  readonly peers: ReadonlyArray<PeerAddress>;
  /** The cluster secret; '' or undefined for none (then `tls` is required). */
  readonly secret?: string;
  /** Mutual TLS between members; with it, frames are not sealed again (TLS protects them). */
  readonly tls?: PeerTlsOptions;
  readonly logger: Logger;
  readonly onMessage: (from: number, message: unknown) => void;
  /** The newest message layout this member reads, told to the members that dial it; default 1. */
  readonly reads?: number;
  /** The outbound link to `id` came up (send() now writes) or went down. */
  readonly onPeerState?: (id: number, connected: boolean) => void;
  /** Redial delays; default 50 ms doubling to 2 s. */
  readonly backoff?: BackoffOptions;
  /** Largest frame sent or accepted; default 256 MiB. */
  readonly maxFrameBytes?: number;
  /** A peer's socket buffering more than this makes send() drop; default 64 MiB. */
  readonly maxBufferedBytes?: number;
  /** Default 5 s. */
  readonly handshakeTimeoutMs?: number;
  /** Pings and acks go out at this pace; default 1 s. */
  readonly heartbeatIntervalMs?: number;
  /**
   * No acknowledged progress (outbound) or nothing read (inbound) for this long closes a link;
   * default 5 s, at least 3 heartbeats. Counted in heartbeats, so our own event-loop stalls do
   * not count, but a peer stalled this long (a huge JSON.parse) is disconnected and redialed.
   */
  readonly idleTimeoutMs?: number;
  /** Unauthenticated inbound connections at a time from addresses not a member's, at most; default 64. */
  readonly maxPendingHandshakes?: number;
  /** Unauthenticated inbound connections at a time from one address, at most; default 8. */
  readonly maxPendingHandshakesPerSource?: number;
  /** Refused inbound connections are logged as a summary per source this often; default 10 s. */
  readonly refusalLogIntervalMs?: number;
  readonly random?: () => number;
}

const DEFAULT_MAX_BUFFERED_BYTES = 64 * 1024 * 1024;
const DEFAULT_HEARTBEAT_INTERVAL_MS = 1000;
const DEFAULT_IDLE_TIMEOUT_MS = 5000;
const DEFAULT_REFUSAL_LOG_INTERVAL_MS = 10_000;

export class PeerTransport<M = unknown> {
  private readonly options: PeerTransportOptions;
  private readonly counters = new Map<number, PeerCounters>();
  private readonly outbound = new Map<number, OutboundLink>();
  private readonly inbound: InboundLinks;
  private readonly server: Server;
  private readonly heartbeatIntervalMs: number;
  /** What every link is made with. */
  private readonly shared: Omit<ConstructorParameters<typeof OutboundLink>[0], 'peer' | 'counters' | 'maxBufferedBytes' | 'backoff' | 'random' | 'onState'>;
  /** Addresses configured members dial from (IP literals at once, host names once resolved). */
  private readonly memberSources = new Set<string>();
  private boundPort: number | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private listening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: PeerTransportOptions) {
    checkOptions(options);
    this.options = options;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    const idleTicks = Math.ceil((options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS) / this.heartbeatIntervalMs);
    // A ping goes out within a heartbeat and its ack comes back within the next.
    assert(idleTicks >= 3, 'idleTimeoutMs must be at least 3 heartbeat intervals');
    const secret = options.secret === '' ? undefined : options.secret;
    const tls = options.tls === undefined ? undefined : new PeerTls(options.tls);
    const shared = {
      selfId: options.selfId, secret, tls, seal: tls === undefined, logger: options.logger, idleTicks,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    };
    this.shared = shared;
    for (const peer of options.peers) this.link(peer);
    this.inbound = new InboundLinks({
      ...shared, counters: this.counters, onMessage: options.onMessage, reads: options.reads ?? 1,
      maxPendingHandshakes: options.maxPendingHandshakes ?? DEFAULT_PENDING_HANDSHAKES_MAX,
      maxPendingHandshakesPerSource: options.maxPendingHandshakesPerSource ?? DEFAULT_PENDING_HANDSHAKES_PER_SOURCE,
      memberSources: this.memberSources,
      onPeerAuthenticated: (peerId) => this.outbound.get(peerId)?.redialNow(),
      refusalLogTicks: Math.max(1, Math.round((options.refusalLogIntervalMs ?? DEFAULT_REFUSAL_LOG_INTERVAL_MS) / this.heartbeatIntervalMs)),
    });
    for (const peer of options.peers) if (isIP(peer.host) !== 0) this.memberSources.add(sourceOf(peer.host));
    this.server = createServer((socket: Socket) => this.inbound.accept(socket));
  }

  private link(peer: PeerAddress): OutboundLink {
    const { options } = this;
    const counters = emptyCounters();
    this.counters.set(peer.id, counters);
    const link = new OutboundLink({
      ...this.shared, peer, counters,
      maxBufferedBytes: options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
      backoff: options.backoff ?? DEFAULT_BACKOFF, random: options.random ?? Math.random,
      onState: (connected) => options.onPeerState?.(peer.id, connected),
    });
    this.outbound.set(peer.id, link);
    return link;
  }

  /** This member's peer TLS, where a renewed certificate goes (tls/peer-cert-reloader.ts); undefined without TLS. */
  get tls(): PeerTls | undefined {
    return this.shared.tls;
  }

  /** Whether `id` is a peer this transport talks to (configured, or added since). */
  knows(id: number): boolean {
    return this.outbound.has(id);
  }

  /**
   * A member joined (a membership change): dial it, and accept its connections. Its address by
   * IP literal gets a member's handshake slot; by host name, the global limit's (resolved at start only).
   */
  addPeer(peer: PeerAddress): void {
    assert(Number.isSafeInteger(peer.id) && peer.id !== this.options.selfId, `bad peer id ${peer.id}`);
    if (this.outbound.has(peer.id) || this.closing !== undefined) return;
    if (isIP(peer.host) !== 0) this.memberSources.add(sourceOf(peer.host));
    const link = this.link(peer);
    this.inbound.admit(peer.id);
    if (this.ticker !== undefined) link.start();
    this.options.logger.info({ event: 'peer-added', node: this.options.selfId, peer: peer.id, host: peer.host, port: peer.port }, `member ${peer.id} added`);
  }

  /** A member left: its links close, and its connections are refused from now on. */
  removePeer(id: number): void {
    const link = this.outbound.get(id);
    if (!link) return;
    link.stop();
    this.outbound.delete(id);
    this.counters.delete(id);
    this.inbound.forget(id);
    this.options.logger.info({ event: 'peer-removed', node: this.options.selfId, peer: id }, `member ${id} removed`);
  }

  /** The bound listen port, once start() has resolved. */
  get port(): number {
    assert(this.boundPort !== undefined, 'the transport is not listening');
    return this.boundPort;
  }

  /** Listens, then starts dialing every peer. Resolves once listening. */
  async start(): Promise<void> {
    assert(this.listening === undefined && this.closing === undefined, 'a transport starts once');
    const { host, port } = this.options.listen;
    this.listening = this.resolveMemberSources().then(() => this.closing !== undefined ? undefined : new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    }));
    await this.listening;
    if (this.closing !== undefined) return; // closed while binding: close() takes the server down
    // From now on a server error (e.g. out of file descriptors on accept) is logged, not fatal.
    this.server.on('error', (error) => this.options.logger.error({ err: error, event: 'peer-server-error' }, 'peer listener error'));
    const address = this.server.address();
    this.boundPort = typeof address === 'object' && address !== null ? address.port : port;
    this.ticker = setInterval(() => this.tick(), this.heartbeatIntervalMs);
    for (const link of this.outbound.values()) link.start();
    this.options.logger.info({ event: 'peer-transport-listening', node: this.options.selfId, host, port: this.boundPort },
      'peer transport listening');
  }

  /** Writes `message` on the outbound link to `to`, or drops it (see SendOutcome). Never queues. */
  send(to: number, message: M): SendOutcome {
    const link = this.outbound.get(to);
    assert(link !== undefined, `send to unknown member ${to}`);
    return link.send(message);
  }

  /** The link to `to` is up and its peer reads binary frames: send() may be given a Uint8Array. */
  sendsBinary(to: number): boolean {
    return this.outbound.get(to)?.sendsBinary ?? false;
  }

  /** The newest message layout member `to` said it reads on the current link (1 until it says). */
  peerReads(to: number): number {
    return this.outbound.get(to)?.peerReads ?? 1;
  }

  /** The outbound link to `id` is up and authenticated. */
  isConnected(id: number): boolean {
    return this.outbound.get(id)?.connected ?? false;
  }

  stats(): TransportStats {
    const peers: Record<number, PeerStats> = {};
    for (const [id, counters] of this.counters) peers[id] = { ...counters, connected: this.isConnected(id) };
    return { peers, rejectedConnections: this.inbound.rejected, refusedHandshakes: { ...this.inbound.refusals.counts } };
  }

  /** Closes the listener, every connection and timer. Idempotent; resolves when all is down. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.ticker);
    this.ticker = undefined;
    for (const link of this.outbound.values()) link.stop();
    this.inbound.closeAll();
    await this.listening?.catch(() => undefined);
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Members configured by host name: their addresses get member handshake slots (best effort). */
  private async resolveMemberSources(): Promise<void> {
    const names = this.options.peers.map((peer) => peer.host).filter((host) => isIP(host) === 0);
    await Promise.all(names.map(async (name) => {
      try {
        for (const { address } of await lookup(name, { all: true })) this.memberSources.add(sourceOf(address));
      } catch (error) {
        this.options.logger.warn({ err: error, event: 'peer-resolve-failed', host: name }, 'could not resolve a member\'s host; its dials share the global handshake limit');
      }
    }));
  }

  private tick(): void {
    for (const link of this.outbound.values()) link.tick();
    this.inbound.tick();
  }
}

function checkOptions(options: PeerTransportOptions): void {
  assert(Number.isSafeInteger(options.selfId), 'selfId must be an integer');
  assert((options.secret ?? '').length > 0 || options.tls !== undefined, 'members need a cluster secret or mutual TLS');
  for (const [name, value] of Object.entries({
    heartbeatIntervalMs: options.heartbeatIntervalMs, handshakeTimeoutMs: options.handshakeTimeoutMs,
    maxBufferedBytes: options.maxBufferedBytes, maxPendingHandshakes: options.maxPendingHandshakes,
    maxPendingHandshakesPerSource: options.maxPendingHandshakesPerSource, refusalLogIntervalMs: options.refusalLogIntervalMs,
  })) assert(value === undefined || (Number.isFinite(value) && value > 0), `${name} must be positive`);
  const ids = new Set<number>();
  for (const peer of options.peers) {
    assert(Number.isSafeInteger(peer.id) && peer.id !== options.selfId, `bad peer id ${peer.id}`);
    assert(!ids.has(peer.id), `peer ${peer.id} listed twice`);
    ids.add(peer.id);
  }
}
