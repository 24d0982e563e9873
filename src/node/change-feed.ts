/**
 * Every applied transaction's watch events, for the session-less watch streams: recorded into
 * the change history (for resuming from a zxid) inside the apply loop, and handed to live
 * subscribers after it, in apply order. Subscribers are indexed by the path they watch, so a
 * transaction costs O(its events × path depth) to route, not O(streams); all the subscribers of
 * one (path, kind) get the same array.
 *
 * The hand-over to subscribers runs after the apply loop, not in it: the writer's answer goes
 * out first (10,000 streams cost ~100 ms of socket writes), and the hand-over runs in slices of
 * SLICE_SUBSCRIBERS with the event loop free between them, so other requests are not stalled
 * behind it. Each group (path, kind) queues its transactions in zxid order and hands all that
 * queued up to each subscriber at once (changedMany: one socket write for several transactions
 * when the fan-out runs behind the writes, so it catches up instead of falling further behind).
 * The history row is written before the answer, so a stream that replays from it never misses
 * what is still queued here (and skips what it already replayed).
 */
import { parentOf } from '../core/tree/path.ts';
import type { TreeEvent } from '../core/tree/results.ts';
import type { ChangeHistory, HistoryEvent } from '../storage/change-history.ts';
import type { ApplyOutput } from '../core/tree/results.ts';
import type { Applier } from './applier.ts';
import type { NodeHost } from './node-host.ts';

/** A live watch. Called after the apply loop, in zxid order: it must not throw, and should not linger. */
export interface ChangeSubscriber {
  /** Its events of one transaction, in op order; one array shared by every subscriber of that path and kind. */
  changed(events: readonly TreeEvent[]): void;
  /** The node skipped to `zxid` (a checkpoint from the leader); earlier events are unknown. */
  gap(zxid: number): void;
  /**
   * Several transactions at once, in zxid order, in place of `changed` for each; the array is
   * shared by every subscriber of that path and kind. Optional.
   */
  changedMany?(batches: readonly (readonly TreeEvent[])[]): void;
}

/** A transaction's events for a group, or a gap. */
type Pending = readonly TreeEvent[] | { readonly gapThrough: number };
/** What one hand-over gives each subscriber of a group: consecutive transactions, or a gap. */
type Run = { readonly batches: readonly (readonly TreeEvent[])[] } | { readonly gapThrough: number };

/** The subscribers of one (path, recursive), the events gathered for them from the current transaction, and what waits for them. */
interface Group {
  readonly subscribers: Set<ChangeSubscriber>;
  batch: TreeEvent[];
  /** Not yet handed over, in zxid order. */
  pending: Pending[];
  /** In the feed's ready queue. */
  ready: boolean;
}

/** A group's hand-over in progress: what it gives, and where it stopped (a live Set iterator: it sees removals). */
interface HandOver {
  readonly runs: readonly Run[];
  readonly cursor: Iterator<ChangeSubscriber>;
}

/** Consecutive transactions go together (one changedMany); a gap stands alone. */
function runsOf(pending: readonly Pending[]): Run[] {
  const runs: Run[] = [];
  let batches: Array<readonly TreeEvent[]> = [];
  for (const item of pending) {
    if (!('gapThrough' in item)) {
      batches.push(item);
      continue;
    }
    if (batches.length > 0) runs.push({ batches });
    batches = [];
    runs.push(item);
  }
  if (batches.length > 0) runs.push({ batches });
  return runs;
}

function handOver(subscriber: ChangeSubscriber, runs: readonly Run[]): void {
  for (const run of runs) {
    if ('gapThrough' in run) subscriber.gap(run.gapThrough);
    else if (run.batches.length > 1 && subscriber.changedMany) subscriber.changedMany(run.batches);
    else for (const batch of run.batches) subscriber.changed(batch);
  }
}

const FLUSH_DELAY_MS = 50;
/** Subscribers handed a delivery per turn of the event loop (~5 ms of socket writes). */
const SLICE_SUBSCRIBERS = 512;

export class ChangeFeed implements Applier {
  private readonly exact = new Map<string, Group>();
  private readonly recursive = new Map<string, Group>();
  private count = 0;
  private flushScheduled = false;
  private closed = false;
  /** Groups with something pending, in the order they got it: ready[head..]. */
  private ready: Array<Group | undefined> = [];
  private head = 0;
  private current: HandOver | undefined;
  private pumpScheduled = false;
  /** Events up to what the history already holds are not recorded twice when the log replays. */
  private readonly recorded: number;

  constructor(private readonly host: NodeHost, readonly history: ChangeHistory) {
    this.recorded = history.recordedThrough();
    // Rows not flushed before a crash are regenerated from the log behind the checkpoint; any
    // between the last row and the checkpoint may be gone: resuming from there is a reset.
    if (this.recorded < host.tree.appliedZxid && history.floor() < host.tree.appliedZxid) history.setFloor(host.tree.appliedZxid);
  }

  /** An Applier of the host: records a transaction's events and hands them to live subscribers. */
  applied(output: ApplyOutput, zxid: number): void {
    if (output.events.length === 0) return;
    if (zxid > this.recorded) {
      this.history.record(output.events);
      this.scheduleFlush();
    }
    if (this.count > 0) this.dispatch(output.events);
  }

  /** The leader's checkpoint replaced the tree: the history restarts at it, and every subscriber learns of the gap. */
  checkpointInstalled(zxid: number): void {
    if (this.closed) return;
    this.history.flush();
    this.history.setFloor(Math.max(this.history.floor(), zxid));
    // Queued behind each group's transactions before it, so it reaches each stream in order.
    for (const group of [...this.exact.values(), ...this.recursive.values()]) this.enqueue(group, { gapThrough: zxid });
  }

  get appliedZxid(): number {
    return this.host.appliedZxid;
  }

  /**
   * Live events on `path` (recursive: on it and below, without NodeChildrenChanged, as
   * ZooKeeper's persistent-recursive watches) until the returned function is called.
   */
  subscribe(path: string, recursive: boolean, subscriber: ChangeSubscriber): () => void {
    const groups = recursive ? this.recursive : this.exact;
    let group = groups.get(path);
    if (!group) groups.set(path, (group = { subscribers: new Set(), batch: [], pending: [], ready: false }));
    const joined = group;
    joined.subscribers.add(subscriber);
    this.count++;
    return () => {
      if (!joined.subscribers.delete(subscriber)) return;
      this.count--;
      if (joined.subscribers.size === 0 && groups.get(path) === joined) groups.delete(path);
    };
  }

  get subscribers(): number {
    return this.count;
  }

  /** Resolves once no delivery is waiting (or the feed closed); bounded by a million turns of the event loop. */
  async handedOver(): Promise<void> {
    for (let turn = 0; turn < 1_000_000 && !this.closed && (this.current || this.head < this.ready.length); turn++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Recorded events after `zxid` up to what is applied now; flushes first so none are missing. */
  replay(afterZxid: number, max: number): HistoryEvent[] {
    if (this.closed) return [];
    this.history.flush();
    return this.history.after(afterZxid, this.host.appliedZxid, max);
  }

  /** Stops reading and writing the history (the node is shutting down); streams see no more. */
  close(): void {
    this.closed = true;
    for (const group of [...this.exact.values(), ...this.recursive.values()]) group.subscribers.clear();
    this.exact.clear();
    this.recursive.clear();
    this.count = 0;
    this.ready = [];
    this.head = 0;
    this.current = undefined;
    this.history.close();
  }

  /** Gathers one transaction's events per watched path, then queues each group's batch. */
  private dispatch(events: readonly TreeEvent[]): void {
    const touched: Group[] = [];
    const add = (group: Group | undefined, e: TreeEvent) => {
      if (!group) return;
      if (group.batch.length === 0) touched.push(group);
      group.batch.push(e);
    };
    for (const e of events) {
      add(this.exact.get(e.path), e);
      if (this.recursive.size === 0 || e.type === 'NodeChildrenChanged') continue;
      for (let at = e.path; ; at = parentOf(at)) {
        add(this.recursive.get(at), e);
        if (at === '/') break;
      }
    }
    for (const group of touched) {
      const batch = group.batch;
      group.batch = [];
      this.enqueue(group, batch);
    }
  }

  private enqueue(group: Group, item: Pending): void {
    group.pending.push(item);
    if (!group.ready) {
      group.ready = true;
      this.ready.push(group);
    }
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    // setImmediate: after the apply loop's answers (promise jobs) and the I/O waiting meanwhile.
    setImmediate(() => this.pump());
  }

  /**
   * Hands over to at most SLICE_SUBSCRIBERS subscribers, the groups in the order they got
   * something; the rest in a later turn. A group's hand-over takes all it has pending at its
   * start; what arrives meanwhile waits for its next turn.
   */
  private pump(): void {
    this.pumpScheduled = false;
    let budget = SLICE_SUBSCRIBERS;
    while (budget > 0) {
      if (!this.current) {
        const group = this.ready[this.head];
        if (!group) break;
        this.ready[this.head++] = undefined; // taken: let it be collected
        group.ready = false;
        const runs = runsOf(group.pending);
        group.pending = [];
        this.current = { runs, cursor: group.subscribers.values() };
      }
      const { runs, cursor } = this.current;
      for (let next = cursor.next(); ; next = cursor.next()) {
        if (next.done) {
          this.current = undefined;
          break;
        }
        handOver(next.value, runs);
        if (--budget === 0) break;
      }
    }
    if (!this.current && this.head === this.ready.length) {
      this.ready = [];
      this.head = 0;
      return;
    }
    if (this.head >= 1024) {
      this.ready = this.ready.slice(this.head);
      this.head = 0;
    }
    this.pumpScheduled = true;
    setImmediate(() => this.pump());
  }

  /**
   * History rows go to SQLite in one transaction every FLUSH_DELAY_MS rather than one per batch
   * of writes (a replay flushes first, so it never misses a row; a crash loses none: the log
   * regenerates them).
   */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setTimeout(() => {
      this.flushScheduled = false;
      if (!this.closed) this.history.flush();
    }, FLUSH_DELAY_MS).unref();
  }
}
