/**
 * The replication core's state and what every layer shares (raft.ts describes the whole): the
 * persistent and volatile state, the configuration in force (conf-history.ts), the role
 * transitions every layer makes, and the outbox. The core is split by job into a chain of
 * classes — this state, replication (raft-replication.ts), elections and leadership transfer
 * (raft-elections.ts), membership changes (raft-membership.ts), then reads, proposals, the
 * step dispatch and the Ready (raft.ts) — each layer using the ones below it and declaring here,
 * abstract, the few it calls above it.
 */
import { clusterConfig, isVoter, peersOf, quorumOf, type ClusterConfig, type MemberAddress } from './cluster-config.ts';
import { ConfHistory } from './conf-history.ts';
import type { RaftMessage } from './messages.ts';
import { ReadIndexQueue } from './read-index.ts';
import type { Progress } from './progress.ts';
import { RaftLog } from './raft-log.ts';
import type { Entry, HardState, ReadState, Ready, Role, SoftState, StableLog, Status } from './types.ts';

/**
 * `members`, `learners` and `addresses` are the configuration as of the log's start (a
 * checkpoint's, or the cluster's first); the change entries in the log are replayed over it.
 */
export interface RaftOptions {
  readonly id: number;
  /** The voters. */
  readonly members: readonly number[];
  /** Non-voting members (observers): replicated to, never counted. */
  readonly learners?: readonly number[];
  /** The members' addresses, carried in the configuration (opaque here). */
  readonly addresses?: Readonly<Record<string, MemberAddress>>;
  /** How far behind the leader's log (entries) a learner may be and still be promoted; default 1000. */
  readonly promoteLagMax?: number;
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

export abstract class RaftState {
  readonly id: number;

  /** The configuration at every point of the log; the latest one in force. */
  protected readonly confs: ConfHistory;

  /** The configuration the last Ready reported (or the start's). */
  protected reportedConfig: ClusterConfig;

  /** Ticks this member has led for: when each follower was last heard from is measured in them. */
  protected leaderTicks = 0;

  readonly log: RaftLog;

  protected term: number;

  protected vote: number;

  protected role: Role = 'follower';

  protected leader = 0;

  protected electionElapsed = 0;

  protected heartbeatElapsed = 0;

  protected randomizedElectionTicks = 0;

  protected votes = new Map<number, boolean>();

  protected progress = new Map<number, Progress>();

  protected msgs: RaftMessage[] = [];

  /** Messages that need nothing of this member's disk: sent while a Ready is persisted. */
  protected msgsBeforePersist: RaftMessage[] = [];

  protected reads = new ReadIndexQueue();

  protected readRoundDue = false;

  /** New entries or a new commit index to send to every follower at the next Ready. */
  protected appendDue = false;

  protected readStates: ReadState[] = [];

  /** On a leader: the voter leadership is being handed to (0: none); proposals are refused meanwhile. */
  protected transferee = 0;

  /**
   * Ticks since the transfer began: its own clock, so that asking for transfers neither delays
   * check-quorum nor extends a transfer already under way (a new target takes over the time left).
   */
  protected transferElapsed = 0;

  protected persisted: HardState;

  /** The role, leader and term the last Ready reported (or the start): a Ready reports a change. */
  protected reportedSoft: SoftState;

  protected readonly options: RaftOptions;

  constructor(options: RaftOptions) {
    // A member not in the configuration (removed, or not yet added) is allowed: it never campaigns.
    this.confs = ConfHistory.scan(options.log, clusterConfig(options.members, options.learners, options.addresses));
    this.reportedConfig = this.confs.current();
    this.options = options;
    this.id = options.id;
    this.log = new RaftLog(options.log, options.appliedIndex);
    this.log.onAppend = (entries) => this.appended(entries);
    this.term = options.hardState.term;
    this.vote = options.hardState.vote;
    this.log.commitTo(Math.max(options.appliedIndex, Math.min(options.hardState.commit, this.log.lastIndex())));
    this.persisted = options.hardState;
    this.reportedSoft = { role: 'follower', leader: 0, term: this.term };
    this.resetElectionTimer();
    // A cluster of one voter elects itself at once.
    if (this.soleVoter) this.campaign('MsgVote');
  }

  /** The configuration in force: the latest in the log, committed or not. */
  protected get config(): ClusterConfig {
    return this.confs.current();
  }

  /**
   * May not stand (etcd's !promotable): not a voter in the configuration in force, and not in the
   * committed one either. A member whose removal is appended but uncommitted still may: the
   * others may need its vote (its log is ahead of theirs), and as leader it commits the removal,
   * then steps down.
   */
  protected get learner(): boolean {
    return !isVoter(this.config, this.id) && !isVoter(this.confs.at(this.log.committed), this.id);
  }

  /** This member is the only voter: it is the quorum by itself. */
  protected get soleVoter(): boolean {
    return this.config.voters.length === 1 && this.config.voters[0] === this.id;
  }

  protected get quorum(): number {
    return quorumOf(this.config);
  }

  /**
   * Everyone the leader replicates to, learners included; while a removal is uncommitted, the
   * member removed too, so that it learns of its removal (and stops standing) from the log.
   */
  protected get peers(): number[] {
    const peers = peersOf(this.config, this.id);
    if (this.confs.lastChangeIndex() <= this.log.committed) return peers;
    for (const id of peersOf(this.confs.at(this.log.committed), this.id)) if (!peers.includes(id)) peers.push(id);
    return peers;
  }

  /** The voters and learners (the ProgressTracker's Config). */
  clusterConfig(): ClusterConfig {
    return this.config;
  }

  /** The configuration as of log index `index` (what a checkpoint there holds). */
  configAt(index: number): ClusterConfig {
    return this.confs.at(index);
  }

  /** On a leader: whether member `id` answered within the last election timeout. */
  recentlyActive(id: number): boolean {
    return this.heardWithin(id, this.options.electionTicks);
  }

  /**
   * On a leader: whether member `id` answered one of the last two heartbeats (one may still be in
   * flight). A removal counts only such voters: a voter that died a moment ago is still "recently
   * active" for up to an election timeout, and counting it could leave a configuration without a
   * live quorum.
   */
  answersHeartbeats(id: number): boolean {
    return this.heardWithin(id, Math.min(2 * this.options.heartbeatTicks + 1, this.options.electionTicks));
  }

  private heardWithin(id: number, ticks: number): boolean {
    const progress = this.progress.get(id);
    return this.role === 'leader' && progress !== undefined && this.leaderTicks - progress.heardAt < ticks;
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

  protected resetElectionTimer(): void {
    this.electionElapsed = 0;
    const n = this.options.electionTicks;
    this.randomizedElectionTicks = n + Math.floor(this.options.random() * n);
  }

  protected becomeFollower(term: number, leader: number): void {
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

  protected send(message: RaftMessage): void {
    if (this.mayPrecedePersist(message)) this.msgsBeforePersist.push(message);
    else this.msgs.push(message);
  }

  /**
   * A leader's appends, heartbeats, checkpoints and read grants in a term whose vote is durable
   * acknowledge nothing of this member's log (its own entries count only after `advance`): they
   * may go while a Ready is persisted. Answers (acks, votes) wait for the disk.
   */
  protected mayPrecedePersist(message: RaftMessage): boolean {
    if (this.role !== 'leader' || this.term !== this.persisted.term || this.vote !== this.persisted.vote) return false;
    const t = message.type;
    return t === 'MsgApp' || t === 'MsgHeartbeat' || t === 'MsgSnap' || t === 'MsgReadIndexResp';
  }

  protected hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  protected softState(): SoftState {
    return { role: this.role, leader: this.leader, term: this.term };
  }

  protected softChanged(): boolean {
    const r = this.reportedSoft;
    return r.role !== this.role || r.leader !== this.leader || r.term !== this.term;
  }

  // --- implemented by the layers above (elections, membership, reads) ---

  protected abstract campaign(kind: 'MsgPreVote' | 'MsgVote', transfer?: boolean): void;
  protected abstract appended(entries: readonly Entry[]): void;
  protected abstract leaderRead(context: string, from: number): void;
  protected abstract grantRead(read: { context: string; from: number; index: number }): void;
  protected abstract trackPeers(): void;
  protected abstract maybeLeaveAfterRemoval(): void;
  protected abstract maybeSendTimeoutNow(): boolean;
}
