/**
 * The host loop around the consensus core (etcd-raft's pattern): take a Ready, persist its state
 * and entries (one SQLite transaction: group commit), send its messages, apply its committed
 * entries to the tree in order, hand results to the waiting requests, then advance. Every change
 * to the tree, client write or server cleanup, goes through here.
 */
import type { Consensus, Entry, Ready } from '../core/consensus/types.ts';
import { zxidOf } from '../core/consensus/zxid.ts';
import { assert, zkError, type ZkError } from '../core/errors.ts';
import type { DataTree } from '../core/tree/data-tree.ts';
import type { ApplyOutput } from '../core/tree/results.ts';
import type { TxnEnvelope } from '../core/tree/txn.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { SqliteLogStore } from '../storage/log-store.ts';
import { decodeTxn, encodeTxn } from './txn-codec.ts';
import { ZxidWaiters } from './zxid-waiters.ts';

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

export interface NodeHostOptions {
  readonly consensus: Consensus;
  readonly log: SqliteLogStore;
  readonly tree: DataTree;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Entries proposed but not yet applied, at most; past it writes answer THROTTLEDOP. */
  readonly maxPendingWrites: number;
}

export class NodeHost {
  readonly tree: DataTree;
  private readonly consensus: Consensus;
  private readonly log: SqliteLogStore;
  private readonly metrics: Metrics;
  private readonly logger: Logger;
  private readonly maxPending: number;
  private readonly waiters = new Map<number, Waiter>();
  private readonly applied = new ZxidWaiters();
  private readonly listeners: Array<(output: ApplyOutput, zxid: number) => void> = [];
  private scheduled = false;
  private closed = false;
  private fatal: unknown;

  constructor(options: NodeHostOptions) {
    this.consensus = options.consensus;
    this.log = options.log;
    this.tree = options.tree;
    this.metrics = options.metrics;
    this.logger = options.logger;
    this.maxPending = options.maxPendingWrites;
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
  onApplied(listener: (output: ApplyOutput, zxid: number) => void): void {
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

  /** Runs the loop until the core has nothing ready: recovery replays the log this way. */
  drain(): void {
    this.run();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate runs after pending I/O callbacks: every request parsed in this turn joins
    // the batch, which is what makes group commit happen without timers.
    setImmediate(() => {
      this.scheduled = false;
      this.run();
    });
  }

  private run(): void {
    if (this.fatal) return;
    try {
      while (this.consensus.hasReady()) this.handle(this.consensus.ready());
    } catch (error) {
      // Storage failures and broken invariants are fatal: never go on with a state we cannot trust.
      this.fatal = error;
      this.logger.fatal({ err: error, event: 'host-failed' }, 'node host failed; stopping');
      for (const waiter of this.waiters.values()) {
        waiter.reject(new NotCommittedError(zkError('CONNECTIONLOSS', 'node failed')));
      }
      this.waiters.clear();
      throw error;
    }
  }

  private handle(ready: Ready): void {
    if (ready.entries.length > 0 || ready.hardState) {
      const stop = this.metrics.fsyncDuration.startTimer();
      this.log.append(ready.entries, ready.hardState);
      stop();
      if (ready.entries.length > 0) this.metrics.batchEntries.observe(ready.entries.length);
    }
    assert(ready.messages.length === 0 && !ready.snapshot, 'a single node sends no messages and installs no snapshot');
    for (const entry of ready.committed) this.applyEntry(entry);
    this.consensus.advance(ready);
  }

  private applyEntry(entry: Entry): void {
    const zxid = zxidOf(entry.term, entry.index);
    const waiter = this.waiters.get(entry.index);
    const ours = waiter !== undefined && waiter.term === entry.term;
    const envelope = ours ? waiter.envelope : decodeTxn(entry.data);
    const output = this.tree.apply(zxid, envelope);
    this.metrics.txnsApplied.inc();
    for (const listener of this.listeners) listener(output, zxid);
    if (waiter) {
      this.waiters.delete(entry.index);
      if (ours) waiter.resolve({ zxid, result: output.result });
      else waiter.reject(new NotCommittedError(zkError('CONNECTIONLOSS', 'leadership changed; the write was not applied')));
    }
    this.applied.release(zxid);
  }

  /** Stops taking writes and lets those in flight finish (bounded by the caller). */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    const deadline = Date.now() + timeoutMs;
    while (this.waiters.size > 0 && Date.now() < deadline && !this.fatal) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.applied.rejectAll();
  }
}
