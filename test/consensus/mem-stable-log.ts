/**
 * The in-memory log store (src/storage/mem-log-store.ts) as the host-side persistence a Raft
 * test drives, with Raft's promises about durable state asserted. For each Ready the host calls
 * `persist(ready)` (hardState and entries in one step, as one storage transaction would), then
 * delivers the Ready's messages, then calls `advance(ready)`.
 *
 * Semantics follow etcd-raft's MemoryStorage: appending entries that start at index i drops
 * every stored entry from i on (the core hands over a suffix that overrides what was there), so
 * the log stays one contiguous run firstIndex..lastIndex. `compact(index)` drops entries a
 * checkpoint covers, keeping the term of the last one (firstIndex() - 1), like SqliteLogStore.
 */
import { assert } from '../../src/core/errors.ts';
import type { Entry, HardState, Ready } from '../../src/core/consensus/types.ts';
import { MemLogStore } from '../../src/storage/mem-log-store.ts';

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: 0, commit: 0 };

export class MemStableLog extends MemLogStore {
  /** A log pre-filled with `entries` (contiguous from 1) and `hardState`, as after a restart. */
  static of(entries: readonly Entry[], hardState: HardState = EMPTY_HARD_STATE): MemStableLog {
    const log = new MemStableLog();
    log.append(entries, hardState);
    return log;
  }

  /** A log of entries 1..n with the given terms: `withTerms([1, 1, 2])`. */
  static withTerms(terms: readonly number[], hardState: HardState = EMPTY_HARD_STATE): MemStableLog {
    return MemStableLog.of(terms.map((term, i) => ({ term, index: i + 1, data: `e${i + 1}` })), hardState);
  }

  /** Asserts what Raft promises of its durable state: the term and commit never go back, one vote per term. */
  override append(entries: readonly Entry[], hardState: HardState | undefined): void {
    if (hardState) {
      const old = this.hardState();
      assert(hardState.term >= old.term, `term went back from ${old.term} to ${hardState.term}`);
      assert(hardState.term > old.term || old.vote === 0 || hardState.vote === old.vote,
        `vote changed within term ${old.term}: from ${old.vote} to ${hardState.vote}`);
      assert(hardState.commit >= old.commit, `commit went back from ${old.commit} to ${hardState.commit}`);
    }
    entries.forEach((e, i) => assert(e.index === entries[0]!.index + i, `entries not contiguous at ${e.index}`));
    super.append(entries, hardState);
  }

  /** Drops entries through `index`, keeping its term. */
  override compact(index: number, term = this.term(index)): void {
    super.compact(index, term);
  }

  /** Persists one Ready's snapshot, hardState and entries, as one storage transaction. */
  persist(ready: Ready): void {
    if (ready.snapshot) this.installSnapshot(ready.snapshot.index, ready.snapshot.term);
    this.append(ready.entries, ready.hardState);
  }

  /** A copy of everything stored: what survives a crash. */
  snapshot(): { entries: Entry[]; hardState: HardState } {
    return { entries: this.entries(this.firstIndex(), this.lastIndex() + 1, Number.MAX_SAFE_INTEGER), hardState: this.hardState() };
  }
}
