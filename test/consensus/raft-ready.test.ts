/**
 * The Ready contract (etcd-raft's): persist hardState and entries, then send messages, then
 * apply committed entries, then advance. Committed entries come out in order, each once, also
 * across restarts and when a Ready is capped; state changed between ready() and advance() is
 * not lost.
 */
import { describe, expect, it } from 'vitest';
import { Raft } from '../../src/core/consensus/raft.ts';
import type { Entry, HardState } from '../../src/core/consensus/types.ts';
import { MemStableLog } from './mem-stable-log.ts';
import { drain, ELECTION_TICKS, HEARTBEAT_TICKS } from './raft-network.ts';

function member(terms: readonly number[], hardState: HardState, appliedIndex: number, maxCommittedPerReady?: number) {
  const store = MemStableLog.withTerms(terms, hardState);
  const raft = new Raft({
    id: 1, members: [1, 2, 3], log: store, hardState, appliedIndex, electionTicks: ELECTION_TICKS,
    heartbeatTicks: HEARTBEAT_TICKS, random: () => 0, ...(maxCommittedPerReady ? { maxCommittedPerReady } : {}),
  });
  return { raft, store, applied: [] as Entry[] };
}

describe('Ready', () => {
  const restarts = [
    { applied: 0, commit: 4, indexes: [1, 2, 3, 4] },
    { applied: 2, commit: 4, indexes: [3, 4] },
    { applied: 4, commit: 4, indexes: [] },
    { applied: 3, commit: 1, indexes: [] },
  ] as const;
  it.each(restarts)('hands a member restarted at applied $applied, commit $commit, entries $indexes', ({ applied, commit, indexes }) => {
    const m = member([1, 1, 2, 2, 2], { term: 2, vote: 0, commit }, applied);
    expect(m.raft.status()).toMatchObject({ appliedIndex: applied, commitIndex: Math.max(applied, commit), lastIndex: 5 });
    const committed = m.raft.hasReady() ? drain(m).committed : [];
    expect(committed.map((e) => e.index)).toEqual(indexes);
    expect(m.raft.hasReady()).toBe(false);
  });

  it('caps committed entries per Ready and hands out each exactly once, in order', () => {
    const m = member([1, 1, 1, 1, 1, 1, 1], { term: 1, vote: 0, commit: 7 }, 0, 3);
    const batches: number[][] = [];
    for (let i = 0; i < 10 && m.raft.hasReady(); i++) batches.push(drain(m).committed.map((e) => e.index));
    expect(batches).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
  });

  it('keeps a vote cast between ready() and advance() for the next Ready', () => {
    const m = member([1], { term: 1, vote: 0, commit: 1 }, 1);
    m.raft.step({ type: 'MsgVote', from: 2, to: 1, term: 2, lastIndex: 1, lastTerm: 1 });
    const first = m.raft.ready();
    expect(first.hardState).toMatchObject({ term: 2, vote: 2 });
    // While the first Ready is on its way to disk, a candidate of term 3 asks for a vote.
    m.raft.step({ type: 'MsgVote', from: 3, to: 1, term: 3, lastIndex: 1, lastTerm: 1 });
    m.store.persist(first);
    m.raft.advance(first);
    const second = drain(m);
    expect(second.hardState).toMatchObject({ term: 3, vote: 3 });
    expect(second.messages).toEqual([{ type: 'MsgVoteResp', from: 1, to: 3, term: 3, granted: true }]);
    expect(m.store.hardState()).toMatchObject({ term: 3, vote: 3 });
  });

  it('persists entries a new leader replaced between ready() and advance() correctly', () => {
    const m = member([1], { term: 1, vote: 0, commit: 1 }, 1);
    m.raft.step({ type: 'MsgApp', from: 2, to: 1, term: 2, prevIndex: 1, prevTerm: 1, commit: 1, entries: [{ term: 2, index: 2, data: 'old' }] });
    const first = m.raft.ready();
    m.raft.step({ type: 'MsgApp', from: 3, to: 1, term: 3, prevIndex: 1, prevTerm: 1, commit: 2, entries: [{ term: 3, index: 2, data: 'new' }] });
    m.store.persist(first);
    m.raft.advance(first);
    const second = drain(m);
    expect(second.entries).toEqual([{ term: 3, index: 2, data: 'new' }]);
    // Committed already, but being written by this very Ready: applied only once durable.
    expect(second.committed).toEqual([]);
    expect(drain(m).committed.map((e) => e.data)).toEqual(['new']);
    expect(m.store.entries(1, 3, 10).map((e) => e.data)).toEqual(['e1', 'new']);
    expect(m.raft.hasReady()).toBe(false);
  });

  it('takes a checkpoint installed between ready() and advance() over the entries that Ready applied', () => {
    // Found by CI: a deposed leader applied entries through 2 in a Ready still on its way to disk
    // when the new leader's checkpoint at 6 arrived; advancing that Ready must not move applied back.
    const m = member([1, 1, 1], { term: 1, vote: 0, commit: 2 }, 0);
    const first = m.raft.ready();
    expect(first.committed.map((e) => e.index)).toEqual([1, 2]);
    m.raft.step({ type: 'MsgSnap', from: 2, to: 1, term: 2, snapshotIndex: 6, snapshotTerm: 2 });
    m.store.persist(first);
    m.raft.advance(first);
    expect(m.raft.status()).toMatchObject({ appliedIndex: 6, commitIndex: 6 });
    const second = drain(m);
    expect(second.snapshot).toEqual({ index: 6, term: 2 });
    expect(second.committed).toEqual([]);
    expect(m.raft.hasReady()).toBe(false);
  });

  it('has no Ready for a quiet follower', () => {
    const m = member([1, 1], { term: 1, vote: 0, commit: 2 }, 2);
    expect(m.raft.hasReady()).toBe(false);
    m.raft.tick();
    expect(m.raft.hasReady()).toBe(false);
  });
});

/** A cluster of one that has elected itself and drained its first Readies. */
function soleLeader() {
  const store = MemStableLog.withTerms([], { term: 0, vote: 0, commit: 0 });
  const raft = new Raft({ id: 1, members: [1], log: store, hardState: store.hardState(), appliedIndex: 0, electionTicks: ELECTION_TICKS, heartbeatTicks: HEARTBEAT_TICKS, random: () => 0 });
  const m = { raft, store, applied: [] as Entry[] };
  for (let i = 0; i < 3 * ELECTION_TICKS && raft.status().role !== 'leader'; i++) raft.tick();
  for (let i = 0; i < 10 && raft.hasReady(); i++) drain(m);
  expect(raft.status().role).toBe('leader');
  return { raft, store };
}

describe('committedReady', () => {
  it('hands the committed entries alone, leaving entries proposed meanwhile to the next Ready, each once', () => {
    const { raft, store } = soleLeader();
    const a = raft.propose('a');
    const first = raft.ready();
    expect(first.entries.map((e) => e.data)).toEqual(['a']);
    store.persist(first);
    raft.advance(first); // durable: the sole voter commits it
    const b = raft.propose('b'); // proposed while the host applies
    const committed = raft.committedReady();
    expect(committed.committed.map((e) => e.index)).toEqual([a.ok && a.index]);
    expect(committed).toMatchObject({ entries: [], messages: [], messagesBeforePersist: [], readStates: [], hardState: undefined });
    raft.advance(committed);
    const next = raft.ready();
    expect(next.entries.map((e) => e.index)).toEqual([b.ok && b.index]);
    expect(next.committed, 'an entry is handed out once').toEqual([]);
    expect(raft.committedReady().committed, 'b is not durable yet').toEqual([]);
  });

  it('leaves a Ready\'s entries as they were handed out when more are proposed before advance', () => {
    const { raft, store } = soleLeader();
    raft.propose('a');
    const ready = raft.ready();
    raft.propose('b');
    raft.propose('c');
    expect(ready.entries.map((e) => e.data)).toEqual(['a']);
    store.persist(ready);
    raft.advance(ready);
    expect(raft.ready().entries.map((e) => e.data)).toEqual(['b', 'c']);
  });
});
