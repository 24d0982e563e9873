/**
 * RaftLog: the stable log plus the unstable suffix, with commit and applied marks. Tables in the
 * style of etcd-raft's log_test.go. Terms are written as arrays: `[1, 1, 2]` is entries 1..3
 * with terms 1, 1 and 2.
 */
import { describe, expect, it } from 'vitest';
import { RaftLog } from '../../src/core/consensus/raft-log.ts';
import type { Entry } from '../../src/core/consensus/types.ts';
import { MemStableLog } from './mem-stable-log.ts';

function entry(index: number, term: number): Entry {
  return { index, term, data: `e${index}@${term}` };
}

/** Entries `from`, `from + 1`, ... with `terms`. */
function run(from: number, terms: readonly number[]): Entry[] {
  return terms.map((term, i) => entry(from + i, term));
}

/** A RaftLog over a stable log with `stable` terms, then `unstable` terms appended (not persisted). */
function logOf(stable: readonly number[], unstable: readonly number[] = [], committed = 0) {
  const stableLog = MemStableLog.of(run(1, stable));
  const log = new RaftLog(stableLog, 0);
  log.append(run(stable.length + 1, unstable));
  log.commitTo(committed);
  return { log, stableLog };
}

function termsOf(log: RaftLog): number[] {
  return log.entries(1, log.lastIndex() + 1, 1000).map((e) => e.term);
}

describe('RaftLog.term and matchTerm', () => {
  const { log } = logOf([1, 1, 2], [3]);
  const cases = [
    { index: 0, term: 0 },
    { index: 1, term: 1 },
    { index: 3, term: 2 },
    { index: 4, term: 3 },
    { index: 5, term: undefined },
  ] as const;
  it.each(cases)('reads term $term at index $index across stable and unstable', ({ index, term }) => {
    expect(log.term(index)).toBe(term);
    if (term !== undefined) expect(log.matchTerm(index, term)).toBe(true);
    expect(log.matchTerm(index, 99)).toBe(false);
  });
});

describe('RaftLog.isUpToDate (the election restriction, Raft §5.4.1)', () => {
  // Our log ends at index 3, term 2.
  const { log } = logOf([1, 1, 2]);
  const cases = [
    { lastIndex: 3, lastTerm: 2, upToDate: true, why: 'same last entry' },
    { lastIndex: 4, lastTerm: 2, upToDate: true, why: 'same last term, longer' },
    { lastIndex: 2, lastTerm: 2, upToDate: false, why: 'same last term, shorter' },
    { lastIndex: 1, lastTerm: 3, upToDate: true, why: 'higher last term, even if shorter' },
    { lastIndex: 9, lastTerm: 1, upToDate: false, why: 'lower last term, even if longer' },
    { lastIndex: 0, lastTerm: 0, upToDate: false, why: 'empty log' },
  ] as const;
  it.each(cases)('is $upToDate for a log ending at ($lastIndex, $lastTerm): $why', ({ lastIndex, lastTerm, upToDate }) => {
    expect(log.isUpToDate(lastIndex, lastTerm)).toBe(upToDate);
  });
});

describe('RaftLog.append', () => {
  const cases = [
    { name: 'appends after the last entry', append: run(4, [3]), terms: [1, 2, 2, 3] },
    { name: 'replaces a conflicting stable suffix', append: run(3, [3]), terms: [1, 2, 3] },
    { name: 'replaces everything after the first appended entry', append: run(2, [3, 3]), terms: [1, 3, 3] },
    { name: 'appends nothing for no entries', append: [], terms: [1, 2, 2] },
  ] as const;
  it.each(cases)('$name', ({ append, terms }) => {
    const { log } = logOf([1, 2, 2]);
    log.append(append);
    expect(termsOf(log)).toEqual(terms);
    expect(log.lastIndex()).toBe(terms.length);
  });

  it('replaces a conflicting unstable suffix', () => {
    const { log } = logOf([1], [2, 2, 2]);
    log.append(run(3, [3]));
    expect(termsOf(log)).toEqual([1, 2, 3]);
    expect(log.unstableEntries().map((e) => e.index)).toEqual([2, 3]);
  });

  const refused = [
    { name: 'a committed entry', append: run(2, [3]), message: /committed/ },
    { name: 'a gap after the last entry', append: run(5, [3]), message: /gap/ },
  ] as const;
  it.each(refused)('asserts instead of overwriting $name', ({ append, message }) => {
    const { log } = logOf([1, 2, 2], [], 2);
    expect(() => log.append(append)).toThrow(message);
    expect(termsOf(log)).toEqual([1, 2, 2]);
  });
});

describe('RaftLog.maybeAppend (a follower receiving AppendEntries)', () => {
  // Log [1, 2, 3], committed 1, like etcd-raft's TestLogMaybeAppend.
  const cases = [
    { name: 'matches with no entries', prev: [3, 3], commit: 3, ents: [], last: 3, committed: 3, terms: [1, 2, 3] },
    { name: 'appends new entries', prev: [3, 3], commit: 3, ents: run(4, [4]), last: 4, committed: 3, terms: [1, 2, 3, 4] },
    { name: 'commits up to the leader commit', prev: [3, 3], commit: 4, ents: run(4, [4]), last: 4, committed: 4, terms: [1, 2, 3, 4] },
    { name: 'commits no further than the last new entry', prev: [3, 3], commit: 9, ents: run(4, [4]), last: 4, committed: 4, terms: [1, 2, 3, 4] },
    { name: 'commits no further than the leader commit', prev: [3, 3], commit: 4, ents: run(4, [4, 4]), last: 5, committed: 4, terms: [1, 2, 3, 4, 4] },
    { name: 'rejects a term mismatch at prev', prev: [3, 2], commit: 3, ents: run(4, [4]), last: undefined, committed: 1, terms: [1, 2, 3] },
    { name: 'rejects a prev beyond its log', prev: [4, 3], commit: 3, ents: run(5, [4]), last: undefined, committed: 1, terms: [1, 2, 3] },
    { name: 'truncates a conflicting suffix', prev: [2, 2], commit: 3, ents: run(3, [4]), last: 3, committed: 3, terms: [1, 2, 4] },
    { name: 'truncates from the first conflict only', prev: [1, 1], commit: 3, ents: run(2, [2, 4, 4]), last: 4, committed: 3, terms: [1, 2, 4, 4] },
    { name: 'keeps matching entries beyond an older message', prev: [0, 0], commit: 3, ents: run(1, [1]), last: 1, committed: 1, terms: [1, 2, 3] },
    { name: 'keeps a log that already has every entry', prev: [1, 1], commit: 2, ents: run(2, [2, 3]), last: 3, committed: 2, terms: [1, 2, 3] },
  ] as const;
  it.each(cases)('$name', ({ prev, commit, ents, last, committed, terms }) => {
    const { log } = logOf([1, 2, 3], [], 1);
    expect(log.maybeAppend(prev[0], prev[1], commit, ents)).toBe(last);
    expect(log.committed).toBe(committed);
    expect(termsOf(log)).toEqual(terms);
  });

  it('asserts instead of truncating a committed entry', () => {
    const { log } = logOf([1, 2, 3], [], 2);
    expect(() => log.maybeAppend(1, 1, 3, run(2, [4]))).toThrow(/committed/);
  });
});

describe('RaftLog.entries', () => {
  // Stable [1, 1, 2], unstable [3, 3] at 4..5.
  const cases = [
    { lo: 1, hi: 6, max: 100, indexes: [1, 2, 3, 4, 5] },
    { lo: 2, hi: 5, max: 100, indexes: [2, 3, 4] },
    { lo: 4, hi: 6, max: 100, indexes: [4, 5] },
    { lo: 2, hi: 6, max: 2, indexes: [2, 3] },
    { lo: 3, hi: 99, max: 100, indexes: [3, 4, 5] },
    { lo: 6, hi: 9, max: 100, indexes: [] },
  ] as const;
  it.each(cases)('reads [$lo, $hi) capped at $max across stable and unstable', ({ lo, hi, max, indexes }) => {
    const { log } = logOf([1, 1, 2], [3, 3]);
    const got = log.entries(lo, hi, max);
    expect(got.map((e) => e.index)).toEqual(indexes);
    got.forEach((e) => expect(e.term).toBe(log.term(e.index)));
  });

  it('hides stable entries an unstable append replaced', () => {
    const { log } = logOf([1, 1, 2, 2]);
    log.append(run(3, [3]));
    expect(log.entries(1, 10, 100).map((e) => e.term)).toEqual([1, 1, 3]);
    expect(log.term(4)).toBeUndefined();
  });
});

describe('RaftLog.stableTo', () => {
  const cases = [
    { name: 'drops persisted entries from the unstable suffix', to: [4, 3], unstable: [5] },
    { name: 'drops the whole suffix once all of it is persisted', to: [5, 3], unstable: [] },
    { name: 'ignores a term that no longer matches', to: [4, 2], unstable: [4, 5] },
    { name: 'ignores an index below the unstable suffix', to: [2, 1], unstable: [4, 5] },
  ] as const;
  it.each(cases)('$name', ({ to, unstable }) => {
    const { log, stableLog } = logOf([1, 1, 2], [3, 3]);
    stableLog.append(log.unstableEntries().filter((e) => e.index <= to[0] && e.term === to[1]), undefined);
    log.stableTo(to[0], to[1]);
    expect(log.unstableEntries().map((e) => e.index)).toEqual(unstable);
    expect(log.lastIndex()).toBe(5);
    expect(log.entries(1, 6, 10).map((e) => e.term)).toEqual([1, 1, 2, 3, 3]);
  });
});

describe('RaftLog.nextCommitted', () => {
  const cases = [
    { applied: 0, committed: 3, persisted: 3, max: 100, indexes: [1, 2, 3] },
    { applied: 1, committed: 3, persisted: 3, max: 100, indexes: [2, 3] },
    { applied: 1, committed: 5, persisted: 5, max: 100, indexes: [2, 3, 4, 5] },
    { applied: 1, committed: 5, persisted: 5, max: 2, indexes: [2, 3] },
    { applied: 3, committed: 3, persisted: 3, max: 100, indexes: [] },
    // Committed (by a quorum elsewhere) but not yet durable here: not handed out (etcd's nextCommittedEnts).
    { applied: 1, committed: 5, persisted: 3, max: 100, indexes: [2, 3] },
    { applied: 1, committed: 5, persisted: 4, max: 100, indexes: [2, 3, 4] },
    { applied: 3, committed: 5, persisted: 3, max: 100, indexes: [] },
  ] as const;
  it.each(cases)('hands out ($applied, min($committed, $persisted)] at most $max', ({ applied, committed, persisted, max, indexes }) => {
    // Entries 1..5 of terms 1, 1, 2, 3, 3: through `persisted` in the stable log, the rest unstable.
    const terms = [1, 1, 2, 3, 3];
    const log = new RaftLog(MemStableLog.withTerms(terms.slice(0, persisted)), applied);
    log.append(run(persisted + 1, terms.slice(persisted)));
    log.commitTo(committed);
    expect(log.nextCommitted(max).map((e) => e.index)).toEqual(indexes);
  });

  it('asserts that applied stays within [applied, committed]', () => {
    const log = new RaftLog(MemStableLog.withTerms([1, 1, 2]), 1);
    log.commitTo(2);
    expect(() => log.appliedTo(3)).toThrow(/outside/);
    log.appliedTo(2);
    expect(() => log.appliedTo(1)).toThrow(/outside/);
  });
});
