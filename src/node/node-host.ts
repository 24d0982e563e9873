/**
 * The host loop around the consensus core (etcd-raft's pattern, its example_test.go): take a
 * Ready, write its state and entries (one SQLite transaction: group commit), send what may go
 * before they are durable, apply its committed entries to the tree in order (the core hands out
 * only entries durable here) through the appliers, answer the waiting requests, note a role
 * change; then, once the writes are synced, send the rest and advance. Every change to the tree,
 * client write or server cleanup, goes through here.
 *
 * Invariants (asserted): the applied index grows by one per entry; no entry applied is among
 * those the Ready being handled is writing; the commit index never moves back.
 */
import type { Consensus, Entry, HardState, LogStore, RaftMessage, Ready, Role, SoftState } from '../core/consensus/types.ts';
import type { ClusterConfig } from '../core/consensus/cluster-config.ts';
import type { ConfChange } from '../core/consensus/conf-change.ts';
import type { ConfChangeRefusal } from '../core/consensus/membership.ts';
import { zxidOf } from '../core/consensus/zxid.ts';
import { assert, zkError, type ZkError } from '../core/errors.ts';
import { DataTree } from '../core/tree/data-tree.ts';
import type { ApplyOutput } from '../core/tree/results.ts';
import type { TxnEnvelope } from '../core/tree/txn.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Applier } from './applier.ts';
import type { CheckpointSource } from './checkpoints.ts';
import { CheckpointExchange } from './checkpoint-exchange.ts';
import { PendingReads } from './pending-reads.ts';
import { decodeTxn, encodeTxn } from './txn-codec.ts';
import { ZxidTimeoutError, ZxidWaiters } from './zxid-waiters.ts';

export interface Committed {
  readonly zxid: number;
  readonly result: ApplyOutput['result'];
}

/** A request that could not be ordered (no leader, shutting down): the client may retry. */
export class NotCommittedError extends Error {
  constructor(readonly error: ZkError) {
    super(error.message);
  }
}

/** A membership change committed and applied here, at log index `index`. */
export interface MembershipChanged {
  readonly ok: true;
  readonly index: number;
  readonly zxid: number;
}

const NOOP_ENVELOPE: TxnEnvelope = { timeMs: 0, txn: { type: 'noop' } };

interface Waiter {
  readonly term: number;
  readonly envelope: TxnEnvelope;
  /** Past it, expireOverdue answers CONNECTIONLOSS (Infinity: no deadline). */
  readonly deadlineMs: number;
  resolve(value: Committed): void;
  reject(error: NotCommittedError): void;
}

/** Carries messages to the other members (real sockets, or a simulated network). */
export interface Transport {
  send(messages: readonly RaftMessage[]): void;
}

export interface NodeHostOptions {
  readonly consensus: Consensus;
  readonly log: LogStore;
  readonly tree: DataTree;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Entries proposed but not yet applied, at most; past it writes answer THROTTLEDOP. */
  readonly maxPendingWrites: number;
  /** Needed once there are other members; a cluster of one sends nothing. */
  readonly transport?: Transport;
  /** Runs the loop later; setImmediate by default (group commit), the simulator's queue in tests. */
  readonly schedule?: (run: () => void) => void;
  /** Where checkpoints for followers that fell behind come from, and ours from the leader go. */
  readonly checkpoints?: CheckpointSource;
  /**
   * Sync the log with LogStore.sync, off the loop, taking requests meanwhile (a served node);
   * otherwise with syncNow, on the loop (hosts driven step by step, as in tests).
   */
  readonly overlapSync?: boolean;
}

export class NodeHost {
  private currentTree: DataTree;
  private readonly consensus: Consensus;
  private readonly log: LogStore;
  private readonly metrics: Metrics;
  private readonly logger: Logger;
  private readonly maxPending: number;
  private readonly waiters = new Map<number, Waiter>();
  private readonly applied = new ZxidWaiters();
  /** Linearizable reads waiting for their index to be applied (keyed by log index, not zxid). */
  private readonly appliedIndex = new ZxidWaiters();
  private readonly reads = new PendingReads();
  /** What follows every applied transaction, in order (setAppliers). */
  private appliers: readonly Applier[] = [];
  private appliersSet = false;
  /** The log index of the last entry applied (or installed with a checkpoint). */
  private appliedIndexNow: number;
  /** The highest commit index a Ready reported: it never moves back. */
  private commitSeen: number;
  /** Checkpoints to and from the other members (MsgSnap). */
  private readonly exchange: CheckpointExchange;
  private readonly transport: Transport | undefined;
  private readonly scheduleRun: (run: () => void) => void;
  private readonly overlapSync: boolean;
  /** The hard state last written: whether the next one changes term or vote. */
  private synced: HardState;
  /** Told of every configuration change, before the messages of its Ready go out (new members are dialed first). */
  private configListener: ((config: ClusterConfig) => void) | undefined;
  /** The role the appliers were last told of (none yet: a follower). */
  private role: Role = 'follower';
  /** The term `role` was told in. */
  private roleTerm = 0;
  private scheduled = false;
  /** A Ready's writes are being synced (LogStore.sync): the rest of it waits, and so does the next. */
  private persisting = false;
  /** Recovery runs the loop to the end at once: its writes are synced inline. */
  private draining = false;
  private closed = false;
  /** Closed and drained: the loop runs no more (the database may be gone). */
  private stopped = false;
  private fatal: unknown;

  constructor(options: NodeHostOptions) {
    this.consensus = options.consensus;
    this.log = options.log;
    this.currentTree = options.tree;
    this.exchange = new CheckpointExchange(options.checkpoints, options.logger);
    this.metrics = options.metrics;
    this.logger = options.logger;
    this.maxPending = options.maxPendingWrites;
    this.transport = options.transport;
    this.scheduleRun = options.schedule ?? ((run) => setImmediate(run));
    this.overlapSync = options.overlapSync ?? false;
    this.synced = options.log.hardState();
    const { appliedIndex, commitIndex } = options.consensus.status();
    this.appliedIndexNow = appliedIndex;
    this.commitSeen = commitIndex;
  }

  /**
   * The appliers every transaction goes through after the tree, in this order (each is told of
   * role changes and installed checkpoints in the same order). Set once, before the loop runs.
   */
  setAppliers(appliers: readonly Applier[]): void {
    assert(!this.appliersSet, 'the appliers are set once');
    this.appliersSet = true;
    this.appliers = appliers;
  }

  /** The tree as of the last applied transaction; replaced whole when a checkpoint is installed. */
  get tree(): DataTree {
    return this.currentTree;
  }

  /** A message from another member. */
  receive(message: RaftMessage): void {
    if (message.type === 'MsgSnap') {
      this.exchange.receive(message, this.consensus);
      return this.schedule();
    }
    this.consensus.step(message);
    this.schedule();
  }

  /** One tick of the consensus clock (elections, heartbeats). */
  tick(): void {
    this.consensus.tick();
    this.schedule();
  }

  get appliedZxid(): number {
    return this.tree.appliedZxid;
  }

  get pendingWrites(): number {
    return this.waiters.size;
  }

  /** The core's state for views and metrics (the loop itself learns role changes from its Readies). */
  status() {
    return this.consensus.status();
  }

  /**
   * Orders `envelope` through the log; resolves once it is durable, committed and applied, or
   * rejects with CONNECTIONLOSS at the first expireOverdue past `deadlineMs`.
   */
  submit(envelope: TxnEnvelope, deadlineMs = Infinity): Promise<Committed> {
    if (this.closed) return Promise.reject(new NotCommittedError(zkError('CONNECTIONLOSS', 'node is shutting down')));
    if (this.waiters.size >= this.maxPending) {
      return Promise.reject(new NotCommittedError(zkError('THROTTLEDOP', 'too many writes in flight')));
    }
    const proposed = this.consensus.propose(encodeTxn(envelope));
    if (!proposed.ok) {
      // During a leadership transfer the answer is the same retryable one: the client tries again
      // and finds the new leader (its failover), as after an election.
      const why = proposed.transferring ? 'leadership is being transferred; retry' : 'this node is not the leader';
      return Promise.reject(new NotCommittedError(zkError('CONNECTIONLOSS', why)));
    }
    this.schedule();
    return new Promise((resolve, reject) => {
      this.waiters.set(proposed.index, { term: proposed.term, envelope, deadlineMs, resolve, reject });
    });
  }

  /**
   * On the leader: appends a membership change; resolves once it is committed and applied here,
   * or at once with the core's refusal (another change pending, quorum, a lagging learner…).
   * With `timeoutMs`, a change appended but not applied by then rejects with OPERATIONTIMEOUT
   * (it may still commit): a leader that keeps its role without a quorum (until check-quorum), or
   * a slow disk, must not hold the operator's request past its deadline.
   */
  changeMembership(change: ConfChange, timeoutMs?: number): Promise<MembershipChanged | ConfChangeRefusal> {
    if (this.closed) return Promise.reject(new NotCommittedError(zkError('CONNECTIONLOSS', 'node is shutting down')));
    const proposed = this.consensus.proposeConfChange(change);
    if (!proposed.ok) return Promise.resolve(proposed);
    this.schedule();
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        term: proposed.term, envelope: NOOP_ENVELOPE, deadlineMs: Infinity,
        resolve: (committed) => {
          clearTimeout(timer);
          resolve({ ok: true, index: proposed.index, zxid: committed.zxid });
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.waiters.set(proposed.index, waiter);
      if (timeoutMs === undefined) return;
      timer = setTimeout(() => {
        if (this.waiters.get(proposed.index) !== waiter) return;
        this.waiters.delete(proposed.index);
        const what = `the membership change (${change.type} ${change.id}) appended at index ${proposed.index}`;
        reject(new NotCommittedError(zkError('OPERATIONTIMEOUT', `${what} did not commit within ${timeoutMs} ms; it may still commit: list the members to see`)));
      }, timeoutMs);
      timer.unref?.();
    });
  }

  /** `listener` hears of every change of the configuration in force (appended, truncated, or a checkpoint's). */
  onConfigChange(listener: (config: ClusterConfig) => void): void {
    this.configListener = listener;
  }

  /** Starts a leadership transfer to voter `to` (0: the most caught-up); false when no leader is known. */
  transferLeader(to: number): boolean {
    if (this.closed) return false;
    const asked = this.consensus.transferLeader(to);
    this.schedule();
    return asked;
  }

  /**
   * Writes not applied by their deadline end with CONNECTIONLOSS (their entries may still commit):
   * a leader cut off from its quorum commits nothing until it steps down. Swept once a tick
   * rather than a timer per write, which cost a write ~0.9 µs (BENCHMARKS.md, "The last item of
   * an empty array, and deadlines swept").
   */
  expireOverdue(nowMs: number): void {
    for (const [index, waiter] of this.waiters) {
      if (waiter.deadlineMs > nowMs) continue;
      this.waiters.delete(index);
      waiter.reject(new NotCommittedError(zkError('CONNECTIONLOSS', 'not applied by the request\'s deadline; it may or may not be applied')));
    }
  }

  /** Resolves once `zxid` is applied here, or rejects after `timeoutMs`. */
  waitForApplied(zxid: number, timeoutMs: number): Promise<void> {
    return this.applied.wait(zxid, this.appliedZxid, timeoutMs);
  }

  /**
   * Resolves once this node has applied every write committed before the call, as confirmed by
   * the leader with a quorum (ReadIndex): a read served after it is linearizable. Rejects with
   * CONNECTIONLOSS when no leader is known, OPERATIONTIMEOUT after about `timeoutMs`.
   */
  async readBarrier(timeoutMs: number): Promise<void> {
    if (this.closed) throw new NotCommittedError(zkError('CONNECTIONLOSS', 'node is shutting down'));
    const context = this.reads.nextContext(this.consensus.status().id);
    const confirmed = this.reads.wait(context, timeoutMs,
      () => new NotCommittedError(zkError('OPERATIONTIMEOUT', `the leader did not confirm a read index within ${timeoutMs} ms`)));
    if (this.consensus.readIndex(context)) this.schedule();
    else this.reads.cancel(context, new NotCommittedError(zkError('CONNECTIONLOSS', 'no leader is known')));
    const index = await confirmed;
    try {
      await this.appliedIndex.wait(index, this.appliedIndexNow, timeoutMs);
    } catch (error) {
      if (!(error instanceof ZxidTimeoutError)) throw error;
      throw new NotCommittedError(zkError('OPERATIONTIMEOUT', `read index ${index} not applied within ${timeoutMs} ms`));
    }
  }

  /** Runs the loop until the core has nothing ready: recovery replays the log this way. */
  drain(): void {
    this.draining = true;
    try {
      this.run();
    } finally {
      this.draining = false;
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate runs after pending I/O callbacks: every request parsed in this turn joins
    // the batch, which is what makes group commit happen without timers.
    this.scheduleRun(() => {
      this.scheduled = false;
      this.run();
    });
  }

  private run(): void {
    if (this.fatal || this.persisting || this.stopped) return;
    try {
      while (!this.persisting && this.consensus.hasReady()) this.handle(this.consensus.ready());
    } catch (error) {
      this.fail(error);
    }
  }

  /** Storage failures and broken invariants are fatal: never go on with a state we cannot trust. */
  private fail(error: unknown): never {
    this.fatal = error;
    this.logger.fatal({ err: error, event: 'host-failed' }, 'node host failed; stopping');
    for (const waiter of this.waiters.values()) {
      waiter.reject(new NotCommittedError(zkError('CONNECTIONLOSS', 'node failed')));
    }
    this.waiters.clear();
    throw error;
  }

  /**
   * Writes a Ready, sends what may precede its sync, applies what it committed, then — once the
   * writes are durable — sends the rest and advances (`finish`). With a store that syncs off the
   * loop, the loop keeps taking requests (and the core keeps stepping) meanwhile.
   */
  private handle(ready: Ready): void {
    // The checkpoint first: the entries and hard state of this Ready come after it.
    if (ready.snapshot) this.installCheckpoint(ready.snapshot.index);
    const started = performance.now();
    // A hard state that moved only its commit index is not written on its own: a lost commit index
    // is a lower bound learned again from the log (Raft's commitIndex is volatile state), and a
    // SQLite transaction per Ready for it cost a single node ~7 % of its writes (BENCHMARKS.md).
    if (ready.entries.length > 0 || this.termOrVoteMoved(ready.hardState)) {
      this.log.append(ready.entries, ready.hardState);
      if (ready.entries.length > 0) this.metrics.batchEntries.observe(ready.entries.length);
    }
    const appendSeconds = (performance.now() - started) / 1000;
    if (ready.config) this.configChanged(ready.config);
    // A leader's appends go while its own disk writes them (Raft thesis §10.2.1): the core counts
    // its entries toward the quorum only after `advance`.
    this.send(ready.messagesBeforePersist);
    this.applyCommitted(ready);
    if (ready.softState) this.roleChanged(ready.softState);
    // As etcd-raft's MustSync: a commit index that moved needs no sync of its own (a lost one
    // is learned again from the log and the leader); entries, term and vote do.
    const hard = ready.hardState;
    const newTermOrVote = this.termOrVoteMoved(hard);
    const mustSync = ready.entries.length > 0 || ready.snapshot !== undefined || newTermOrVote;
    if (hard) this.synced = hard;
    if (!mustSync) return this.finish(ready);
    const syncStarted = performance.now();
    const observe = () => this.metrics.fsyncDuration.observe(appendSeconds + (performance.now() - syncStarted) / 1000);
    // Recovery has nothing else to do meanwhile: it syncs on this thread, like a host that does not overlap.
    if (!this.overlapSync || this.draining || !this.log.sync) {
      this.log.syncNow?.();
      observe();
      return this.finish(ready);
    }
    this.persisting = true;
    this.log.sync((error) => {
      this.persisting = false;
      if (this.fatal || this.stopped) return;
      try {
        if (error) throw error;
        observe();
        this.finish(ready);
        // What this sync made committable (a leader's own entries count once durable) is applied
        // and answered now: its clients wait for nothing else. The entries proposed meanwhile
        // are written a turn later, with the requests read in that turn: taking them now made a
        // single node's batches a quarter smaller (BENCHMARKS.md, "Group commit a turn after the
        // sync").
        const committed = this.consensus.committedReady();
        if (committed.committed.length > 0) {
          this.applyCommitted(committed);
          this.consensus.advance(committed);
        }
      } catch (failure) {
        this.fail(failure);
      }
      this.schedule();
    });
  }

  /**
   * Applies committed entries (answering their writes) and releases confirmed read indexes. The
   * core hands out only entries durable here, so none is among those this Ready is writing.
   */
  private applyCommitted(ready: Ready): void {
    const commit = ready.hardState?.commit ?? this.commitSeen;
    assert(commit >= this.commitSeen, `commit index moved back from ${this.commitSeen} to ${commit}`);
    this.commitSeen = commit;
    const writing = ready.entries[0]?.index ?? Infinity;
    for (const entry of ready.committed) {
      assert(entry.index < writing, `entry ${entry.index} to apply is being written by this Ready (from ${writing})`);
      this.applyEntry(entry);
    }
    this.reads.confirm(ready.readStates);
  }

  private configChanged(config: ClusterConfig): void {
    this.logger.info({ event: 'config', voters: config.voters, learners: config.learners }, `configuration: voters ${config.voters.join(',')}; learners ${config.learners.join(',') || 'none'}`);
    this.configListener?.(config);
  }

  private termOrVoteMoved(hard: Ready['hardState']): boolean {
    return hard !== undefined && (hard.term !== this.synced.term || hard.vote !== this.synced.vote);
  }

  /** The rest of a Ready, once its writes are durable: its messages (acks, votes, appends), then advance. */
  private finish(ready: Ready): void {
    this.send(ready.messages);
    this.consensus.advance(ready);
  }

  private send(messages: readonly RaftMessage[]): void {
    if (messages.length === 0) return;
    assert(this.transport !== undefined, 'messages to send but no transport');
    this.transport.send(this.exchange.attach(messages));
  }

  /** The core restarted its log after the leader's checkpoint: make it ours, durably, then the tree. */
  private installCheckpoint(index: number): void {
    const image = this.exchange.install(index);
    const previous = this.currentTree;
    this.currentTree = new DataTree(image.nodes, image.zxid, image.sessions, image.watches, image.requests);
    // Writes of ours at or below the checkpoint will never be applied here one by one.
    for (const [waiting, waiter] of this.waiters) {
      if (waiting > index) continue;
      this.waiters.delete(waiting);
      waiter.reject(new NotCommittedError(zkError('CONNECTIONLOSS', 'replaced by a checkpoint from the leader; the write may or may not be applied')));
    }
    this.logger.info({ event: 'checkpoint-installed', index, zxid: image.zxid, nodes: image.nodes.length }, 'installed the leader\'s checkpoint');
    this.appliedIndexNow = index;
    for (const applier of this.appliers) applier.checkpointInstalled?.(image.zxid, previous);
    this.applied.release(image.zxid);
    this.appliedIndex.release(index);
  }

  /**
   * The core reported a new role, leader or term. On losing leadership, writes in flight have an
   * unknown outcome (a new leader may or may not commit them): their requests get CONNECTIONLOSS,
   * as ZooKeeper's clients do.
   */
  private roleChanged({ role, term }: SoftState): void {
    // Leading again in a later term, with the follower phase between unseen, is a change too.
    if (role === this.role && (role !== 'leader' || term === this.roleTerm)) return;
    const was = this.role;
    this.role = role;
    this.roleTerm = term;
    this.logger.info({ event: 'role', role, term, was }, `became ${role} at term ${term}`);
    if (was === 'leader') {
      for (const [index, waiter] of this.waiters) {
        if (role === 'leader' && waiter.term === term) continue; // proposed in the new term already
        this.waiters.delete(index);
        waiter.reject(new NotCommittedError(zkError('CONNECTIONLOSS', 'leadership changed; the write may or may not be applied')));
      }
    }
    for (const applier of this.appliers) applier.roleChanged?.(role, term);
  }

  private applyEntry(entry: Entry): void {
    assert(entry.index === this.appliedIndexNow + 1, `applying entry ${entry.index} after ${this.appliedIndexNow}`);
    this.appliedIndexNow = entry.index;
    const zxid = zxidOf(entry.term, entry.index);
    const waiter = this.waiters.get(entry.index);
    const ours = waiter !== undefined && waiter.term === entry.term;
    const envelope = ours ? waiter.envelope : decodeTxn(entry.data);
    const output = this.currentTree.apply(zxid, envelope);
    this.metrics.txnsApplied.inc();
    for (const applier of this.appliers) applier.applied?.(output, zxid, envelope);
    if (waiter) {
      this.waiters.delete(entry.index);
      if (ours) waiter.resolve({ zxid: output.firstZxid ?? zxid, result: output.result });
      else waiter.reject(new NotCommittedError(zkError('CONNECTIONLOSS', 'leadership changed; the write was not applied')));
    }
    this.applied.release(zxid);
    this.appliedIndex.release(entry.index);
  }

  /** Stops taking writes and lets those in flight finish (bounded by the caller). */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    const deadline = Date.now() + timeoutMs;
    while ((this.waiters.size > 0 || this.persisting) && Date.now() < deadline && !this.fatal) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    // A run already scheduled (by a tick or a message) would write to a log about to be closed.
    this.stopped = true;
    this.applied.rejectAll();
    this.appliedIndex.rejectAll();
  }
}
