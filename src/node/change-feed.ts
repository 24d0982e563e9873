/**
 * Every applied transaction's watch events, for the session-less watch streams: recorded into
 * the change history (for resuming from a zxid) and handed to live subscribers in apply order.
 * Subscribers are indexed by the path they watch, so a transaction costs O(its events × path
 * depth), not O(streams); all the subscribers of one (path, kind) get the same array.
 */
import { parentOf } from '../core/tree/path.ts';
import type { TreeEvent } from '../core/tree/results.ts';
import type { ChangeHistory, HistoryEvent } from '../storage/change-history.ts';
import type { ApplyOutput } from '../core/tree/results.ts';
import type { Applier } from './applier.ts';
import type { NodeHost } from './node-host.ts';

/** A live watch. Called inside the apply loop: it must not throw, and should not linger. */
export interface ChangeSubscriber {
  /** Its events of one transaction, in op order; one array shared by every subscriber of that path and kind. */
  changed(events: readonly TreeEvent[]): void;
  /** The node skipped to `zxid` (a checkpoint from the leader); earlier events are unknown. */
  gap(zxid: number): void;
}

/** The subscribers of one (path, recursive) and the events gathered for them from the current transaction. */
interface Group {
  readonly subscribers: Set<ChangeSubscriber>;
  batch: TreeEvent[];
}

const FLUSH_DELAY_MS = 50;

export class ChangeFeed implements Applier {
  private readonly exact = new Map<string, Group>();
  private readonly recursive = new Map<string, Group>();
  private count = 0;
  private flushScheduled = false;
  private closed = false;
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
    for (const group of [...this.exact.values(), ...this.recursive.values()]) {
      for (const subscriber of group.subscribers) subscriber.gap(zxid);
    }
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
    if (!group) groups.set(path, (group = { subscribers: new Set(), batch: [] }));
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
    this.history.close();
  }

  /** Gathers one transaction's events per watched path, then hands each group its batch. */
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
      for (const subscriber of group.subscribers) subscriber.changed(batch);
    }
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
