// Specification of ChangeFeed's live subscribers (src/node/change-feed.ts): indexed by the path
// they watch, an exact subscriber gets the events on its path only, a recursive one those on its
// path and below without NodeChildrenChanged; one transaction's events come in one call, in op
// order, the same array for every subscriber of the same path and kind; unsubscribing stops
// delivery and is counted once; events are handed over after the write's answer, in slices, in
// zxid order for every subscriber. Writes go through a real in-process node (app.request).
import { afterEach, describe, expect, it } from 'vitest';
import type { TreeEvent } from '../../src/core/tree/results.ts';
import type { ChangeSubscriber } from '../../src/node/change-feed.ts';
import { startTestNode, type TestNode } from '../support/test-node.ts';

let t: TestNode | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

class Recorder implements ChangeSubscriber {
  readonly batches: Array<readonly TreeEvent[]> = [];
  readonly gaps: number[] = [];
  changed(events: readonly TreeEvent[]): void {
    this.batches.push(events);
  }
  gap(zxid: number): void {
    this.gaps.push(zxid);
  }
  lines(): string[][] {
    return this.batches.map((b) => b.map((e) => `${e.type} ${e.path}`));
  }
}

/** A write, answered, and its events handed to the subscribers. */
async function write(method: string, url: string, body?: unknown): Promise<void> {
  const res = await t!.request(method, url, { body: body ?? '' });
  expect(res.status, `${method} ${url}`).toBeLessThan(300);
  await t!.node.changes.handedOver();
}

describe('ChangeFeed subscribers', () => {
  it('gives an exact subscriber the events on its path only, not its children\'s or a name-prefix neighbour\'s', async () => {
    t = startTestNode();
    const exact = new Recorder();
    t.node.changes.subscribe('/a', false, exact);
    await write('POST', '/v1/znodes/a');
    await write('POST', '/v1/znodes/ab');
    await write('POST', '/v1/znodes/a/b');
    await write('PUT', '/v1/znodes/a', 'x');
    expect(exact.lines()).toEqual([['NodeCreated /a'], ['NodeChildrenChanged /a'], ['NodeDataChanged /a']]);
  });

  it('gives a recursive subscriber its path and everything below, without NodeChildrenChanged', async () => {
    t = startTestNode();
    const below = new Recorder();
    const root = new Recorder();
    t.node.changes.subscribe('/a', true, below);
    t.node.changes.subscribe('/', true, root);
    await write('POST', '/v1/znodes/a');
    await write('POST', '/v1/znodes/ab');
    await write('POST', '/v1/znodes/a/b');
    await write('POST', '/v1/znodes/a/b/c');
    expect(below.lines()).toEqual([['NodeCreated /a'], ['NodeCreated /a/b'], ['NodeCreated /a/b/c']]);
    expect(root.lines()).toEqual([['NodeCreated /a'], ['NodeCreated /ab'], ['NodeCreated /a/b'], ['NodeCreated /a/b/c']]);
  });

  it('hands a multi\'s events in one call per subscriber, in op order, one shared array per path and kind', async () => {
    t = startTestNode();
    await write('POST', '/v1/znodes/m');
    const [one, two, other] = [new Recorder(), new Recorder(), new Recorder()];
    t.node.changes.subscribe('/m', true, one);
    t.node.changes.subscribe('/m', true, two);
    t.node.changes.subscribe('/m', false, other);
    await write('POST', '/v1/multi', { ops: [
      { op: 'create', path: '/m/x' }, { op: 'setData', path: '/m', data: 'd' }, { op: 'delete', path: '/m/x' },
    ] });
    expect(one.lines()).toEqual([['NodeCreated /m/x', 'NodeDataChanged /m', 'NodeDeleted /m/x']]);
    expect(two.batches[0]).toBe(one.batches[0]);
    expect(other.lines()).toEqual([['NodeChildrenChanged /m', 'NodeDataChanged /m', 'NodeChildrenChanged /m']]);
    expect(new Set(one.batches[0]!.map((e) => e.zxid)).size).toBe(1);
  });

  it('stops delivering once unsubscribed, and counts each subscriber once however often it unsubscribes', async () => {
    t = startTestNode();
    const { changes } = t.node;
    const [kept, dropped] = [new Recorder(), new Recorder()];
    changes.subscribe('/u', false, kept);
    const unsubscribe = changes.subscribe('/u', false, dropped);
    expect(changes.subscribers).toBe(2);
    await write('POST', '/v1/znodes/u');
    unsubscribe();
    unsubscribe();
    expect(changes.subscribers).toBe(1);
    await write('PUT', '/v1/znodes/u', 'x');
    expect(dropped.lines()).toEqual([['NodeCreated /u']]);
    expect(kept.lines()).toEqual([['NodeCreated /u'], ['NodeDataChanged /u']]);
  });

  it('answers the write before handing its events to a subscriber, then hands them over', async () => {
    t = startTestNode();
    const seen = new Recorder();
    t.node.changes.subscribe('/w', false, seen);
    const answered = t.request('POST', '/v1/znodes/w', { body: '' }).then(() => seen.batches.length);
    expect(await answered).toBe(0);
    await t.node.changes.handedOver();
    expect(seen.lines()).toEqual([['NodeCreated /w']]);
  });

  it('hands many subscribers every transaction of concurrent writes once, in zxid order, across slices', async () => {
    t = startTestNode();
    await write('POST', '/v1/znodes/c');
    const subscribers = Array.from({ length: 1500 }, () => new Recorder());
    for (const s of subscribers) t.node.changes.subscribe('/c', false, s);
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => t!.request('PUT', '/v1/znodes/c', { body: String(i) })));
    for (const res of answers) expect(res.status).toBe(200);
    await t.node.changes.handedOver();
    const zxids = subscribers[0]!.batches.map((b) => b[0]!.zxid);
    expect(zxids).toHaveLength(40);
    expect([...zxids].sort((a, b) => a - b)).toEqual(zxids);
    expect(new Set(zxids).size).toBe(40);
    for (const s of subscribers) expect(s.batches.map((b) => b[0]!.zxid)).toEqual(zxids);
  });

  it('hands a subscriber that takes several at once the transactions that queued up together, in zxid order, none twice', async () => {
    t = startTestNode();
    await write('POST', '/v1/znodes/q');
    const calls: Array<readonly (readonly TreeEvent[])[]> = [];
    const many = { changed: (events: readonly TreeEvent[]) => calls.push([events]), gap: () => undefined, changedMany: (b: readonly (readonly TreeEvent[])[]) => calls.push(b) };
    const other = new Recorder();
    t.node.changes.subscribe('/q', false, many);
    t.node.changes.subscribe('/q', false, other);
    // Sent together, committed and applied together: queued before the first hand-over.
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => t!.request('PUT', '/v1/znodes/q', { body: String(i) })));
    for (const res of answers) expect(res.status).toBe(200);
    await t.node.changes.handedOver();
    const zxids = calls.flat().map((b) => b[0]!.zxid);
    expect(zxids).toEqual(other.batches.map((b) => b[0]!.zxid));
    expect(zxids).toHaveLength(40);
    expect([...zxids].sort((a, b) => a - b)).toEqual(zxids);
    expect(calls.length).toBeLessThan(40);
  });

  it('tells a gap to a subscriber after the transactions queued before it', async () => {
    t = startTestNode();
    const order: string[] = [];
    t.node.changes.subscribe('/g', false, {
      changed: (events) => order.push(`changed ${events[0]!.zxid}`),
      gap: (zxid) => order.push(`gap ${zxid}`),
    });
    const res = await t.request('POST', '/v1/znodes/g', { body: '' });
    expect(res.status).toBe(201);
    // As the host does when the leader's checkpoint replaces the tree, with the create still queued.
    const zxid = t.node.changes.appliedZxid;
    t.node.changes.checkpointInstalled(zxid + 5);
    await t.node.changes.handedOver();
    expect(order).toEqual([`changed ${zxid}`, `gap ${zxid + 5}`]);
  });
});
