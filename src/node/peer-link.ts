/**
 * Joins a node host to the other members: Raft messages out through the authenticated peer
 * transport (src/transport), messages in decoded, checked against the authenticated sender and
 * stepped.
 */
import type { Config } from '../config.ts';
import type { RaftMessage } from '../core/consensus/messages.ts';
import type { Logger } from '../observability/logger.ts';
import { PeerTransport } from '../transport/peer-transport.ts';
import type { NodeHost, Transport } from './node-host.ts';
import { decodePeerMessage, decodeSessionTouch, encodePeerMessage, type SessionTouch } from './peer-codec.ts';

export class PeerLink implements Transport {
  private transport: PeerTransport | undefined;
  private host: NodeHost | undefined;
  private touchListener: ((sessionIds: readonly number[]) => void) | undefined;

  constructor(private readonly config: Config, private readonly logger: Logger) {
    const self = config.members.find((m) => m.id === config.id);
    if (config.members.length <= 1 || !self) return;
    const peers = config.members.filter((m) => m.id !== config.id);
    this.transport = new PeerTransport({
      selfId: config.id, listen: self.peer, secret: config.clusterSecret, logger,
      peers: peers.map((m) => ({ id: m.id, host: m.peer.host, port: m.peer.port })),
      onMessage: (from, raw) => this.received(from, raw),
    });
  }

  /** Whether this node has other members to talk to. */
  get clustered(): boolean {
    return this.transport !== undefined;
  }

  /** Whether this member's link to each other member is up. */
  peersConnected(): ReadonlyMap<number, boolean> {
    const transport = this.transport;
    const others = this.config.members.filter((m) => m.id !== this.config.id);
    return new Map(others.map((m) => [m.id, transport?.isConnected(m.id) ?? false]));
  }

  send(messages: readonly RaftMessage[]): void {
    for (const message of messages) this.transport?.send(message.to, encodePeerMessage(message));
  }

  /** Tells the leader which sessions this follower heard from. */
  sendTouches(sessionIds: number[]): void {
    const leader = this.host?.status().leader ?? 0;
    if (leader === 0 || leader === this.config.id) return;
    const touch: SessionTouch = { type: 'SessionTouch', from: this.config.id, to: leader, sessions: sessionIds };
    this.transport?.send(leader, touch);
  }

  onTouches(listener: (sessionIds: readonly number[]) => void): void {
    this.touchListener = listener;
  }

  async start(host: NodeHost): Promise<void> {
    this.host = host;
    await this.transport?.start();
  }

  async close(): Promise<void> {
    this.host = undefined;
    await this.transport?.close();
  }

  private received(from: number, raw: unknown): void {
    const touch = decodeSessionTouch(raw);
    if (touch) {
      if (touch.from === from) this.touchListener?.(touch.sessions);
      return;
    }
    const message = decodePeerMessage(raw);
    if (!message || message.from !== from || message.to !== this.config.id) {
      this.logger.warn({ event: 'peer-message-dropped', peer: from }, 'dropped a peer message of unknown shape or sender');
      return;
    }
    this.host?.receive(message);
  }
}
