/**
 * What a Ready reports and when entries count as durable: the role, leader and term come out as
 * softState when they change (and only then); the leader counts its own entries toward the quorum
 * only once `advance` reports them persisted; no member hands out a committed entry before it is
 * durable locally (etcd's nextCommittedEnts, bounded by the stable index).
 */
import { describe, expect, it } from 'vitest';
import type { RaftMessage } from '../../src/core/consensus/messages.ts';
import { Raft } from '../../src/core/consensus/raft.ts';
import type { HardState, Ready } from '../../src/core/consensus/types.ts';
import { MemStableLog } from './mem-stable-log.ts';

const ELECTION = 10;

/** Member 1 with one entry of term 1, committed and applied. */
function member(members: readonly number[], heartbeatTicks = 1) {
  const hardState: HardState = { term: 1, vote: 0, commit: 1 };
  const store = MemStableLog.withTerms([1], hardState);
  const raft = new Raft({ id: 1, members, log: store, hardState, appliedIndex: 1, electionTicks: ELECTION, heartbeatTicks, random: () => 0 });
  /** Persists, then advances, the next Ready (a host without overlap). */
  const take = (): Ready => {
    const ready = raft.ready();
    store.persist(ready);
    raft.advance(ready);
    return ready;
  };
  const settle = () => {
    for (let i = 0; i < 10 && raft.hasReady(); i++) take();
  };
  return { raft, store, take, settle };
}

/** Elects member 1 in term 2 with member 2's votes; its first Ready (the empty entry) is left untaken. */
function leader(members: readonly number[], heartbeatTicks = 1) {
  const m = member(members, heartbeatTicks);
  for (let i = 0; i < ELECTION && m.raft.status().role === 'follower'; i++) m.raft.tick();
  m.settle();
  m.raft.step({ type: 'MsgPreVoteResp', from: 2, to: 1, term: 2, granted: true });
  m.settle();
  m.raft.step({ type: 'MsgVoteResp', from: 2, to: 1, term: 2, granted: true });
  expect(m.raft.status().role).toBe('leader');
  return m;
}

const heartbeat = (term: number): RaftMessage => ({ type: 'MsgHeartbeat', from: 2, to: 1, term, commit: 1 });

describe('Ready.softState', () => {
  const cases = [
    { name: 'a leader is heard of at a higher term', steps: [heartbeat(2)], expected: { role: 'follower', leader: 2, term: 2 } },
    { name: 'a vote is granted at a higher term (term alone)', steps: [{ type: 'MsgVote', from: 2, to: 1, term: 2, lastIndex: 1, lastTerm: 1 }], expected: { role: 'follower', leader: 0, term: 2 } },
    { name: 'the known leader sends another heartbeat', steps: [heartbeat(2), 'take', heartbeat(2)], expected: undefined },
    { name: 'a stale heartbeat arrives', steps: [heartbeat(2), 'take', heartbeat(1)], expected: undefined },
    { name: 'an election timeout starts a pre-vote', steps: [...Array<'tick'>(ELECTION).fill('tick')], expected: { role: 'precandidate', leader: 0, term: 1 } },
  ] as const;
  it.each(cases)('is $expected when $name', ({ steps, expected }) => {
    const m = member([1, 2, 3]);
    for (const step of steps) {
      if (step === 'take') m.take();
      else if (step === 'tick') m.raft.tick();
      else m.raft.step(step as RaftMessage);
    }
    expect(m.raft.hasReady()).toBe(true);
    expect(m.take().softState).toEqual(expected);
  });

  it('reports a leader stepping down on check-quorum in a Ready of its own', () => {
    // Heartbeats only every 100 ticks: the step-down is the only thing the last tick changes.
    const m = leader([1, 2, 3], 100);
    expect(m.take().softState).toEqual({ role: 'leader', leader: 1, term: 2 });
    m.settle();
    for (let i = 0; i < 3 * ELECTION && m.raft.status().role === 'leader'; i++) {
      m.settle();
      m.raft.tick();
    }
    expect(m.raft.hasReady()).toBe(true);
    const ready = m.take();
    expect(ready).toMatchObject({ softState: { role: 'follower', leader: 0, term: 2 }, entries: [], messages: [], messagesBeforePersist: [], hardState: undefined });
    expect(m.raft.hasReady()).toBe(false);
  });
});

describe('durability before commit', () => {
  const orders = [['ack', 'persist'], ['persist', 'ack']] as const;
  it.each(orders)('commits a leader\'s entry (one follower) only after both, here %s then %s', (first, second) => {
    const m = leader([1, 2]);
    const ready = m.raft.ready();
    expect(ready.entries.map((e) => e.index)).toEqual([2]);
    // The append may go before the leader's own write (thesis §10.2.1); nothing else does.
    expect(ready.messagesBeforePersist.map((msg) => msg.type)).toEqual(['MsgApp']);
    expect(ready.messages).toEqual([]);
    const act = (what: 'ack' | 'persist') => {
      if (what === 'ack') m.raft.step({ type: 'MsgAppResp', from: 2, to: 1, term: 2, index: 2, rejected: false });
      else {
        m.store.persist(ready);
        m.raft.advance(ready);
      }
    };
    act(first);
    expect(m.raft.status().commitIndex).toBe(1);
    act(second);
    expect(m.raft.status().commitIndex).toBe(2);
    const next = m.take();
    expect(next.committed.map((e) => e.index)).toEqual([2]);
    // The follower learns the new commit index at once.
    expect(next.messagesBeforePersist).toContainEqual(expect.objectContaining({ type: 'MsgApp', to: 2, commit: 2 }));
  });

  it('hands a follower committed entries only once they are durable there', () => {
    const m = member([1, 2, 3]);
    const entries = [{ term: 2, index: 2, data: 'a' }, { term: 2, index: 3, data: 'b' }];
    m.raft.step({ type: 'MsgApp', from: 2, to: 1, term: 2, prevIndex: 1, prevTerm: 1, commit: 3, entries });
    const ready = m.raft.ready();
    expect(ready.hardState?.commit).toBe(3);
    expect(ready.entries).toEqual(entries);
    expect(ready.committed).toEqual([]);
    // The ack waits for the disk.
    expect(ready.messages).toEqual([{ type: 'MsgAppResp', from: 1, to: 2, term: 2, index: 3, rejected: false }]);
    expect(ready.messagesBeforePersist).toEqual([]);
    m.store.persist(ready);
    m.raft.advance(ready);
    expect(m.take().committed.map((e) => e.data)).toEqual(['a', 'b']);
  });
});
