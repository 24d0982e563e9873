/**
 * The host loop around the consensus core (etcd-raft's pattern): take a Ready, persist its state
 * and entries (one SQLite transaction: group commit), send its messages, apply its committed
 * entries to the tree in order, hand results to the waiting requests, then advance. Every change
 * to the tree, client write or server cleanup, goes through here.
 */
import type { Consensus, Entry, HardState, LogStore, RaftMessage, Ready, Role } from '../core/consensus/types.ts';
import type { SnapshotRequest } from '../core/consensus/messages.ts';
import { zxidOf } from '../core/consensus/zxid.ts';
import { assert, zkError, type ZkError } from '../core/errors.ts';
import { DataTree } from '../core/tree/data-tree.ts';
import type { ApplyOutput } from '../core/tree/results.ts';
import type { TxnEnvelope } from '../core/tree/txn.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { CheckpointImage, CheckpointSource } from './checkpoints.ts';
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

interface Waiter {
  readonly term: number;
  readonly envelope: TxnEnvelope;
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
  private readonly listeners: Array<(output: ApplyOutput, zxid: number, envelope: TxnEnvelope) => void> = [];
  private readonly roleListeners: Array<(role: Role, term: number) => void> = [];
  private readonly installListeners: Array<(zxid: number, previous: DataTree) => void> = [];
  private readonly checkpoints: CheckpointSource | undefined;
  /** The checkpoint that came with the last MsgSnap, until the core says to install it. */
  private received: CheckpointImage | undefined;
  private readonly transport: Transport | undefined;
  private readonly scheduleRun: (run: () => void) => void;
  private readonly overlapSync: boolean;
  /** Log entries through this index are synced (applying waits for it). */
  private durableIndex: number;
  /** The highest commit index sent to each member in an append (sendCommitAhead sends no older one). */
  private readonly commitSent = new Map<number, number>();
  /** The hard state last written: whether the next one changes term or vote. */
  private synced: HardState;
  private role: Role;
  /** The term `role` was noticed in. */
  private roleTerm: number;
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
    this.checkpoints = options.checkpoints;
    this.metrics = options.metrics;
    this.logger = options.logger;
    this.maxPending = options.maxPendingWrites;
    this.transport = options.transport;
    this.scheduleRun = options.schedule ?? ((run) => setImmediate(run));
    this.overlapSync = options.overlapSync ?? false;
    this.synced = options.log.hardState();
    this.durableIndex = options.log.lastIndex();
    this.role = options.consensus.status().role;
    this.roleTerm = options.consensus.status().term;
  }

  /** Calls `listener` whenever this member's role changes (leader duties start and stop). */
  onRoleChange(listener: (role: Role, term: number) => void): void {
    this.roleListeners.push(listener);
  }

  /** The tree as of the last applied transaction; replaced whole when a checkpoint is installed. */
  get tree(): DataTree {
    return this.currentTree;
  }

  /**
   * Calls `listener` after a checkpoint from the leader replaced the tree: the transactions up to
   * `zxid` were not applied here one by one, so their events are unknown.
   */
  onCheckpointInstalled(listener: (zxid: number, previous: DataTree) => void): void {
    this.installListeners.push(listener);
  }

  /** A message from another member. */
  receive(message: RaftMessage): void {
    if (message.type === 'MsgSnap') return this.receiveCheckpoint(message);
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

  status() {
    return this.consensus.status();
  }

  /** Calls `listener` with the output of every transaction applied from now on, before its waiter. */
  onApplied(listener: (output: ApplyOutput, zxid: number, envelope: TxnEnvelope) => void): void {
    this.listeners.push(listener);
  }

  /** Orders `envelope` through the log; resolves once it is durable, committed and applied. */
  submit(envelope: TxnEnvelope): Promise<Committed> {
    if (this.closed) return Promise.reject(new NotCommittedError(zkError('CONNECTIONLOSS', 'node is shutting down')));
    if (this.waiters.size >= this.maxPending) {
      return Promise.reject(new NotCommittedError(zkError('THROTTLEDOP', 'too many writes in flight')));
    }
    const proposed = this.consensus.propose(encodeTxn(envelope));
    if (!proposed.ok) {
      return Promise.reject(new NotCommittedError(zkError('CONNECTIONLOSS', 'this node is not the leader')));
    }
    this.schedule();
    return new Promise((resolve, reject) => {
      this.waiters.set(proposed.index, { term: proposed.term, envelope, resolve, reject });
    });
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
      await this.appliedIndex.wait(index, this.consensus.status().appliedIndex, timeoutMs);
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
      // A role change need not produce a Ready (a leader stepping down on check-quorum).
      this.noticeRole();
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
   * Persists a Ready, applies what it committed, then sends and advances (`finish`). With a
   * store that syncs off the loop, the messages and `advance` wait for the sync: nothing is sent
   * before what it acknowledges is durable, while the loop keeps taking requests (and the core
   * keeps stepping) for the next batch.
   */
  private handle(ready: Ready): void {
    // The checkpoint first: the entries and hard state of this Ready come after it.
    if (ready.snapshot) this.installCheckpoint(ready.snapshot.index);
    const started = performance.now();
    const wrote = ready.entries.length > 0 || ready.hardState !== undefined;
    if (wrote) {
      this.log.append(ready.entries, ready.hardState);
      const first = ready.entries[0];
      if (first) {
        this.metrics.batchEntries.observe(ready.entries.length);
        // Entries from `first` on were replaced: not durable until this Ready's sync.
        this.durableIndex = Math.min(this.durableIndex, first.index - 1);
      }
    }
    const appendSeconds = (performance.now() - started) / 1000;
    // What is committed and already durable here need not wait for this Ready's sync.
    let split = 0;
    while (split < ready.committed.length && ready.committed[split]!.index <= this.durableIndex) split++;
    this.applyCommitted(ready.committed.slice(0, split), ready.readStates);
    const rest = ready.committed.slice(split);
    // As etcd-raft's MustSync: a commit index that moved needs no sync of its own (a lost one
    // is learned again from the log and the leader); entries, term and vote do.
    const hard = ready.hardState;
    const newTermOrVote = hard !== undefined && (hard.term !== this.synced.term || hard.vote !== this.synced.vote);
    const mustSync = ready.entries.length > 0 || ready.snapshot !== undefined || newTermOrVote;
    if (hard) this.synced = hard;
    if (!mustSync) {
      this.finish(ready, rest);
      return;
    }
    const syncStarted = performance.now();
    const observe = () => this.metrics.fsyncDuration.observe(appendSeconds + (performance.now() - syncStarted) / 1000);
    // Recovery has nothing else to do meanwhile: it syncs on this thread, like a host that does not overlap.
    if (!this.overlapSync || this.draining || !this.log.sync) {
      this.log.syncNow?.();
      observe();
      this.finish(ready, rest);
      return;
    }
    this.persisting = true;
    if (!newTermOrVote && ready.snapshot === undefined) this.sendCommitAhead(ready.messages);
    this.log.sync((error) => {
      this.persisting = false;
      if (this.fatal || this.stopped) return;
      try {
        if (error) throw error;
        observe();
        this.finish(ready, rest);
      } catch (failure) {
        this.fail(failure);
      }
      this.schedule();
    });
  }

  /**
   * Applies committed entries (answering their writes) and releases confirmed read indexes.
   * Entries are applied only once durable here too: a cluster of one commits an entry as it is
   * proposed, before any sync.
   */
  private applyCommitted(entries: readonly Entry[], readStates: Ready['readStates']): void {
    for (const entry of entries) this.applyEntry(entry);
    this.reads.confirm(readStates);
  }

  /**
   * The appends of a Ready being synced also carry the leader's commit index, which needs no
   * sync: it covers only entries a quorum holds durably (a follower acknowledges entries only
   * after the leader synced and sent them), and the term is durable already (the caller checks).
   * So that part goes now, as an append without entries, and followers apply — and answer the
   * writes they forwarded — a sync sooner than the entries' own append would tell them.
   */
  private sendCommitAhead(messages: readonly RaftMessage[]): void {
    const ahead: RaftMessage[] = [];
    for (const m of messages) {
      if (m.type !== 'MsgApp' || m.entries.length === 0 || m.commit <= (this.commitSent.get(m.to) ?? 0)) continue;
      ahead.push({ ...m, entries: [] });
      this.commitSent.set(m.to, m.commit);
    }
    if (ahead.length > 0) this.transport?.send(ahead);
  }

  /** The rest of a Ready, once its writes are durable: what it committed beyond, its messages (acks, votes, appends), then advance. */
  private finish(ready: Ready, committed: readonly Entry[]): void {
    const last = ready.entries[ready.entries.length - 1];
    if (last) this.durableIndex = last.index;
    if (ready.snapshot) this.durableIndex = Math.max(this.durableIndex, ready.snapshot.index);
    this.applyCommitted(committed, []);
    if (ready.messages.length > 0) {
      assert(this.transport !== undefined, 'messages to send but no transport');
      this.transport.send(this.withCheckpoints(ready.messages));
      for (const m of ready.messages) {
        if (m.type === 'MsgApp' && m.commit > (this.commitSent.get(m.to) ?? 0)) this.commitSent.set(m.to, m.commit);
      }
    }
    this.consensus.advance(ready);
    this.noticeRole();
  }

  /** A MsgSnap without its checkpoint is dropped (the leader sends again); one the core takes is kept for the install. */
  private receiveCheckpoint(message: SnapshotRequest): void {
    const image = message.checkpoint as CheckpointImage | undefined;
    if (image?.index !== message.snapshotIndex || image.term !== message.snapshotTerm) return;
    this.consensus.step(message);
    if (this.consensus.status().pendingSnapshot === message.snapshotIndex) this.received = image;
    this.schedule();
  }

  /** Attaches the checkpoint to each MsgSnap; one that cannot be loaded is not sent (the core sends again). */
  private withCheckpoints(messages: readonly RaftMessage[]): RaftMessage[] {
    const out: RaftMessage[] = [];
    for (const message of messages) {
      if (message.type !== 'MsgSnap') {
        out.push(message);
        continue;
      }
      const checkpoint = this.checkpoints?.load(message.snapshotIndex);
      if (checkpoint) out.push({ ...message, checkpoint });
      else this.logger.warn({ event: 'checkpoint-missing', index: message.snapshotIndex, to: message.to }, 'no checkpoint to send');
    }
    return out;
  }

  /** The core restarted its log after the leader's checkpoint: make it ours, durably, then the tree. */
  private installCheckpoint(index: number): void {
    const image = this.received;
    assert(image !== undefined && image.index === index, `told to install checkpoint ${index} but none came with the leader's message`);
    assert(this.checkpoints !== undefined, 'a checkpoint to install but nowhere to keep it');
    this.received = undefined;
    this.checkpoints.install(image);
    const previous = this.currentTree;
    this.currentTree = new DataTree(image.nodes, image.zxid, image.sessions, image.watches, image.requests);
    // Writes of ours at or below the checkpoint will never be applied here one by one.
    for (const [waiting, waiter] of this.waiters) {
      if (waiting > index) continue;
      this.waiters.delete(waiting);
      waiter.reject(new NotCommittedError(zkError('CONNECTIONLOSS', 'replaced by a checkpoint from the leader; the write may or may not be applied')));
    }
    this.logger.info({ event: 'checkpoint-installed', index, zxid: image.zxid, nodes: image.nodes.length }, 'installed the leader\'s checkpoint');
    for (const listener of this.installListeners) listener(image.zxid, previous);
    this.applied.release(image.zxid);
    this.appliedIndex.release(index);
  }

  /**
   * On losing leadership, writes in flight have an unknown outcome (a new leader may or may not
   * commit them): their requests get CONNECTIONLOSS, as ZooKeeper's clients do.
   */
  private noticeRole(): void {
    const { role, term } = this.consensus.status();
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
    for (const listener of this.roleListeners) listener(role, term);
  }

  private applyEntry(entry: Entry): void {
    const zxid = zxidOf(entry.term, entry.index);
    const waiter = this.waiters.get(entry.index);
    const ours = waiter !== undefined && waiter.term === entry.term;
    const envelope = ours ? waiter.envelope : decodeTxn(entry.data);
    const output = this.currentTree.apply(zxid, envelope);
    this.metrics.txnsApplied.inc();
    for (const listener of this.listeners) listener(output, zxid, envelope);
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
