/**
 * The one way a client's request is ordered, from any member (etcd's stepFollower forwarding
 * MsgProp): on the leader, its own side judges and proposes it (leader-proposals.ts); on a
 * follower that knows the leader, it goes there over the peer link (proposal-forwarder.ts); with
 * no leader known it is refused at once. The pipeline also serves the proposals other members
 * forward here, and answers them over the link.
 *
 * Invariants: every proposal settles by its deadline (CONNECTIONLOSS past it; on the leader at
 * the first tick past it, NodeHost.expireOverdue); a forwarded proposal is proposed at most once
 * here, however often the network delivers it (its id is remembered, bounded); a member that
 * does not lead answers a forwarded one at once.
 */
import type { Role } from '../../core/consensus/types.ts';
import { zkError } from '../../core/errors.ts';
import { OldestFirst } from '../../core/oldest-first.ts';
import type { Logger } from '../../observability/logger.ts';
import type { SendOutcome } from '../../transport/peer-transport.ts';
import type { LeaderSide } from './leader-proposals.ts';
import type { ProposalForwarder } from './proposal-forwarder.ts';
import type { ProposalOutcome, ProposalRequest, Proposer } from './proposal.ts';

/** The peer link as the pipeline uses it (PeerLink; the simulation's network). */
export interface ProposalLink {
  sendProposal(to: number, id: string, request: ProposalRequest): SendOutcome;
  sendAnswer(to: number, id: string, outcome: ProposalOutcome): void;
}

export interface PipelineOptions {
  readonly status: () => { readonly role: Role; readonly leader: number };
  /** The leader's side (LeaderProposals). */
  readonly leader: LeaderSide;
  /** A follower's side; undefined in a cluster of one, which is its own leader. */
  readonly forwarder: ProposalForwarder | undefined;
  /** Where answers to forwarded proposals go; undefined in a cluster of one. */
  readonly link: ProposalLink | undefined;
  readonly logger: Logger;
}

/** Forwarded proposals' ids remembered, at most: past a deadline a redelivery is refused anyway. */
const SERVED_IDS_MAX = 65_536;

const NO_LEADER: ProposalOutcome = { ok: false, error: zkError('CONNECTIONLOSS', 'no leader right now (an election is under way); retry') };

export class Pipeline implements Proposer {
  /** Forwarded proposals taken, by `${from}/${id}`, oldest first. */
  private readonly served = new Set<string>();
  private readonly oldestServed = new OldestFirst(this.served);
  /** Counts for the simulation's summary and the metrics: forwarded here, answered, lost. */
  readonly counts = { forwarded: 0, answered: 0, lost: 0, served: 0, duplicates: 0 };
  private closed = false;

  constructor(private readonly options: PipelineOptions) {}

  propose(request: ProposalRequest): Promise<ProposalOutcome> {
    if (this.closed) return Promise.resolve({ ok: false, error: zkError('CONNECTIONLOSS', 'this member is shutting down; retry') });
    const { forwarder, status } = this.options;
    const { role, leader } = status();
    if (role === 'leader' || forwarder === undefined) return this.options.leader.propose(request);
    if (leader === 0) return Promise.resolve(NO_LEADER);
    this.counts.forwarded++;
    return forwarder.forward(leader, request).then((outcome) => {
      if (outcome.ok || outcome.error.code !== 'CONNECTIONLOSS') this.counts.answered++;
      else this.counts.lost++;
      return outcome;
    });
  }

  /** A proposal member `from` forwarded (the link checked the sender): proposed once, answered over the link. */
  receivedProposal(from: number, id: string, request: ProposalRequest): void {
    const link = this.options.link;
    if (!link || this.closed) return;
    const key = `${from}/${id}`;
    if (this.served.has(key)) {
      this.counts.duplicates++;
      return;
    }
    this.served.add(key);
    if (this.served.size > SERVED_IDS_MAX) this.oldestServed.take();
    this.counts.served++;
    if (this.options.status().role !== 'leader') {
      return link.sendAnswer(from, id, { ok: false, error: zkError('CONNECTIONLOSS', 'this member is not the leader; the request was not applied') });
    }
    this.options.leader.propose(request).then((outcome) => link.sendAnswer(from, id, outcome), (error: unknown) => {
      // The follower's proposal ends with CONNECTIONLOSS at its deadline; the failure is ours to log.
      this.options.logger.error({ err: error, event: 'proposal-failed', peer: from }, 'could not answer a forwarded proposal');
    });
  }

  /** The leader's answer to a proposal of ours. */
  receivedAnswer(from: number, id: string, outcome: ProposalOutcome): void {
    this.options.forwarder?.answered(from, id, outcome);
  }

  linkDown(peer: number): void {
    this.options.forwarder?.linkDown(peer);
  }

  /**
   * Each consensus tick: this member's own proposals past their deadline end (a leader cut off
   * commits nothing until it steps down), and so do those sent to a member that no longer leads.
   */
  tick(): void {
    this.options.leader.expireOverdue();
    this.options.forwarder?.leaderIs(this.options.status().leader);
  }

  close(): void {
    this.closed = true;
    this.options.forwarder?.close();
  }
}
