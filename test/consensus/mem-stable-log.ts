/**
 * An in-memory StableLog: the host-side persistence a test drives. For each Ready the host calls
 * `persist(ready)` (hardState and entries in one step, as one storage transaction would), then
 * delivers the Ready's messages, then calls `advance(ready)`.
 *
 * Semantics follow etcd-raft's MemoryStorage: appending entries that start at index i drops
 * every stored entry from i on (the core hands over a suffix that overrides what was there), so
 * the log stays one contiguous run firstIndex..lastIndex. `compact(index)` drops entries a
 * checkpoint covers, keeping the term of the last one (firstIndex() - 1), like SqliteLogStore.
 */
import { assert } from '../../src/core/errors.ts';
import type { Entry, HardState, Ready, StableLog } from '../../src/core/consensus/types.ts';

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: 0, commit: 0 };

export class MemStableLog implements StableLog {
  /** Entries snapshotIndex + 1 .. lastIndex. */
  private stored: Entry[] = [];
  private snapshotIndex = 0;
  private snapshotTerm = 0;
  private state: HardState = EMPTY_HARD_STATE;

  /** A log pre-filled with `entries` (contiguous from 1) and `hardState`, as after a restart. */
  static of(entries: readonly Entry[], hardState: HardState = EMPTY_HARD_STATE): MemStableLog {
    const log = new MemStableLog();
    log.append(entries);
    log.setHardState(hardState);
    return log;
  }

  /** A log of entries 1..n with the given terms: `withTerms([1, 1, 2])`. */
  static withTerms(terms: readonly number[], hardState: HardState = EMPTY_HARD_STATE): MemStableLog {
    return MemStableLog.of(terms.map((term, i) => ({ term, index: i + 1, data: `e${i + 1}` })), hardState);
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
    assert(entry !== undefined, `no stable entry at ${index} (first ${this.firstIndex()}, last ${this.lastIndex()})`);
    return entry.term;
  }

  entries(lo: number, hi: number, maxEntries: number): Entry[] {
    assert(lo >= this.firstIndex(), `entries from ${lo}: below firstIndex ${this.firstIndex()}`);
    const end = Math.min(hi, this.lastIndex() + 1, lo + maxEntries);
    return end > lo ? this.stored.slice(lo - this.firstIndex(), end - this.firstIndex()) : [];
  }

  /** Appends `entries`, dropping every stored entry at or after the first of them. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    assert(first > this.snapshotIndex && first <= this.lastIndex() + 1, `cannot append ${first} to ${this.firstIndex()}..${this.lastIndex()}`);
    entries.forEach((e, i) => assert(e.index === first + i, `entries not contiguous at ${e.index}`));
    this.stored = [...this.stored.slice(0, first - this.firstIndex()), ...entries];
  }

  /** Drops entries through `index`, which a checkpoint now holds. */
  compact(index: number): void {
    assert(index >= this.snapshotIndex && index <= this.lastIndex(), `cannot compact through ${index}`);
    this.snapshotTerm = this.term(index);
    this.stored = this.stored.slice(index - this.snapshotIndex);
    this.snapshotIndex = index;
  }

  hardState(): HardState {
    return this.state;
  }

  /** Asserts what Raft promises of its durable state: the term and commit never go back, one vote per term. */
  setHardState(hardState: HardState): void {
    const old = this.state;
    assert(hardState.term >= old.term, `term went back from ${old.term} to ${hardState.term}`);
    assert(hardState.term > old.term || old.vote === 0 || hardState.vote === old.vote,
      `vote changed within term ${old.term}: from ${old.vote} to ${hardState.vote}`);
    assert(hardState.commit >= old.commit, `commit went back from ${old.commit} to ${hardState.commit}`);
    this.state = hardState;
  }

  /** Replaces the whole log with a checkpoint at (index, term): what a host does for Ready.snapshot. */
  installSnapshot(index: number, term: number): void {
    this.stored = [];
    this.snapshotIndex = index;
    this.snapshotTerm = term;
  }

  /** Persists one Ready's snapshot, hardState and entries, as one storage transaction. */
  persist(ready: Ready): void {
    if (ready.snapshot) this.installSnapshot(ready.snapshot.index, ready.snapshot.term);
    if (ready.hardState) this.setHardState(ready.hardState);
    this.append(ready.entries);
  }

  /** A copy of everything stored: what survives a crash. */
  snapshot(): { entries: Entry[]; hardState: HardState } {
    return { entries: [...this.stored], hardState: this.state };
  }
}
