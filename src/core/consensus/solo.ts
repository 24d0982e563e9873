/**
 * Consensus for a cluster of one: the member is its own quorum, so an entry commits as soon as
 * it is durable. It speaks the same interface as the replicated core, so a single node runs
 * the same write path (propose → persist → commit → apply) as a cluster.
 */
import { assert } from '../errors.ts';
import type { Consensus, Entry, HardState, ProposeResult, Ready, StableLog, Status } from './types.ts';

export interface SoloOptions {
  readonly id: number;
  readonly log: StableLog;
  readonly hardState: HardState;
  /** Index of the last entry already applied (the checkpoint's). */
  readonly appliedIndex: number;
  /** Bounds how many committed entries one Ready hands back (recovery applies in chunks). */
  readonly maxCommittedPerReady?: number;
}

export class SoloConsensus implements Consensus {
  private readonly id: number;
  private readonly log: StableLog;
  private readonly maxCommitted: number;
  private term: number;
  private commitIndex: number;
  private appliedIndex: number;
  private unstable: Entry[] = [];
  private hardStateDirty = true;
  private nextIndex: number;

  constructor(options: SoloOptions) {
    this.id = options.id;
    this.log = options.log;
    this.maxCommitted = options.maxCommittedPerReady ?? 1024;
    // Like a newly elected leader: a new term, and an empty entry of that term that commits
    // everything before it once durable.
    this.term = options.hardState.term + 1;
    this.appliedIndex = options.appliedIndex;
    this.commitIndex = Math.max(options.hardState.commit, options.appliedIndex);
    this.nextIndex = this.log.lastIndex() + 1;
    this.append('');
  }

  tick(): void {}

  step(): void {
    // A cluster of one never receives messages.
  }

  propose(data: string): ProposeResult {
    const index = this.append(data);
    return { ok: true, term: this.term, index };
  }

  private append(data: string): number {
    const index = this.nextIndex++;
    this.unstable.push({ term: this.term, index, data });
    return index;
  }

  hasReady(): boolean {
    return this.hardStateDirty || this.unstable.length > 0 || this.appliedIndex < this.commitIndex;
  }

  ready(): Ready {
    const hardState = this.hardStateDirty
      ? { term: this.term, vote: this.id, commit: this.commitIndex }
      : undefined;
    const hi = Math.min(this.commitIndex, this.appliedIndex + this.maxCommitted);
    const committed = hi > this.appliedIndex ? this.log.entries(this.appliedIndex + 1, hi + 1, this.maxCommitted) : [];
    assert(committed.length === hi - this.appliedIndex, `log is missing entries up to ${hi}`);
    return { hardState, entries: [...this.unstable], messages: [], committed };
  }

  advance(ready: Ready): void {
    if (ready.hardState) this.hardStateDirty = false;
    if (ready.committed.length > 0) this.appliedIndex = ready.committed[ready.committed.length - 1]!.index;
    if (ready.entries.length > 0) {
      this.unstable = this.unstable.slice(ready.entries.length);
      // Durable on the only member: committed.
      this.commitIndex = ready.entries[ready.entries.length - 1]!.index;
    }
  }

  status(): Status {
    return {
      id: this.id, role: 'leader', term: this.term, leader: this.id,
      commitIndex: this.commitIndex, lastIndex: this.nextIndex - 1, appliedIndex: this.appliedIndex,
    };
  }
}
