/**
 * Takes the oldest entries of a Map or a Set (insertion order) off its front in amortized O(1),
 * for the bounded tables that evict their oldest entry as they grow.
 *
 * `collection.keys().next()` is not O(1): it starts at the front of V8's hash table and steps over
 * every entry deleted there since the table was last rehashed, so evicting the oldest of a full
 * table of 65,536 that way cost ~11 µs a call, against ~0.3 µs with a cursor kept between calls
 * (BENCHMARKS.md, "Evicting the oldest entry").
 *
 * Invariant: every entry the cursor has passed is gone from the collection (take() deletes what it
 * yields, and an entry deleted and set again is a new entry at the end), so the cursor's next entry
 * is the oldest present.
 */

/** A Map or a Set, as far as taking its oldest entry needs (a Set's entries are [value, value]). */
export interface Evictable<K, V> {
  readonly size: number;
  entries(): IterableIterator<[K, V]>;
  delete(key: K): boolean;
}

export class OldestFirst<K, V> {
  private cursor: Iterator<[K, V]> | undefined;

  constructor(private readonly collection: Evictable<K, V>) {}

  /** Deletes the oldest entry and returns it; undefined when the collection is empty. */
  take(): [K, V] | undefined {
    if (this.collection.size === 0) return undefined;
    let step = (this.cursor ??= this.collection.entries()).next();
    if (step.done === true) {
      // An iterator that ran off the end stays there: entries set since are ahead of a fresh one.
      this.cursor = this.collection.entries();
      step = this.cursor.next();
      if (step.done === true) return undefined;
    }
    this.collection.delete(step.value[0]);
    return step.value;
  }
}
