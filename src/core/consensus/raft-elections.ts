/**
 * Elections and leadership transfer: ticks, check-quorum, pre-vote then vote (with the
 * check-quorum lease), the election restriction, and Raft thesis §3.10's transfer
 * (MsgTimeoutNow). A layer of the core (raft-state.ts).
 */
import { assert } from '../errors.ts';
import { isVoter, voteResult, votingPeersOf } from './cluster-config.ts';
import type { RaftMessage, VoteRequest } from './messages.ts';
import { newProgress } from './progress.ts';
import { RaftReplication } from './raft-replication.ts';

export abstract class RaftElections extends RaftReplication {
  tick(): void {
    if (this.role === 'leader') return this.tickLeader();
    if (++this.electionElapsed < this.randomizedElectionTicks) return;
    if (!this.learner) return this.campaign('MsgPreVote');
    // A learner never stands; after a silent election timeout it stops naming a leader it no
    // longer hears from (its reads then fail fast rather than wait on a dead one).
    this.leader = 0;
    this.resetElectionTimer();
  }

  protected tickLeader(): void {
    this.leaderTicks++;
    for (const progress of this.progress.values()) {
      // No answer to a checkpoint in a while (lost, or the follower restarted): send again.
      if (progress.pendingSnapshot > 0 && --progress.snapshotTicks <= 0) progress.pendingSnapshot = 0;
    }
    if (++this.heartbeatElapsed >= this.options.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat(this.reads.lastContext());
    }
    // A transfer that did not finish in an election timeout is abandoned: proposals resume.
    if (this.transferee !== 0 && ++this.transferElapsed >= this.options.electionTicks) this.transferee = 0;
    if (++this.electionElapsed >= this.options.electionTicks) {
      this.electionElapsed = 0;
      this.checkQuorum();
    }
  }

  /** Check-quorum: a leader that has not heard from a quorum in an election timeout steps down. */
  protected checkQuorum(): void {
    // A leader removing itself counts no vote of its own.
    let active = isVoter(this.config, this.id) ? 1 : 0;
    for (const [id, progress] of this.progress) {
      if (progress.recentActive && isVoter(this.config, id)) active++;
      progress.recentActive = false;
    }
    if (active < this.quorum) this.becomeFollower(this.term, 0);
  }

  /**
   * Pre-vote first (without raising the term, so a partitioned node cannot disrupt), then vote.
   * `transfer`: the leader asked for this election (MsgTimeoutNow); its vote requests say so.
   */
  protected override campaign(kind: 'MsgPreVote' | 'MsgVote', transfer = false): void {
    assert(!this.learner, `learner ${this.id} campaigned`);
    if (kind === 'MsgPreVote' && !this.soleVoter) {
      this.role = 'precandidate';
    } else {
      this.role = 'candidate';
      this.term++;
      this.vote = this.id;
    }
    this.leader = 0;
    this.resetElectionTimer();
    this.votes = new Map([[this.id, true]]);
    if (this.tally() === 'won') return this.electionWon(kind);
    const term = kind === 'MsgPreVote' ? this.term + 1 : this.term;
    const flag = transfer ? { transfer: true as const } : {};
    for (const peer of votingPeersOf(this.config, this.id)) {
      this.send({ type: kind, from: this.id, to: peer, term, lastIndex: this.log.lastIndex(), lastTerm: this.log.lastTerm(), ...flag });
    }
  }

  protected tally(): 'won' | 'lost' | 'pending' {
    return voteResult(this.config, this.votes);
  }

  protected electionWon(kind: 'MsgPreVote' | 'MsgVote'): void {
    if (kind === 'MsgPreVote') return this.campaign('MsgVote');
    this.role = 'leader';
    this.leader = this.id;
    this.heartbeatElapsed = 0;
    this.electionElapsed = 0;
    this.progress = new Map(this.peers.map((p) => [p, newProgress(this.log.lastIndex(), -Infinity)]));
    // The empty entry of the new term: committing it commits every earlier entry (Zab's
    // "a new leader commits nothing until a quorum has its log").
    this.appendLocal('');
    this.bcastAppend();
  }

  /** A message from a higher term: follow it, unless it is a (pre-)vote we may ignore. */
  protected acceptHigherTerm(message: RaftMessage): boolean {
    const isVote = message.type === 'MsgVote' || message.type === 'MsgPreVote';
    // Check-quorum lease: while we hear from a leader, a vote request does not disturb us, unless
    // that leader asked for the election (a transfer).
    const transfer = message.type === 'MsgVote' && message.transfer === true;
    if (isVote && !transfer && this.leader !== 0 && this.electionElapsed < this.options.electionTicks) return false;
    if (message.type === 'MsgPreVote') return true; // a pre-vote never changes our term
    if (message.type === 'MsgPreVoteResp' && message.granted) return true;
    const leader = message.type === 'MsgApp' || message.type === 'MsgHeartbeat' ? message.from : 0;
    this.becomeFollower(message.term, leader);
    return true;
  }

  protected respondToStale(message: RaftMessage): void {
    // Tell a stale leader or candidate about the newer term so it steps down.
    if (message.type === 'MsgApp' || message.type === 'MsgHeartbeat') {
      this.send({ type: 'MsgAppResp', from: this.id, to: message.from, term: this.term, index: this.log.lastIndex(), rejected: true });
    } else if (message.type === 'MsgPreVote' || message.type === 'MsgVote') {
      this.send({ type: message.type === 'MsgVote' ? 'MsgVoteResp' : 'MsgPreVoteResp', from: this.id, to: message.from, term: this.term, granted: false });
    }
  }

  protected handleVote(message: VoteRequest): void {
    const preVote = message.type === 'MsgPreVote';
    const canVote = preVote
      ? message.term > this.term || this.leader === 0
      : this.vote === 0 || this.vote === message.from;
    const granted = canVote && this.log.isUpToDate(message.lastIndex, message.lastTerm);
    if (granted && !preVote) {
      this.vote = message.from;
      this.resetElectionTimer();
    }
    const type = preVote ? 'MsgPreVoteResp' : 'MsgVoteResp';
    this.send({ type, from: this.id, to: message.from, term: preVote && granted ? message.term : this.term, granted });
  }

  protected handleVoteResponse(type: 'MsgPreVoteResp' | 'MsgVoteResp', from: number, granted: boolean): void {
    const expected = this.role === 'precandidate' ? 'MsgPreVoteResp' : this.role === 'candidate' ? 'MsgVoteResp' : undefined;
    if (type !== expected) return;
    this.votes.set(from, granted);
    const outcome = this.tally();
    if (outcome === 'won') this.electionWon(type === 'MsgPreVoteResp' ? 'MsgPreVote' : 'MsgVote');
    else if (outcome === 'lost') this.becomeFollower(this.term, 0);
  }

  transferLeader(to: number): boolean {
    if (this.role !== 'leader') {
      if (this.leader === 0) return false;
      this.send({ type: 'MsgTransferLeader', from: this.id, to: this.leader, term: 0, transferee: to });
      return true;
    }
    // 0: whoever is furthest along (an operator's "anyone", forwarded by a follower that cannot know).
    if (to === 0) to = this.mostCaughtUpVoter();
    // To itself, or to a member that may not lead: nothing to do (the caller checks and says so).
    if (to === this.id || !isVoter(this.config, to) || this.transferee === to) return true;
    // The transfer has one election timeout to finish (tickLeader gives it up then).
    if (this.transferee === 0) this.transferElapsed = 0;
    this.transferee = to;
    if (!this.maybeSendTimeoutNow()) this.sendAppend(to);
    return true;
  }

  /** Once the transferee holds the leader's whole log, it may campaign: tell it to now. */
  protected override maybeSendTimeoutNow(): boolean {
    const progress = this.progress.get(this.transferee);
    if (progress?.match !== this.log.lastIndex()) return false;
    this.send({ type: 'MsgTimeoutNow', from: this.id, to: this.transferee, term: this.term });
    return true;
  }

  /**
   * On a leader: the voter whose log is furthest along (the first of the equals heard from
   * lately, then the lowest id), which a transfer reaches soonest; 0 when there is none.
   */
  mostCaughtUpVoter(): number {
    if (this.role !== 'leader') return 0;
    let best = 0;
    let bestKey = -1;
    for (const voter of votingPeersOf(this.config, this.id)) {
      const progress = this.progress.get(voter);
      if (!progress) continue;
      const key = progress.match * 2 + (progress.recentActive ? 1 : 0);
      if (key > bestKey) [best, bestKey] = [voter, key];
    }
    return best;
  }
}
