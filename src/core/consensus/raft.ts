/**
 * The replication core: Raft's mechanics (terms, log matching, pre-vote, check-quorum, quorum
 * commit) giving Zab's guarantees (one leader orders all writes; a write commits once a quorum
 * has it durably; a new leader commits nothing of its term until a quorum has its log, through
 * the empty entry it appends on election). Pure: ticks, messages and proposals in; a Ready out
 * (state and entries to persist, messages to send after persisting — a leader's appends may go
 * before —, durable committed entries to apply, the role when it changed).
 * Randomness (election timeouts) comes from an injected generator.
 *
 * Durability: the leader counts its own entries toward the quorum only once `advance` reports
 * them persisted (as etcd's leader acknowledges its own append after it is stable), so its appends
 * may reach the followers while its disk is still writing them (Raft thesis §10.2.1); and no
 * member hands out a committed entry before it is durable locally.
 *
 * Membership is a ClusterConfig (cluster-config.ts): only voters count toward a quorum; learners
 * (observers) are sent everything a follower is, but are never asked for a vote, never campaign,
 * and their acknowledgements commit nothing. Leadership transfer (thesis §3.10): the leader stops
 * taking proposals, brings the transferee up to date and sends it MsgTimeoutNow; the transferee
 * campaigns at once with a vote voters grant through their lease; the leader gives up after an
 * election timeout.
 *
 * Membership changes (conf-change.ts, membership.ts, thesis §4.1): single-server changes through
 * the log, one at a time, taking effect when appended (conf-history.ts); a leader that removes
 * itself leads until the change commits, then hands over (MsgTimeoutNow) and steps down; a
 * member not among the voters never campaigns.
 *
 * Split by job into a chain of layers, each using those below: raft-state.ts (state, roles,
 * outbox), raft-replication.ts, raft-elections.ts (with leadership transfer),
 * raft-membership.ts, and this file (proposals, reads, the step dispatch, the Ready).
 */
import { assert, assertNever } from '../errors.ts';
import { sameConfig } from './cluster-config.ts';
import { isConfChangeData } from './conf-change.ts';
import type { RaftMessage } from './messages.ts';
import type { Consensus, Entry, ProposeResult, Ready } from './types.ts';
import { RaftMembership } from './raft-membership.ts';

export type { RaftOptions } from './raft-state.ts';

/** The core (its layers: raft-state.ts), with proposals, reads, the step dispatch and the Ready. */
export class Raft extends RaftMembership implements Consensus {
  propose(data: string): ProposeResult {
    assert(!isConfChangeData(data), 'a membership change is proposed with proposeConfChange');
    if (this.role !== 'leader') return { ok: false, leader: this.leader };
    // Entries appended now would race the transferee's election (thesis §3.10): refused until it ends.
    if (this.transferee !== 0) return { ok: false, leader: this.leader, transferring: true };
    const index = this.appendLocal(data);
    // Every proposal of this turn goes out in one append per follower, built at the next Ready.
    this.appendDue = true;
    return { ok: true, term: this.term, index };
  }

  readIndex(context: string): boolean {
    if (this.role === 'leader') {
      this.leaderRead(context, this.id);
      return true;
    }
    if (this.leader === 0) return false;
    this.send({ type: 'MsgReadIndex', from: this.id, to: this.leader, term: this.term, context });
    return true;
  }

  /**
   * The read index is the commit index now, once a quorum confirms we still lead (so no newer
   * leader can have committed more). Until an entry of this term commits, the commit index may
   * lag what earlier leaders acknowledged: such reads wait for it.
   */
  protected override leaderRead(context: string, from: number): void {
    if (this.soleVoter) return this.grantRead({ context, from, index: this.log.committed });
    if (this.log.term(this.log.committed) !== this.term) return this.reads.defer(context, from);
    this.reads.add(context, from, this.log.committed, this.id);
    // One heartbeat round for every read that arrives before the next Ready, not one each.
    this.readRoundDue = true;
  }

  protected override grantRead(read: { context: string; from: number; index: number }): void {
    if (read.from === this.id) this.readStates.push({ context: read.context, index: read.index });
    else this.send({ type: 'MsgReadIndexResp', from: this.id, to: read.from, term: this.term, context: read.context, index: read.index });
  }

  step(message: RaftMessage): void {
    // A request with no term (see TransferLeaderRequest): neither stale nor newer.
    if (message.type === 'MsgTransferLeader') return void this.transferLeader(message.transferee);
    if (message.term > this.term) {
      if (!this.acceptHigherTerm(message)) return;
    } else if (message.term < this.term) {
      this.respondToStale(message);
      return;
    }
    switch (message.type) {
      case 'MsgPreVote':
      case 'MsgVote':
        return this.handleVote(message);
      case 'MsgPreVoteResp':
      case 'MsgVoteResp':
        return this.handleVoteResponse(message.type, message.from, message.granted);
      case 'MsgApp':
        return this.handleAppend(message);
      case 'MsgAppResp':
        return this.handleAppendResponse(message);
      case 'MsgHeartbeat': {
        this.becomeFollower(message.term, message.from);
        this.log.commitTo(Math.min(message.commit, this.log.lastIndex()));
        const context = message.context === undefined ? {} : { context: message.context };
        return this.send({ type: 'MsgHeartbeatResp', from: this.id, to: message.from, term: this.term, ...context });
      }
      case 'MsgHeartbeatResp':
        return this.handleHeartbeatResponse(message.from, message.context);
      case 'MsgReadIndex':
        if (this.role === 'leader') this.leaderRead(message.context, message.from);
        return;
      case 'MsgReadIndexResp':
        if (message.from === this.leader) this.readStates.push({ context: message.context, index: message.index });
        return;
      case 'MsgSnap':
        return this.handleSnapshot(message);
      case 'MsgTimeoutNow':
        // Only a voter stands, and only for the leader it follows (a late one from an old leader is ignored).
        if (!this.learner && this.role !== 'leader' && message.from === this.leader) this.campaign('MsgVote', true);
        return;
      default:
        return assertNever(message);
    }
  }

  hasReady(): boolean {
    const hs = this.hardState();
    const due = (this.readRoundDue || this.appendDue) && this.role === 'leader';
    return this.msgs.length > 0 || this.msgsBeforePersist.length > 0 || this.readStates.length > 0 || due || this.config !== this.reportedConfig ||
      this.log.unstableEntries().length > 0 || this.log.applicableIndex() > this.log.applied ||
      this.log.pendingSnapshot !== undefined || this.softChanged() ||
      hs.term !== this.persisted.term || hs.vote !== this.persisted.vote || hs.commit !== this.persisted.commit;
  }

  ready(): Ready {
    if (this.role === 'leader') {
      if (this.appendDue) this.bcastAppend();
      if (this.readRoundDue) this.bcastHeartbeat(this.reads.lastContext());
    }
    this.appendDue = false;
    this.readRoundDue = false;
    const hs = this.hardState();
    const changed = hs.term !== this.persisted.term || hs.vote !== this.persisted.vote || hs.commit !== this.persisted.commit;
    // Reported once: the next Ready tells only of a later change (etcd's prevSoftSt).
    const softState = this.softChanged() ? this.softState() : undefined;
    if (softState) this.reportedSoft = softState;
    const config = this.config !== this.reportedConfig && !sameConfig(this.config, this.reportedConfig) ? this.config : undefined;
    this.reportedConfig = this.config;
    return {
      ...(softState ? { softState } : {}),
      ...(config ? { config } : {}),
      hardState: changed ? hs : undefined,
      entries: this.log.unstableEntries(),
      messages: [...this.msgs],
      messagesBeforePersist: [...this.msgsBeforePersist],
      committed: this.nextCommitted(),
      snapshot: this.log.pendingSnapshot && { ...this.log.pendingSnapshot },
      readStates: [...this.readStates],
    };
  }

  committedReady(): Ready {
    return { hardState: undefined, entries: [], messages: [], messagesBeforePersist: [], committed: this.nextCommitted(), readStates: [] };
  }

  /** The committed entries a Ready hands to apply, at most maxCommittedPerReady (default 1024). */
  private nextCommitted(): Entry[] {
    return this.log.nextCommitted(this.options.maxCommittedPerReady ?? 1024);
  }

  advance(ready: Ready): void {
    if (ready.hardState) this.persisted = ready.hardState;
    if (ready.snapshot) this.log.snapshotPersisted(ready.snapshot.index);
    const last = ready.entries.at(-1);
    if (last) this.log.stableTo(last.index, last.term);
    const applied = ready.committed.at(-1);
    // A checkpoint restored while this Ready was on its way to disk already moved applied past it.
    if (applied && applied.index > this.log.applied) {
      assert(applied.index <= this.log.durableIndex(), `applied ${applied.index} beyond the durable ${this.log.durableIndex()}`);
      this.log.appliedTo(applied.index);
    }
    this.msgs = this.msgs.slice(ready.messages.length);
    this.msgsBeforePersist = this.msgsBeforePersist.slice(ready.messagesBeforePersist.length);
    this.readStates = this.readStates.slice(ready.readStates.length);
    // The leader's own acknowledgement of what it just persisted (etcd: its MsgAppResp to itself).
    if (this.role === 'leader' && last) {
      const committed = this.log.committed;
      this.maybeCommit();
      // Followers learn a new commit index at once, not at the next heartbeat.
      if (this.log.committed > committed && this.peers.length > 0) this.appendDue = true;
    }
  }
}

export type { Entry };
