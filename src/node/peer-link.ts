/**
 * Joins a node host to the other members: Raft messages out through the authenticated peer
 * transport (src/transport), messages in decoded, checked against the authenticated sender and
 * stepped. Proposals a follower forwards to the leader (src/node/pipeline/), and the leader's
 * answers, ride the same links.
 * Each message goes as binary (peer-wire.ts), but checkpoints as JSON. Members authenticate each
 * other with the cluster secret (every frame then sealed), mutual TLS (--peer-tls-*), or both.
 */
import { readFileSync } from 'node:fs';
import { Counter, type Registry } from 'prom-client';
import { ConfigError, type Config } from '../config.ts';
import type { RaftMessage } from '../core/consensus/messages.ts';
import type { Logger } from '../observability/logger.ts';
import { PeerTransport, type PeerTlsOptions } from '../transport/peer-transport.ts';
import { REFUSAL_REASONS } from '../transport/handshake-limits.ts';
import type { SecureContextTarget } from '../tls/cert-reloader.ts';
import type { NodeHost, Transport } from './node-host.ts';
import { decodePeerMessage, decodeSessionTouch, encodePeerMessage, type SessionTouch } from './peer-codec.ts';
import { decodeWire, encodeAnswerWire, encodeProposalWire, encodeRaftWire, PeerWireError, PROPOSAL_LAYOUT } from './peer-wire.ts';
import type { ProposalLink } from './pipeline/pipeline.ts';
import {
  ANSWER_TYPE, decodeAnswerJson, decodeProposalJson, encodeAnswerJson, encodeProposalJson, PROPOSAL_TYPE, type ProposalAnswer, type ProposalMessage,
} from './pipeline/proposal-codec.ts';
import type { ProposalOutcome, ProposalRequest } from './pipeline/proposal.ts';
import { MalformedProposal } from './pipeline/proposal-values.ts';
import type { SendOutcome } from '../transport/peer-transport.ts';

/** Where proposals and answers from other members go (the Pipeline). */
export interface ProposalEndpoint {
  receivedProposal(from: number, id: string, request: ProposalRequest): void;
  receivedAnswer(from: number, id: string, outcome: ProposalOutcome): void;
  linkDown(peer: number): void;
}

export class PeerLink implements Transport, ProposalLink {
  private transport: PeerTransport | undefined;
  private host: NodeHost | undefined;
  private touchListener: ((sessionIds: readonly number[]) => void) | undefined;
  private proposals: ProposalEndpoint | undefined;
  /** The members this one has links to. */
  private readonly linked = new Set<number>();

  constructor(private readonly config: Config, private readonly logger: Logger) {
    const self = config.members.find((m) => m.id === config.id);
    if (config.members.length <= 1 || !self) return;
    const peers = config.members.filter((m) => m.id !== config.id);
    for (const m of peers) this.linked.add(m.id);
    this.transport = new PeerTransport({
      selfId: config.id, listen: self.peer, secret: config.clusterSecret, tls: peerTlsOf(config), logger,
      peers: peers.map((m) => ({ id: m.id, host: m.peer.host, port: m.peer.port })),
      onMessage: (from, raw) => this.received(from, raw), reads: PROPOSAL_LAYOUT,
      onPeerState: (id, connected) => {
        if (!connected) this.proposals?.linkDown(id);
      },
    });
  }

  /** Where a renewed peer certificate goes (tls/peer-cert-reloader.ts); undefined without peer TLS. */
  get tlsTarget(): SecureContextTarget | undefined {
    return this.transport?.tls;
  }

  /** Refused peer handshakes (by reason) and links closed on a frame that failed authentication. */
  watchMetrics(registry: Registry): void {
    const transport = this.transport;
    if (!transport) return;
    new Counter({
      name: 'corral_peer_handshakes_refused_total', help: 'Inbound peer connections closed before authenticating, by reason',
      labelNames: ['reason'] as const, registers: [registry],
      collect() {
        const counts = transport.stats().refusedHandshakes;
        this.reset();
        for (const reason of REFUSAL_REASONS) this.inc({ reason }, counts[reason]);
      },
    });
    new Counter({
      name: 'corral_peer_frames_rejected_total', help: 'Peer links closed because a frame failed authentication (injected, replayed, altered)',
      labelNames: ['peer'] as const, registers: [registry],
      collect() {
        this.reset();
        for (const [peer, stats] of Object.entries(transport.stats().peers)) this.inc({ peer }, stats.framesRejected);
      },
    });
  }

  /** Whether this node has other members to talk to. */
  get clustered(): boolean {
    return this.transport !== undefined;
  }

  /** Whether this member's link to each other member is up (the members it has links to: configured, or added since). */
  peersConnected(): ReadonlyMap<number, boolean> {
    const others = [...this.linked].filter((id) => id !== this.config.id);
    return new Map(others.map((id) => [id, this.connectedTo(id)]));
  }

  /** Whether this member's link to member `id` is up (what a forward to it needs). */
  connectedTo(id: number): boolean {
    return this.transport?.isConnected(id) ?? false;
  }

  /** A member joined: links to it are made (and its connections accepted). No-op for a single node. */
  addPeer(id: number, peer: { readonly host: string; readonly port: number }): void {
    if (!this.transport || id === this.config.id) return;
    this.transport.addPeer({ id, host: peer.host, port: peer.port });
    this.linked.add(id);
  }

  /** A member left: its links are closed and its connections refused. */
  removePeer(id: number): void {
    this.transport?.removePeer(id);
    this.linked.delete(id);
  }

  send(messages: readonly RaftMessage[]): void {
    const transport = this.transport;
    if (!transport) return;
    for (const message of messages) {
      // A member removed meanwhile (its link closed): Raft treats it as a lost message.
      if (!transport.knows(message.to)) continue;
      const bytes = transport.sendsBinary(message.to) ? encodeRaftWire(message) : undefined;
      transport.send(message.to, bytes ?? encodePeerMessage(message));
    }
  }

  /** Tells the leader which sessions this follower heard from. */
  sendTouches(sessionIds: number[]): void {
    const leader = this.host?.status().leader ?? 0;
    if (leader === 0 || leader === this.config.id || this.transport?.knows(leader) !== true) return;
    const touch: SessionTouch = { type: 'SessionTouch', from: this.config.id, to: leader, sessions: sessionIds };
    this.transport?.send(leader, touch);
  }

  /** Proposals and answers from other members go to `endpoint` from now on. */
  serveProposals(endpoint: ProposalEndpoint): void {
    this.proposals = endpoint;
  }

  /** Puts a proposal for the leader `to` on the link (as bytes to a member that reads them). */
  sendProposal(to: number, id: string, request: ProposalRequest): SendOutcome {
    const transport = this.transport;
    if (!transport?.knows(to)) return 'disconnected';
    const message: ProposalMessage = { from: this.config.id, to, id, request };
    return transport.send(to, transport.sendsBinary(to) ? encodeProposalWire(message, transport.peerReads(to)) : encodeProposalJson(message));
  }

  /** Answers member `to`'s proposal `id`; a lost answer ends that proposal at its deadline there. */
  sendAnswer(to: number, id: string, outcome: ProposalOutcome): void {
    const transport = this.transport;
    if (!transport?.knows(to)) return;
    const message: ProposalAnswer = { from: this.config.id, to, id, outcome };
    const sent = transport.send(to, transport.sendsBinary(to) ? encodeAnswerWire(message, transport.peerReads(to)) : encodeAnswerJson(message));
    if (sent !== 'sent') this.logger.warn({ event: 'proposal-answer-dropped', peer: to, id, reason: sent }, 'could not send a proposal\'s answer');
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

  /** The transport's statistics (undefined for a single node). */
  stats(): ReturnType<PeerTransport['stats']> | undefined {
    return this.transport?.stats();
  }

  private received(from: number, raw: unknown): void {
    if (raw instanceof Uint8Array) return this.receivedWire(from, raw);
    const type = (raw as { type?: unknown } | null)?.type;
    if (type === PROPOSAL_TYPE) return this.receivedProposal(from, decodeProposalJson(raw));
    if (type === ANSWER_TYPE) return this.receivedAnswer(from, decodeAnswerJson(raw));
    const touch = decodeSessionTouch(raw);
    if (touch) {
      if (touch.from === from) this.touchListener?.(touch.sessions);
      return;
    }
    this.receivedRaft(from, decodePeerMessage(raw));
  }

  private receivedWire(from: number, bytes: Uint8Array): void {
    const decoded = decodeWire(bytes);
    if (decoded instanceof PeerWireError) {
      this.logger.warn({ event: 'peer-message-dropped', peer: from, reason: decoded.message }, 'dropped a binary peer message');
      return;
    }
    if (decoded.kind === 'raft') return this.receivedRaft(from, decoded.message);
    if (decoded.kind === 'Proposal') return this.receivedProposal(from, decoded);
    this.receivedAnswer(from, decoded);
  }

  /** A follower's proposal, checked against the authenticated sender, for the pipeline. */
  private receivedProposal(from: number, message: ProposalMessage | MalformedProposal): void {
    if (message instanceof MalformedProposal || message.from !== from || message.to !== this.config.id) {
      const reason = message instanceof MalformedProposal ? message.message : 'wrong sender or recipient';
      this.logger.warn({ event: 'proposal-dropped', peer: from, reason }, 'dropped a forwarded proposal of unknown shape or sender');
      return;
    }
    this.proposals?.receivedProposal(from, message.id, message.request);
  }

  private receivedAnswer(from: number, message: ProposalAnswer | MalformedProposal): void {
    if (message instanceof MalformedProposal || message.from !== from || message.to !== this.config.id) {
      const reason = message instanceof MalformedProposal ? message.message : 'wrong sender or recipient';
      this.logger.warn({ event: 'proposal-answer-dropped', peer: from, reason }, 'dropped a proposal\'s answer of unknown shape or sender');
      return;
    }
    this.proposals?.receivedAnswer(from, message.id, message.outcome);
  }

  private receivedRaft(from: number, message: RaftMessage | undefined): void {
    if (!message || message.from !== from || message.to !== this.config.id) {
      this.logger.warn({ event: 'peer-message-dropped', peer: from }, 'dropped a peer message of unknown shape or sender');
      return;
    }
    this.host?.receive(message);
  }
}

/** The PEM files of --peer-tls-*, read once at start; undefined when peer TLS is off. */
function peerTlsOf(config: Config): PeerTlsOptions | undefined {
  if (config.peerTlsCert === '') return undefined;
  const read = (path: string, flag: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new ConfigError(`--${flag} ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  };
  return { cert: read(config.peerTlsCert, 'peer-tls-cert'), key: read(config.peerTlsKey, 'peer-tls-key'), ca: read(config.peerTlsCa, 'peer-tls-ca') };
}
