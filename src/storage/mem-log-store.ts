/**
 * The log in memory, with the same contract as SqliteLogStore: what the deterministic
 * simulation persists into. An append is the durable step: a simulated crash keeps everything
 * appended and loses only what the core had not yet handed over.
 */
import { assert } from '../core/errors.ts';
import type { Entry, HardState, LogStore } from '../core/consensus/types.ts';

export class MemLogStore implements LogStore {
  private stored: Entry[] = [];
  private snapshotIndex: number;
  private snapshotTerm: number;
  private state: HardState = { term: 0, vote: 0, commit: 0 };

  constructor(snapshot: { index: number; term: number } = { index: 0, term: 0 }) {
    this.snapshotIndex = snapshot.index;
    this.snapshotTerm = snapshot.term;
  }

  hardState(): HardState {
    return this.state;
  }

  firstIndex(): number {
    return this.snapshotIndex + 1;
  }

  lastIndex(): number {
    return this.snapshotIndex + this.stored.length;
  }

  term(index: number): number {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    const entry = this.stored[index - this.firstIndex()];
    assert(entry !== undefined, `no log entry at ${index}`);
    return entry.term;
  }

  entries(lo: number, hi: number, maxEntries: number): Entry[] {
    const end = Math.min(hi, this.lastIndex() + 1, lo + maxEntries);
    if (end <= lo) return [];
    assert(lo >= this.firstIndex(), `entries from ${lo} are compacted (first ${this.firstIndex()})`);
    return this.stored.slice(lo - this.firstIndex(), end - this.firstIndex());
  }

  append(entries: readonly Entry[], hardState: HardState | undefined): void {
    if (hardState) this.state = hardState;
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    assert(first > this.snapshotIndex && first <= this.lastIndex() + 1, `cannot append ${first} after ${this.lastIndex()}`);
    this.stored = [...this.stored.slice(0, first - this.firstIndex()), ...entries];
  }

  compact(index: number, term: number): void {
    assert(index >= this.snapshotIndex && index <= this.lastIndex(), `cannot compact through ${index}`);
    this.stored = this.stored.slice(index - this.snapshotIndex);
    this.snapshotIndex = index;
    this.snapshotTerm = term;
  }

  /** Replaces the whole log with a checkpoint at (index, term), as a follower installing one does. */
  installSnapshot(index: number, term: number): void {
    this.stored = [];
    this.snapshotIndex = index;
    this.snapshotTerm = term;
  }

  size(): number {
    return this.stored.length;
  }
}
