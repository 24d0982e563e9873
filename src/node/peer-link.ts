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
import { decodePeerMessage, encodePeerMessage } from './peer-codec.ts';

export class PeerLink implements Transport {
  private transport: PeerTransport | undefined;
  private host: NodeHost | undefined;
  private readonly connected = new Map<number, boolean>();

  constructor(private readonly config: Config, private readonly logger: Logger) {
    const self = config.members.find((m) => m.id === config.id);
    if (config.members.length <= 1 || !self) return;
    const peers = config.members.filter((m) => m.id !== config.id);
    for (const peer of peers) this.connected.set(peer.id, false);
    this.transport = new PeerTransport({
      selfId: config.id, listen: self.peer, secret: config.clusterSecret, logger,
      peers: peers.map((m) => ({ id: m.id, host: m.peer.host, port: m.peer.port })),
      onMessage: (from, raw) => this.received(from, raw),
      onPeerState: (id, up) => this.connected.set(id, up),
    });
  }

  /** Whether this node has other members to talk to. */
  get clustered(): boolean {
    return this.transport !== undefined;
  }

  peersConnected(): ReadonlyMap<number, boolean> {
    return this.connected;
  }

  send(messages: readonly RaftMessage[]): void {
    for (const message of messages) this.transport?.send(message.to, encodePeerMessage(message));
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
    const message = decodePeerMessage(raw);
    if (!message || message.from !== from || message.to !== this.config.id) {
      this.logger.warn({ event: 'peer-message-dropped', peer: from }, 'dropped a peer message of unknown shape or sender');
      return;
    }
    this.host?.receive(message);
  }
}
