/**
 * Slots held in total and per key (event streams: per caller), taken and given back
 * synchronously: `acquire` checks and counts in one step, so concurrent opens cannot all pass a
 * check made before any of them counted. Every slot taken is released exactly once (the release
 * is idempotent), on every path: refusal, failure to start, or the end of what held it.
 */

export interface SlotLimits {
  /** Slots in all; 0 for no limit. */
  readonly total: number;
  /** Slots one key may hold; 0 for no limit. */
  readonly perKey: number;
}

/** A taken slot: call to give it back (again: nothing). */
export type Release = () => void;

export class KeyedSlots {
  private readonly held = new Map<string, number>();
  private all = 0;

  constructor(private readonly limits: SlotLimits) {}

  get size(): number {
    return this.all;
  }

  heldBy(key: string): number {
    return this.held.get(key) ?? 0;
  }

  /** A slot for `key`, or which limit is full. */
  acquire(key: string): Release | 'total' | 'perKey' {
    const { total, perKey } = this.limits;
    if (total > 0 && this.all >= total) return 'total';
    const mine = this.held.get(key) ?? 0;
    if (perKey > 0 && mine >= perKey) return 'perKey';
    return this.count(key);
  }

  /** A slot for `key` whatever the limits: a count kept for a check made elsewhere. */
  count(key: string): Release {
    this.held.set(key, this.heldBy(key) + 1);
    this.all++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.all--;
      const left = (this.held.get(key) ?? 1) - 1;
      if (left <= 0) this.held.delete(key);
      else this.held.set(key, left);
    };
  }
}
