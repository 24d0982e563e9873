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
 */
import { assert, assertNever } from '../errors.ts';
import {
  clusterConfig, committedIndex, isMember, isVoter, peersOf, quorumOf, voteResult, votingPeersOf, type ClusterConfig,
} from './cluster-config.ts';
import type { AppendRequest, AppendResponse, RaftMessage, SnapshotRequest, VoteRequest } from './messages.ts';
import { ReadIndexQueue } from './read-index.ts';
import { newProgress, type Progress } from './progress.ts';
import { RaftLog } from './raft-log.ts';
import type { Consensus, Entry, HardState, ProposeResult, ReadState, Ready, Role, SoftState, StableLog, Status } from './types.ts';

export interface RaftOptions {
  readonly id: number;
  /** The voters. */
  readonly members: readonly number[];
  /** Non-voting members (observers): replicated to, never counted. */
  readonly learners?: readonly number[];
  readonly log: StableLog;
  readonly hardState: HardState;
  readonly appliedIndex: number;
  /** Ticks without a leader before an election; randomized in [n, 2n). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** A uniform number in [0, 1): the only source of randomness. */
  readonly random: () => number;
  readonly maxEntriesPerMessage?: number;
  readonly maxCommittedPerReady?: number;
}

export class Raft implements Consensus {
  readonly id: number;
  private readonly config: ClusterConfig;
  /** This member is a learner: it never campaigns (etcd's !promotable). */
  private readonly learner: boolean;
  readonly log: RaftLog;
  private term: number;
  private vote: number;
  private role: Role = 'follower';
  private leader = 0;
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTicks = 0;
  private votes = new Map<number, boolean>();
  private progress = new Map<number, Progress>();
  private msgs: RaftMessage[] = [];
  /** Messages that need nothing of this member's disk: sent while a Ready is persisted. */
  private msgsBeforePersist: RaftMessage[] = [];
  private reads = new ReadIndexQueue();
  private readRoundDue = false;
  /** New entries or a new commit index to send to every follower at the next Ready. */
  private appendDue = false;
  private readStates: ReadState[] = [];
  /** On a leader: the voter leadership is being handed to (0: none); proposals are refused meanwhile. */
  private transferee = 0;
  /**
   * Ticks since the transfer began: its own clock, so that asking for transfers neither delays
   * check-quorum nor extends a transfer already under way (a new target takes over the time left).
   */
  private transferElapsed = 0;
  private persisted: HardState;
  /** The role, leader and term the last Ready reported (or the start): a Ready reports a change. */
  private reportedSoft: SoftState;
  private readonly options: RaftOptions;

  constructor(options: RaftOptions) {
    this.config = clusterConfig(options.members, options.learners);
    assert(isMember(this.config, options.id), `member ${options.id} is not in ${[...this.config.voters, ...this.config.learners].join(',')}`);
    this.options = options;
    this.id = options.id;
    this.learner = !isVoter(this.config, options.id);
    this.log = new RaftLog(options.log, options.appliedIndex);
    this.term = options.hardState.term;
    this.vote = options.hardState.vote;
    this.log.commitTo(Math.max(options.appliedIndex, Math.min(options.hardState.commit, this.log.lastIndex())));
    this.persisted = options.hardState;
    this.reportedSoft = { role: 'follower', leader: 0, term: this.term };
    this.resetElectionTimer();
    // A cluster of one voter elects itself at once.
    if (this.soleVoter) this.campaign('MsgVote');
  }

  /** This member is the only voter: it is the quorum by itself. */
  private get soleVoter(): boolean {
    return this.config.voters.length === 1 && !this.learner;
  }

  private get quorum(): number {
    return quorumOf(this.config);
  }

  /** Everyone the leader replicates to, learners included. */
  private get peers(): number[] {
    return peersOf(this.config, this.id);
  }

  /** The voters and learners (the ProgressTracker's Config). */
  clusterConfig(): ClusterConfig {
    return this.config;
  }

  status(): Status {
    return {
      id: this.id, role: this.role, term: this.term, leader: this.leader, commitIndex: this.log.committed,
      lastIndex: this.log.lastIndex(), appliedIndex: this.log.applied, pendingSnapshot: this.log.pendingSnapshot?.index ?? 0,
      transferee: this.transferee, learner: this.learner,
    };
  }

  /** The leader's view of each follower (for lag metrics). */
  followers(): ReadonlyMap<number, Readonly<Progress>> {
    return this.progress;
  }

  // --- time ---

  tick(): void {
    if (this.role === 'leader') return this.tickLeader();
    if (++this.electionElapsed < this.randomizedElectionTicks) return;
    if (!this.learner) return this.campaign('MsgPreVote');
    // A learner never stands; after a silent election timeout it stops naming a leader it no
    // longer hears from (its reads then fail fast rather than wait on a dead one).
    this.leader = 0;
    this.resetElectionTimer();
  }

  private tickLeader(): void {
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

  private bcastHeartbeat(context: string | undefined): void {
    for (const peer of this.peers) {
      const commit = Math.min(this.progress.get(peer)!.match, this.log.committed);
      this.send({ type: 'MsgHeartbeat', from: this.id, to: peer, term: this.term, commit, ...(context === undefined ? {} : { context }) });
    }
  }

  /** Check-quorum: a leader that has not heard from a quorum in an election timeout steps down. */
  private checkQuorum(): void {
    let active = 1;
    for (const [id, progress] of this.progress) {
      if (progress.recentActive && isVoter(this.config, id)) active++;
      progress.recentActive = false;
    }
    if (active < this.quorum) this.becomeFollower(this.term, 0);
  }

  private resetElectionTimer(): void {
    this.electionElapsed = 0;
    const n = this.options.electionTicks;
    this.randomizedElectionTicks = n + Math.floor(this.options.random() * n);
  }

  // --- roles ---

  private becomeFollower(term: number, leader: number): void {
    if (term > this.term) {
      this.term = term;
      this.vote = 0;
    }
    // Reads waiting for this member's leadership to be confirmed will not be: their callers time out.
    if (this.role === 'leader') this.reads = new ReadIndexQueue();
    this.transferee = 0;
    this.role = 'follower';
    this.leader = leader;
    this.resetElectionTimer();
  }

  /**
   * Pre-vote first (without raising the term, so a partitioned node cannot disrupt), then vote.
   * `transfer`: the leader asked for this election (MsgTimeoutNow); its vote requests say so.
   */
  private campaign(kind: 'MsgPreVote' | 'MsgVote', transfer = false): void {
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

  private tally(): 'won' | 'lost' | 'pending' {
    return voteResult(this.config, this.votes);
  }

  private electionWon(kind: 'MsgPreVote' | 'MsgVote'): void {
    if (kind === 'MsgPreVote') return this.campaign('MsgVote');
    this.role = 'leader';
    this.leader = this.id;
    this.heartbeatElapsed = 0;
    this.electionElapsed = 0;
    this.progress = new Map(this.peers.map((p) => [p, newProgress(this.log.lastIndex())]));
    // The empty entry of the new term: committing it commits every earlier entry (Zab's
    // "a new leader commits nothing until a quorum has its log").
    this.appendLocal('');
    this.bcastAppend();
  }

  // --- proposals ---

  propose(data: string): ProposeResult {
    if (this.role !== 'leader') return { ok: false, leader: this.leader };
    // Entries appended now would race the transferee's election (thesis §3.10): refused until it ends.
    if (this.transferee !== 0) return { ok: false, leader: this.leader, transferring: true };
    const index = this.appendLocal(data);
    // Every proposal of this turn goes out in one append per follower, built at the next Ready.
    this.appendDue = true;
    return { ok: true, term: this.term, index };
  }

  // --- reads (ReadIndex, Raft thesis §6.4) ---

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
  private leaderRead(context: string, from: number): void {
    if (this.soleVoter) return this.grantRead({ context, from, index: this.log.committed });
    if (this.log.term(this.log.committed) !== this.term) return this.reads.defer(context, from);
    this.reads.add(context, from, this.log.committed, this.id);
    // One heartbeat round for every read that arrives before the next Ready, not one each.
    this.readRoundDue = true;
  }

  private grantRead(read: { context: string; from: number; index: number }): void {
    if (read.from === this.id) this.readStates.push({ context: read.context, index: read.index });
    else this.send({ type: 'MsgReadIndexResp', from: this.id, to: read.from, term: this.term, context: read.context, index: read.index });
  }

  // --- leadership transfer (Raft thesis §3.10) ---

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
  private maybeSendTimeoutNow(): boolean {
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

  private appendLocal(data: string): number {
    const index = this.log.lastIndex() + 1;
    this.log.append([{ term: this.term, index, data }]);
    this.maybeCommit();
    return index;
  }

  private bcastAppend(): void {
    for (const peer of this.peers) this.sendAppend(peer);
  }

  private sendAppend(to: number): void {
    const progress = this.progress.get(to)!;
    if (progress.pendingSnapshot > 0) return;
    const prevIndex = progress.next - 1;
    const prevTerm = this.log.term(prevIndex);
    // The entries the follower needs are gone behind a checkpoint: it gets the checkpoint.
    if (prevTerm === undefined) {
      const snapshotIndex = this.log.firstIndex() - 1;
      progress.probing = true;
      progress.pendingSnapshot = snapshotIndex;
      progress.snapshotTicks = 2 * this.options.electionTicks;
      return this.send({ type: 'MsgSnap', from: this.id, to, term: this.term, snapshotIndex, snapshotTerm: this.log.term(snapshotIndex)! });
    }
    const max = this.options.maxEntriesPerMessage ?? 256;
    const entries = progress.probing && progress.match < prevIndex ? [] : this.log.entries(progress.next, this.log.lastIndex() + 1, max);
    this.send({ type: 'MsgApp', from: this.id, to, term: this.term, prevIndex, prevTerm, entries, commit: this.log.committed });
    if (entries.length > 0 && !progress.probing) progress.next = entries[entries.length - 1]!.index + 1;
  }

  /**
   * Commits the highest index a quorum holds durably, if it is of the current term (Raft §5.4.2).
   * The leader's own vote is its durable index, not its last: what it appended counts once persisted.
   */
  private maybeCommit(): void {
    const own = this.log.durableIndex();
    const index = committedIndex(this.config, (voter) => (voter === this.id ? own : this.progress.get(voter)!.match));
    if (index > this.log.committed && this.log.term(index) === this.term) {
      const committed = this.log.committed;
      this.log.commitTo(index);
      assert(this.log.committed > committed && this.log.committed <= this.log.lastIndex(), `commit moved from ${committed} to ${this.log.committed}`);
      for (const { context, from } of this.reads.takeDeferred()) this.leaderRead(context, from);
    }
  }

  // --- messages ---

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

  /** A message from a higher term: follow it, unless it is a (pre-)vote we may ignore. */
  private acceptHigherTerm(message: RaftMessage): boolean {
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

  private respondToStale(message: RaftMessage): void {
    // Tell a stale leader or candidate about the newer term so it steps down.
    if (message.type === 'MsgApp' || message.type === 'MsgHeartbeat') {
      this.send({ type: 'MsgAppResp', from: this.id, to: message.from, term: this.term, index: this.log.lastIndex(), rejected: true });
    } else if (message.type === 'MsgPreVote' || message.type === 'MsgVote') {
      this.send({ type: message.type === 'MsgVote' ? 'MsgVoteResp' : 'MsgPreVoteResp', from: this.id, to: message.from, term: this.term, granted: false });
    }
  }

  private handleVote(message: VoteRequest): void {
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

  private handleVoteResponse(type: 'MsgPreVoteResp' | 'MsgVoteResp', from: number, granted: boolean): void {
    const expected = this.role === 'precandidate' ? 'MsgPreVoteResp' : this.role === 'candidate' ? 'MsgVoteResp' : undefined;
    if (type !== expected) return;
    this.votes.set(from, granted);
    const outcome = this.tally();
    if (outcome === 'won') this.electionWon(type === 'MsgPreVoteResp' ? 'MsgPreVote' : 'MsgVote');
    else if (outcome === 'lost') this.becomeFollower(this.term, 0);
  }

  private handleAppend(message: AppendRequest): void {
    this.becomeFollower(message.term, message.from);
    if (message.prevIndex < this.log.committed) {
      // Already have (and committed) that prefix: answer with our commit point.
      return this.send({ type: 'MsgAppResp', from: this.id, to: message.from, term: this.term, index: this.log.committed, rejected: false });
    }
    const last = this.log.maybeAppend(message.prevIndex, message.prevTerm, message.commit, message.entries);
    if (last !== undefined) {
      this.send({ type: 'MsgAppResp', from: this.id, to: message.from, term: this.term, index: last, rejected: false });
    } else {
      this.send({ type: 'MsgAppResp', from: this.id, to: message.from, term: this.term, index: Math.min(message.prevIndex - 1, this.log.lastIndex()), rejected: true });
    }
  }

  /** The host installed the leader's checkpoint before stepping this: restart the log after it. */
  private handleSnapshot(message: SnapshotRequest): void {
    this.becomeFollower(message.term, message.from);
    if (message.snapshotIndex > this.log.committed) {
      // Our log already holds the checkpoint's last entry (a late or duplicated MsgSnap): keep it,
      // since entries past it may have been acknowledged to the leader and count in its quorum.
      if (this.log.term(message.snapshotIndex) === message.snapshotTerm) this.log.commitTo(message.snapshotIndex);
      else this.log.restore(message.snapshotIndex, message.snapshotTerm);
    }
    this.send({ type: 'MsgAppResp', from: this.id, to: message.from, term: this.term, index: this.log.committed, rejected: false });
  }

  private handleAppendResponse(message: AppendResponse): void {
    const progress = this.role === 'leader' ? this.progress.get(message.from) : undefined;
    if (!progress) return;
    progress.recentActive = true;
    // Any answer says where the follower is now: a checkpoint sent is installed or not needed.
    if (progress.pendingSnapshot > 0 && (message.rejected || message.index >= progress.pendingSnapshot)) progress.pendingSnapshot = 0;
    if (message.rejected) {
      // A late or duplicated rejection about entries the follower is known to hold says nothing new.
      if (message.index < progress.match) return;
      // Log matching failed at next-1: probe further back (the hint is the follower's last index).
      progress.next = Math.max(progress.match + 1, Math.min(progress.next - 1, message.index + 1));
      progress.probing = true;
      return this.sendAppend(message.from);
    }
    progress.next = Math.max(progress.next, message.index + 1);
    if (message.index > progress.match) {
      progress.match = message.index;
      progress.probing = false;
      if (message.from === this.transferee) this.maybeSendTimeoutNow();
      const committed = this.log.committed;
      this.maybeCommit();
      // Tell the followers at once rather than at the next heartbeat.
      if (this.log.committed > committed) {
        this.appendDue = true;
        return;
      }
    }
    if (progress.next <= this.log.lastIndex()) this.sendAppend(message.from);
  }

  private handleHeartbeatResponse(from: number, context: string | undefined): void {
    const progress = this.role === 'leader' ? this.progress.get(from) : undefined;
    if (!progress) return;
    progress.recentActive = true;
    // A learner's answer confirms nothing: the leader may have lost its voters.
    if (context !== undefined && isVoter(this.config, from)) {
      for (const read of this.reads.ack(context, from, this.quorum)) this.grantRead(read);
    }
    if (progress.match < this.log.lastIndex()) this.sendAppend(from);
  }

  private send(message: RaftMessage): void {
    if (this.mayPrecedePersist(message)) this.msgsBeforePersist.push(message);
    else this.msgs.push(message);
  }

  /**
   * A leader's appends, heartbeats, checkpoints and read grants in a term whose vote is durable
   * acknowledge nothing of this member's log (its own entries count only after `advance`): they
   * may go while a Ready is persisted. Answers (acks, votes) wait for the disk.
   */
  private mayPrecedePersist(message: RaftMessage): boolean {
    if (this.role !== 'leader' || this.term !== this.persisted.term || this.vote !== this.persisted.vote) return false;
    const t = message.type;
    return t === 'MsgApp' || t === 'MsgHeartbeat' || t === 'MsgSnap' || t === 'MsgReadIndexResp';
  }

  // --- Ready ---

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  private softState(): SoftState {
    return { role: this.role, leader: this.leader, term: this.term };
  }

  private softChanged(): boolean {
    const r = this.reportedSoft;
    return r.role !== this.role || r.leader !== this.leader || r.term !== this.term;
  }

  hasReady(): boolean {
    const hs = this.hardState();
    const due = (this.readRoundDue || this.appendDue) && this.role === 'leader';
    return this.msgs.length > 0 || this.msgsBeforePersist.length > 0 || this.readStates.length > 0 || due ||
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
    return {
      ...(softState ? { softState } : {}),
      hardState: changed ? hs : undefined,
      entries: this.log.unstableEntries(),
      messages: [...this.msgs],
      messagesBeforePersist: [...this.msgsBeforePersist],
      committed: this.log.nextCommitted(this.options.maxCommittedPerReady ?? 1024),
      snapshot: this.log.pendingSnapshot && { ...this.log.pendingSnapshot },
      readStates: [...this.readStates],
    };
  }

  advance(ready: Ready): void {
    if (ready.hardState) this.persisted = ready.hardState;
    if (ready.snapshot) this.log.snapshotPersisted(ready.snapshot.index);
    const last = ready.entries[ready.entries.length - 1];
    if (last) this.log.stableTo(last.index, last.term);
    const applied = ready.committed[ready.committed.length - 1];
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
