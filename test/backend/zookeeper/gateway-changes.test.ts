/**
 * GatewayChanges (src/backend/zookeeper/gateway-changes.ts) over a scripted ZooKeeper client:
 * which watches the shared connection is asked for as exact and recursive streams of one path
 * come and go, and that no stream is left with a silent hole when a watch is set again.
 */
import { describe, expect, it } from 'vitest';
import { GatewayChanges } from '../../../src/backend/zookeeper/gateway-changes.ts';
import type { ChangeSubscriber } from '../../../src/backend/backend.ts';
import type { ZooKeeperClient } from '../../../src/zookeeper-client/client.ts';
import { ZERO_STAT } from '../../../src/zookeeper-client/records.ts';
import { waitFor } from '../../support/corral-process.ts';

/** A client that records the watch calls and answers them at the ensemble's current zxid. */
function scripted(lingerMs = 0, lingeringMax = 1024) {
  /** `writesDuringRemoval`: how far other clients move the ensemble while a removal is under way. */
  /** `watchAnswered`: when ZooKeeper answers an addWatch (at once unless a test holds it back). */
  const ensemble = { zxid: 100, writesDuringRemoval: 0, watchAnswered: Promise.resolve() };
  const calls: string[] = [];
  const client = {
    addWatch: async (path: string, mode: string) => {
      calls.push(`add ${mode} ${path}`);
      await ensemble.watchAnswered;
      return { zxid: BigInt(ensemble.zxid) };
    },
    removeWatches: async (path: string) => {
      calls.push(`remove ${path}`);
      const answer = { zxid: BigInt(ensemble.zxid) };
      ensemble.zxid += ensemble.writesDuringRemoval;
      return answer;
    },
    getACL: async () => ({ acl: [{ perms: 31, scheme: 'world', id: 'anyone' }], stat: ZERO_STAT }),
  };
  const changes = new GatewayChanges({
    client: () => client as unknown as ZooKeeperClient,
    appliedZxid: () => ensemble.zxid,
    sawZxid: () => undefined,
    historyEventsMax: 100,
    lingerMs,
    lingeringMax,
    onError: (error) => { throw new Error(`${error.code}: ${error.message}`); },
  });
  return { ensemble, calls, changes };
}

function recorder(): ChangeSubscriber & { gaps: number[] } {
  const gaps: number[] = [];
  return { gaps, changed: () => undefined, gap: (zxid) => { gaps.push(zxid); } };
}

describe('GatewayChanges', () => {
  it('leaves the recursive watch in place when the exact streams of its path end', async () => {
    const { calls, changes } = scripted();
    const closeExact = changes.subscribe('/p', false, recorder());
    changes.subscribe('/p', true, recorder());
    await waitFor(() => changes.confirmedWatches().length === 2, { timeoutMs: 2000, what: 'both watches confirmed' });
    closeExact();
    // Removing the path's watch and setting the recursive one again would leave a window in which
    // the recursive streams hear nothing and are not told so. (unwatch would ask at once.)
    expect(calls.filter((c) => c.startsWith('remove'))).toEqual([]);
    expect(changes.confirmedWatches()).toEqual(['r:/p']);
  });

  it('tells the exact streams of a gap when their watch is set again after the recursive ones end', async () => {
    const { ensemble, calls, changes } = scripted();
    const exact = recorder();
    changes.subscribe('/p', false, exact);
    const closeRecursive = changes.subscribe('/p', true, recorder());
    await waitFor(() => changes.confirmedWatches().length === 2, { timeoutMs: 2000, what: 'both watches confirmed' });
    ensemble.writesDuringRemoval = 5;
    closeRecursive();
    await waitFor(() => calls.at(-1) === 'add persistent /p', { timeoutMs: 2000, what: 'the exact watch set again' });
    await waitFor(() => exact.gaps.length > 0, { timeoutMs: 2000, what: 'the gap' });
    expect(exact.gaps).toEqual([105]);
    expect(changes.floor('/p', false)).toBeGreaterThanOrEqual(105);
  });

  it('removes the path\'s watch when its last stream ends', async () => {
    const { calls, changes } = scripted();
    const close = changes.subscribe('/q', true, recorder());
    await waitFor(() => changes.confirmedWatches().length === 1, { timeoutMs: 2000, what: 'the watch confirmed' });
    close();
    await waitFor(() => calls.includes('remove /q'), { timeoutMs: 2000, what: 'the removal' });
    expect(changes.confirmedWatches()).toEqual([]);
  });

  it('keeps a path\'s watch while it lingers after its last stream, so a stream back within it resumes with no reset', async () => {
    const { ensemble, calls, changes } = scripted(60_000);
    const close = changes.subscribe('/q', true, recorder());
    await waitFor(() => changes.confirmedWatches().length === 1, { timeoutMs: 2000, what: 'the watch confirmed' });
    close();
    ensemble.zxid = 140; // the path's changes meanwhile are heard and kept in the history
    const back = recorder();
    const closeAgain = changes.subscribe('/q', true, back);
    expect(changes.floor('/q', true)).toBe(100);
    expect(calls).toEqual(['add persistent_recursive /q']);
    expect(back.gaps).toEqual([]);
    closeAgain();
    changes.close();
  });

  it('holds a stream\'s watch until ZooKeeper set it, so the stream subscribed then hears no gap for the changes before', async () => {
    const { ensemble, calls, changes } = scripted();
    let answer = () => undefined as void;
    ensemble.watchAnswered = new Promise<void>((resolve) => (answer = resolve));
    const held = changes.hold('/h', true);
    let ready = false;
    void held.ready.then(() => (ready = true));
    ensemble.zxid = 107; // other clients write before ZooKeeper gets to the watch
    await waitFor(() => calls.length === 1, { timeoutMs: 2000, what: 'the watch asked for' });
    expect(ready).toBe(false);
    answer();
    await held.ready;
    expect(changes.confirmedWatches()).toEqual(['r:/h']);
    const stream = recorder();
    changes.subscribe('/h', true, stream);
    held.release();
    held.release(); // twice: the stream subscribed, then its response closed
    expect(changes.watchedPaths()).toEqual(['r:/h']);
    expect(changes.floor('/h', true)).toBe(107);
    expect(stream.gaps).toEqual([]);
  });

  it('removes a held watch when its stream went away before subscribing', async () => {
    const { calls, changes } = scripted();
    const held = changes.hold('/gone', false);
    await held.ready;
    held.release();
    await waitFor(() => calls.includes('remove /gone'), { timeoutMs: 2000, what: 'the removal' });
    expect(changes.watchedPaths()).toEqual([]);
  });

  it('removes a lingering watch once its linger ends without a stream', async () => {
    const { ensemble, calls, changes } = scripted(50);
    const close = changes.subscribe('/q', true, recorder());
    await waitFor(() => changes.confirmedWatches().length === 1, { timeoutMs: 2000, what: 'the watch confirmed' });
    close();
    expect(changes.watchedPaths()).toEqual(['r:/q']);
    await waitFor(() => calls.includes('remove /q'), { timeoutMs: 2000, what: 'the removal after the linger' });
    expect(changes.watchedPaths()).toEqual([]);
    // Watched afresh: a resume from before now is not covered.
    ensemble.zxid = 150;
    changes.subscribe('/q', true, recorder());
    expect(changes.floor('/q', true)).toBe(150);
    changes.close();
  });

  it('does not reset a resume on one path because a watch on another path was set since', async () => {
    const { ensemble, changes } = scripted();
    changes.subscribe('/a', true, recorder());
    await waitFor(() => changes.confirmedWatches().length === 1, { timeoutMs: 2000, what: 'the watch on /a' });
    ensemble.zxid = 150;
    changes.subscribe('/b', true, recorder());
    await waitFor(() => changes.confirmedWatches().length === 2, { timeoutMs: 2000, what: 'the watch on /b' });
    expect(changes.floor('/a', true)).toBe(100);
    expect(changes.floor('/b', true)).toBe(150);
  });

  it('resets every path\'s resumes from before a reconnect', async () => {
    const { changes } = scripted();
    const stream = recorder();
    changes.subscribe('/a', true, stream);
    await waitFor(() => changes.confirmedWatches().length === 1, { timeoutMs: 2000, what: 'the watch on /a' });
    changes.reconnected(160);
    await waitFor(() => stream.gaps.length === 1, { timeoutMs: 2000, what: 'the gap' });
    expect(stream.gaps).toEqual([160]);
    expect(changes.floor('/a', true)).toBe(160);
  });

  it('resets resumes only on the paths a burst of unknown ACLs touched', async () => {
    const { changes } = scripted();
    const touched = recorder();
    changes.subscribe('/a', true, touched);
    changes.subscribe('/b', true, recorder());
    await waitFor(() => changes.confirmedWatches().length === 2, { timeoutMs: 2000, what: 'both watches' });
    // A node deleted before the gateway ever read its ACL: who may hear of it is unknown.
    changes.deliver({ zxid: 120, events: [{ type: 'NodeDeleted', path: '/a/never-read', state: 3 }] });
    await waitFor(() => touched.gaps.length === 1, { timeoutMs: 2000, what: 'the gap on /a' });
    expect(touched.gaps).toEqual([120]);
    expect(changes.floor('/a', true)).toBe(120);
    expect(changes.floor('/b', true)).toBe(100);
  });

  it('keeps at most lingeringMax watches lingering, removing the one that lingered longest', async () => {
    const { calls, changes } = scripted(60_000, 2);
    for (const path of ['/1', '/2', '/3']) {
      const close = changes.subscribe(path, true, recorder());
      await waitFor(() => changes.confirmedWatches().includes(`r:${path}`), { timeoutMs: 2000, what: `the watch on ${path}` });
      close();
    }
    await waitFor(() => calls.includes('remove /1'), { timeoutMs: 2000, what: 'the oldest lingering watch removed' });
    expect(changes.watchedPaths()).toEqual(['r:/2', 'r:/3']);
    expect(calls.filter((c) => c.startsWith('remove'))).toEqual(['remove /1']);
    changes.close();
  });
});

