/**
 * Every applied transaction's watch events, for the session-less watch streams: recorded into
 * the change history (for resuming from a zxid) and handed to live subscribers in apply order.
 */
import type { TreeEvent } from '../core/tree/results.ts';
import type { ChangeHistory, HistoryEvent } from '../storage/change-history.ts';
import type { NodeHost } from './node-host.ts';

/** `gapThrough`: the node skipped to this zxid (a checkpoint from the leader); earlier events are unknown. */
export type ChangeListener = (events: readonly TreeEvent[], gapThrough?: number) => void;

const FLUSH_DELAY_MS = 50;

export class ChangeFeed {
  private readonly listeners = new Set<ChangeListener>();
  private flushScheduled = false;
  private closed = false;

  constructor(private readonly host: NodeHost, readonly history: ChangeHistory) {
    // Events up to what the history already holds are not recorded twice when the log replays.
    const recorded = history.recordedThrough();
    // Rows not flushed before a crash are regenerated from the log behind the checkpoint; any
    // between the last row and the checkpoint may be gone: resuming from there is a reset.
    if (recorded < host.tree.appliedZxid && history.floor() < host.tree.appliedZxid) history.setFloor(host.tree.appliedZxid);
    host.onApplied((output, zxid) => {
      if (output.events.length === 0) return;
      if (zxid > recorded) {
        history.record(output.events);
        this.scheduleFlush();
      }
      for (const listener of this.listeners) listener(output.events);
    });
    host.onCheckpointInstalled((zxid) => {
      if (this.closed) return;
      this.history.flush();
      this.history.setFloor(Math.max(this.history.floor(), zxid));
      for (const listener of this.listeners) listener([], zxid);
    });
  }

  get appliedZxid(): number {
    return this.host.appliedZxid;
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get subscribers(): number {
    return this.listeners.size;
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
    this.listeners.clear();
    this.history.close();
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
