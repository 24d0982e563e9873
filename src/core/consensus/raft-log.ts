/**
 * The replicated log as the core sees it: the host's stable log (persisted) plus the unstable
 * suffix appended since the last Ready (not yet persisted), with the commit and applied marks.
 *
 * Invariants: applied ≤ committed ≤ lastIndex(); applied ≤ durableIndex(); committed entries are
 * never truncated; the unstable entries are contiguous from `unstableOffset` and override any
 * stable entries there. Entries before `unstableOffset` are durable: the host reported them
 * persisted (stableTo), so only they are handed out to apply.
 */
import { assert } from '../errors.ts';
import type { Entry, StableLog } from './types.ts';

export class RaftLog {
  committed: number;
  applied: number;
  private unstable: Entry[] = [];
  private unstableOffset: number;
  /** A checkpoint installed from the leader that the host has not yet persisted. */
  pendingSnapshot: { index: number; term: number } | undefined;
  /** Told of every append (after it), replacing what followed its first index: the configuration rides on it. */
  onAppend: ((entries: readonly Entry[]) => void) | undefined;

  constructor(private readonly stable: StableLog, applied: number) {
    this.applied = applied;
    this.committed = applied;
    this.unstableOffset = stable.lastIndex() + 1;
  }

  firstIndex(): number {
    return this.stable.firstIndex();
  }

  lastIndex(): number {
    if (this.unstable.length > 0) return this.unstableOffset + this.unstable.length - 1;
    return this.pendingSnapshot ? this.pendingSnapshot.index : this.stable.lastIndex();
  }

  /** The term of the entry at `index`, or undefined when it is compacted away or beyond the end. */
  term(index: number): number | undefined {
    if (index >= this.unstableOffset && index < this.unstableOffset + this.unstable.length) {
      return this.unstable[index - this.unstableOffset]!.term;
    }
    const snapshot = this.pendingSnapshot;
    if (snapshot && index <= snapshot.index) return index === snapshot.index ? snapshot.term : undefined;
    if (index < this.stable.firstIndex() - 1 || index > this.lastIndex()) return undefined;
    if (index === 0) return 0;
    return this.stable.term(index);
  }

  /** The last index the host persisted (or the checkpoint restored): the end of what may be applied or acknowledged. */
  durableIndex(): number {
    return this.unstableOffset - 1;
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Raft's election restriction: is a log ending at (index, term) at least as up to date as ours? */
  isUpToDate(index: number, term: number): boolean {
    const lastTerm = this.lastTerm();
    return term > lastTerm || (term === lastTerm && index >= this.lastIndex());
  }

  /** Appends entries, replacing any conflicting suffix (never a committed entry). */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    assert(first > this.committed, `cannot overwrite committed entry ${first} (committed ${this.committed})`);
    assert(first <= this.lastIndex() + 1, `gap: appending ${first} after ${this.lastIndex()}`);
    // Appended at the end (a leader's proposals, a follower's appends in order), nothing is
    // dropped: no copy of the unstable suffix per proposal.
    if (first !== this.unstableOffset + this.unstable.length) {
      if (first >= this.unstableOffset) {
        this.unstable = this.unstable.slice(0, first - this.unstableOffset);
      } else {
        // Replaces stable entries from `first` on: the host will overwrite them at the next Ready.
        this.unstable = [];
        this.unstableOffset = first;
      }
    }
    this.unstable.push(...entries);
    this.onAppend?.(entries);
  }

  /**
   * A follower's side of AppendEntries: when our log matches at (prevIndex, prevTerm), drops any
   * conflicting suffix, appends what is new and advances the commit. Returns the last index the
   * leader's message covers, or undefined on a mismatch.
   */
  maybeAppend(prevIndex: number, prevTerm: number, commit: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + entries.length;
    const conflict = entries.find((e) => !this.matchTerm(e.index, e.term));
    if (conflict) this.append(entries.slice(conflict.index - entries[0]!.index));
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    assert(index <= this.lastIndex(), `commit ${index} beyond last index ${this.lastIndex()}`);
    this.committed = index;
  }

  appliedTo(index: number): void {
    assert(index <= this.committed && index >= this.applied, `applied ${index} outside [${this.applied}, ${this.committed}]`);
    this.applied = index;
  }

  /** Entries in [lo, hi), at most `max`, from the stable log and the unstable suffix. */
  entries(lo: number, hi: number, max: number): Entry[] {
    hi = Math.min(hi, this.lastIndex() + 1, lo + max);
    if (lo >= hi) return [];
    const out: Entry[] = [];
    if (lo < this.unstableOffset) out.push(...this.stable.entries(lo, Math.min(hi, this.unstableOffset), max));
    if (hi > this.unstableOffset) {
      const from = Math.max(lo, this.unstableOffset) - this.unstableOffset;
      out.push(...this.unstable.slice(from, hi - this.unstableOffset));
    }
    assert(out.length === hi - lo, `log is missing entries in [${lo}, ${hi})`);
    return out;
  }

  /** Replaces the whole log with a checkpoint at (index, term) received from the leader. */
  restore(index: number, term: number): void {
    assert(index > this.committed, `snapshot ${index} is not ahead of commit ${this.committed}`);
    this.pendingSnapshot = { index, term };
    this.unstable = [];
    this.unstableOffset = index + 1;
    this.committed = index;
    this.applied = index;
  }

  /** The host persisted the checkpoint: its stable log now starts after it. */
  snapshotPersisted(index: number): void {
    if (this.pendingSnapshot?.index === index) this.pendingSnapshot = undefined;
  }

  unstableEntries(): Entry[] {
    return [...this.unstable];
  }

  /** The last index that is both committed and durable here: what may be applied. */
  applicableIndex(): number {
    return Math.min(this.committed, this.durableIndex());
  }

  /** Committed entries not yet applied, at most `max`: only durable ones (etcd's nextCommittedEnts). */
  nextCommitted(max: number): Entry[] {
    const out = this.entries(this.applied + 1, this.applicableIndex() + 1, max);
    const last = out.at(-1);
    assert(last === undefined || last.index < this.unstableOffset, `entry ${last?.index} to apply is not durable (durable through ${this.durableIndex()})`);
    return out;
  }

  /** The host persisted entries through (index, term): they leave the unstable suffix. */
  stableTo(index: number, term: number): void {
    if (this.term(index) !== term || index < this.unstableOffset) return;
    this.unstable = this.unstable.slice(index + 1 - this.unstableOffset);
    this.unstableOffset = index + 1;
  }
}
