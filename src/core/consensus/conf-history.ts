/**
 * The configuration at every point of the log (Raft thesis §4.1): a member uses the latest
 * configuration in its log, committed or not — a change takes effect when it is appended, and
 * is undone if that entry is truncated away (a new leader overwrites it). The base is the
 * configuration as of the log's start (a checkpoint's, or the one given at start); every change
 * entry after it is kept with its index, so the configuration at any index still in the log (the
 * one a checkpoint there must store, or a snapshot sent) is known.
 *
 * Invariants: changes are in increasing index order, all after the base; the history never
 * forgets a change still in the log.
 */
import { assert } from '../errors.ts';
import type { ClusterConfig } from './cluster-config.ts';
import { applyConfChange, decodeConfChange, isConfChangeData } from './conf-change.ts';
import type { Entry, StableLog } from './types.ts';

interface Point {
  readonly index: number;
  readonly config: ClusterConfig;
}

/** Entries read per step when the log is scanned for changes at start. */
const SCAN_CHUNK_ENTRIES = 1024;

export class ConfHistory {
  private base: Point;
  private changes: Point[] = [];

  constructor(baseIndex: number, base: ClusterConfig) {
    this.base = { index: baseIndex, config: base };
  }

  /** The history of a stable log from its start (recovery): every change entry in it, in order. */
  static scan(log: StableLog, base: ClusterConfig): ConfHistory {
    const history = new ConfHistory(log.firstIndex() - 1, base);
    const last = log.lastIndex();
    for (let lo = log.firstIndex(); lo <= last; lo += SCAN_CHUNK_ENTRIES) {
      history.appended(log.entries(lo, Math.min(last + 1, lo + SCAN_CHUNK_ENTRIES), SCAN_CHUNK_ENTRIES));
    }
    return history;
  }

  /**
   * The configuration in force: the latest in the log. Read several times per write, so `.at(-1)`:
   * `changes[changes.length - 1]` on the (usually) empty list looks up the property "-1" off V8's
   * fast path, ~40–300 ns a read (BENCHMARKS.md, "The last item of an empty array").
   */
  current(): ClusterConfig {
    return this.changes.at(-1)?.config ?? this.base.config;
  }

  /** The index of the latest change entry in the log (the base's index when there is none). */
  lastChangeIndex(): number {
    return this.changes.at(-1)?.index ?? this.base.index;
  }

  /** The configuration as of `index` (the latest change at or before it). */
  at(index: number): ClusterConfig {
    for (let i = this.changes.length - 1; i >= 0; i--) {
      if (this.changes[i]!.index <= index) return this.changes[i]!.config;
    }
    return this.base.config;
  }

  /**
   * Entries were appended from `entries[0].index` on, replacing whatever followed: changes from
   * there are forgotten (truncated), then those among the new entries take effect.
   */
  appended(entries: readonly Entry[]): void {
    const first = entries[0];
    if (!first) return;
    while (this.changes.length > 0 && this.changes[this.changes.length - 1]!.index >= first.index) this.changes.pop();
    for (const entry of entries) {
      if (!isConfChangeData(entry.data)) continue;
      const change = decodeConfChange(entry.data);
      if (!change) continue;
      assert(entry.index > this.lastChangeIndex(), `change at ${entry.index} after one at ${this.lastChangeIndex()}`);
      this.changes.push({ index: entry.index, config: applyConfChange(this.current(), change) });
    }
  }

  /** The log restarts after a checkpoint at `index` holding `config`: nothing before it matters. */
  restore(index: number, config: ClusterConfig): void {
    this.base = { index, config };
    this.changes = [];
  }
}
