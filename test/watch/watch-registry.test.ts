// Specification of the watch registry (src/core/watch/watch-registry.ts): who hears about which
// change, per ZooKeeper's trigger table (/work/shared/ZK-SEMANTICS.md, Watches). Events come from
// real ops applied to a DataTree (test/tree/helpers.ts), so the table covers the tree's events too.
import { beforeEach, describe, expect, it } from 'vitest';
import { OPEN_ACL } from '../../src/core/acl/acl.ts';
import type { TreeEvent } from '../../src/core/tree/results.ts';
import type { WriteOp } from '../../src/core/tree/txn.ts';
import { WatchRegistry, type Delivery, type OneShotKind } from '../../src/core/watch/watch-registry.ts';
import { createOp, deleteOp, Harness, setDataOp } from '../tree/helpers.ts';

const LIMIT = 100;
let h: Harness;
let registry: WatchRegistry;
beforeEach(() => {
  h = new Harness();
  registry = new WatchRegistry([], LIMIT);
});

/** Applies `ops` (as one txn) and routes its events; returns what each session got as "Type path". */
function change(...ops: WriteOp[]): Map<number, string[]> {
  const { result, events } = h.write(ops);
  if (!result.ok) throw new Error(`write failed: ${result.error.code}`);
  return received(registry.route(events));
}

function received(deliveries: readonly Delivery[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const { sessionId, event } of deliveries) out.set(sessionId, [...(out.get(sessionId) ?? []), `${event.type} ${event.path}`]);
  return out;
}

const got = (deliveries: Map<number, string[]>, sessionId = 1) => deliveries.get(sessionId) ?? [];

// How each read maps to a one-shot watch kind: getData and exists set a data watch, getChildren a child watch.
const KIND: Record<'getData' | 'exists' | 'getChildren', OneShotKind> = { getData: 'data', exists: 'data', getChildren: 'child' };
const P = '/p/c';
const PARENT = '/p';
const OPS: Record<'create' | 'delete' | 'setData', WriteOp> = {
  create: createOp(P), delete: deleteOp(P), setData: setDataOp(P, 'x'),
};

const triggerTable = [
  { op: 'create', read: 'exists', on: P, fires: [`NodeCreated ${P}`] },
  { op: 'create', read: 'getData', on: PARENT, fires: [] },
  { op: 'create', read: 'getChildren', on: PARENT, fires: [`NodeChildrenChanged ${PARENT}`] },
  { op: 'delete', read: 'getData', on: P, fires: [`NodeDeleted ${P}`] },
  { op: 'delete', read: 'exists', on: P, fires: [`NodeDeleted ${P}`] },
  { op: 'delete', read: 'getChildren', on: P, fires: [`NodeDeleted ${P}`] },
  { op: 'delete', read: 'getData', on: PARENT, fires: [] },
  { op: 'delete', read: 'getChildren', on: PARENT, fires: [`NodeChildrenChanged ${PARENT}`] },
  { op: 'setData', read: 'getData', on: P, fires: [`NodeDataChanged ${P}`] },
  { op: 'setData', read: 'exists', on: P, fires: [`NodeDataChanged ${P}`] },
  { op: 'setData', read: 'getChildren', on: P, fires: [] },
  { op: 'setData', read: 'getData', on: PARENT, fires: [] },
  { op: 'setData', read: 'getChildren', on: PARENT, fires: [] },
] as const;

describe('WatchRegistry one-shot watches', () => {
  it.each(triggerTable)('$op P with a $read watch on $on fires $fires', ({ op, read, on, fires }) => {
    h.ok(createOp(PARENT));
    if (op !== 'create') h.ok(createOp(P));
    expect(registry.addOneShot(1, on, KIND[read])).toBe(true);
    expect(got(change(OPS[op]))).toEqual(fires);
    // Fired watches are consumed; the others stay for a later change.
    expect(registry.count(1)).toBe(fires.length > 0 ? 0 : 1);
  });

  it('fires a data watch once and not again on the next change', () => {
    h.ok(createOp('/a'));
    registry.addOneShot(1, '/a', 'data');
    expect(got(change(setDataOp('/a', '1')))).toEqual(['NodeDataChanged /a']);
    expect(got(change(setDataOp('/a', '2')))).toEqual([]);
    expect(registry.count(1)).toBe(0);
  });

  it('fires a child watch once on create', () => {
    h.ok(createOp('/a'));
    registry.addOneShot(1, '/a', 'child');
    expect(got(change(createOp('/a/x')))).toEqual(['NodeChildrenChanged /a']);
    expect(got(change(createOp('/a/y')))).toEqual([]);
  });

  it('counts a watch set twice on the same path and kind once and fires it once', () => {
    h.ok(createOp('/a'));
    registry.addOneShot(1, '/a', 'data');
    registry.addOneShot(1, '/a', 'data');
    expect(registry.count(1)).toBe(1);
    expect(got(change(setDataOp('/a', '1')))).toEqual(['NodeDataChanged /a']);
  });

  it('delivers one copy per session when several of its watches match one event', () => {
    h.ok(createOp('/a'));
    for (const session of [1, 2]) {
      registry.addOneShot(session, '/a', 'data');
      registry.addOneShot(session, '/a', 'child');
      registry.addPersistent(session, '/a', 'persistent');
      registry.addPersistent(session, '/', 'persistent_recursive');
    }
    const deliveries = change(deleteOp('/a'));
    expect(got(deliveries, 1)).toEqual(['NodeDeleted /a']);
    expect(got(deliveries, 2)).toEqual(['NodeDeleted /a']);
  });

  it('delivers in event order: the node before its parent, a multi in op order', () => {
    h.ok(createOp('/m'));
    registry.addPersistent(1, '/m', 'persistent');
    registry.addPersistent(1, '/m', 'persistent_recursive');
    const deliveries = change(createOp('/m/x'), setDataOp('/m', 'd'), createOp('/m/y'), deleteOp('/m/x'));
    expect(got(deliveries)).toEqual([
      'NodeCreated /m/x', 'NodeChildrenChanged /m', 'NodeDataChanged /m',
      'NodeCreated /m/y', 'NodeChildrenChanged /m', 'NodeDeleted /m/x', 'NodeChildrenChanged /m',
    ]);
  });

  it('does not fire for other sessions or other paths', () => {
    h.ok(createOp('/a'));
    h.ok(createOp('/ab'));
    registry.addOneShot(2, '/a', 'data');
    const deliveries = change(setDataOp('/ab', 'x'));
    expect(deliveries.size).toBe(0);
    expect(registry.count(2)).toBe(1);
  });
});

describe('WatchRegistry persistent watches', () => {
  it('fires every event type on its own path and stays', () => {
    registry.addPersistent(1, '/p', 'persistent');
    const seen = [
      ...got(change(createOp('/p'))),
      ...got(change(createOp('/p/c'))),
      ...got(change(setDataOp('/p', 'x'))),
      ...got(change(setDataOp('/p/c', 'x'))),
      ...got(change(deleteOp('/p/c'))),
      ...got(change(deleteOp('/p'))),
      ...got(change(createOp('/p'))),
    ];
    expect(seen).toEqual([
      'NodeCreated /p', 'NodeChildrenChanged /p', 'NodeDataChanged /p', 'NodeChildrenChanged /p',
      'NodeDeleted /p', 'NodeCreated /p',
    ]);
    expect(registry.count(1)).toBe(1);
  });

  it('fires a recursive watch for the path and every descendant, but not NodeChildrenChanged', () => {
    registry.addPersistent(1, '/p', 'persistent_recursive');
    const seen = [
      ...got(change(createOp('/p'))),
      ...got(change(createOp('/p/c'))),
      ...got(change(createOp('/p/c/d'))),
      ...got(change(setDataOp('/p/c/d', 'x'))),
      ...got(change(deleteOp('/p/c/d'))),
      ...got(change(setDataOp('/p', 'y'))),
    ];
    expect(seen).toEqual([
      'NodeCreated /p', 'NodeCreated /p/c', 'NodeCreated /p/c/d', 'NodeDataChanged /p/c/d',
      'NodeDeleted /p/c/d', 'NodeDataChanged /p',
    ]);
    expect(registry.count(1)).toBe(1);
  });

  it('does not fire a recursive watch for siblings that share a name prefix or for ancestors', () => {
    h.ok(createOp('/p'));
    registry.addPersistent(1, '/p/c', 'persistent_recursive');
    expect(got(change(createOp('/p/cc')))).toEqual([]);
    expect(got(change(setDataOp('/p', 'x')))).toEqual([]);
    expect(got(change(createOp('/p/c')))).toEqual(['NodeCreated /p/c']);
  });

  it('names the node that changed in a recursive watch\'s event', () => {
    registry.addPersistent(1, '/', 'persistent_recursive');
    const { events } = h.write([createOp('/deep')]);
    const deliveries = registry.route(events);
    expect(deliveries.map((d) => d.event)).toEqual([{ type: 'NodeCreated', path: '/deep', zxid: h.lastZxid, acl: OPEN_ACL } satisfies TreeEvent]);
  });
});

describe('WatchRegistry.remove (removeWatches)', () => {
  beforeEach(() => {
    h.ok(createOp('/a'));
  });

  it('removes a data watch with DataWatchRemoved, and then finds none (NOWATCHER)', () => {
    registry.addOneShot(1, '/a', 'data');
    expect(registry.remove(1, '/a', 'data')).toEqual(['DataWatchRemoved']);
    expect(registry.remove(1, '/a', 'data')).toBeUndefined();
    expect(got(change(setDataOp('/a', 'x')))).toEqual([]);
  });

  it('removes a child watch with ChildWatchRemoved', () => {
    registry.addOneShot(1, '/a', 'child');
    expect(registry.remove(1, '/a', 'children')).toEqual(['ChildWatchRemoved']);
    expect(got(change(createOp('/a/x')))).toEqual([]);
  });

  it('removes both kinds with type any', () => {
    registry.addOneShot(1, '/a', 'data');
    registry.addOneShot(1, '/a', 'child');
    expect(registry.remove(1, '/a', 'any')).toEqual(['DataWatchRemoved', 'ChildWatchRemoved']);
    expect(registry.count(1)).toBe(0);
  });

  it('answers undefined (NOWATCHER) for the other kind, another session or another path, and keeps the watch', () => {
    registry.addOneShot(1, '/a', 'data');
    expect(registry.remove(1, '/a', 'children')).toBeUndefined();
    expect(registry.remove(2, '/a', 'any')).toBeUndefined();
    expect(registry.remove(1, '/b', 'any')).toBeUndefined();
    expect(got(change(setDataOp('/a', 'x')))).toEqual(['NodeDataChanged /a']);
  });

  it('removes persistent and recursive watches', () => {
    registry.addPersistent(1, '/a', 'persistent');
    registry.addPersistent(1, '/a', 'persistent_recursive');
    expect(registry.remove(1, '/a', 'any')).toEqual(['DataWatchRemoved']);
    expect(registry.count(1)).toBe(0);
    expect(got(change(setDataOp('/a', 'x')))).toEqual([]);
  });
});

describe('WatchRegistry.removeSession', () => {
  it('drops every watch of the session and none of the others', () => {
    h.ok(createOp('/a'));
    registry.addOneShot(1, '/a', 'data');
    registry.addOneShot(1, '/a', 'child');
    registry.addPersistent(1, '/a', 'persistent');
    registry.addPersistent(1, '/', 'persistent_recursive');
    registry.addOneShot(2, '/a', 'data');
    registry.removeSession(1);
    expect(registry.count(1)).toBe(0);
    const deliveries = change(deleteOp('/a'));
    expect(deliveries.has(1)).toBe(false);
    expect(got(deliveries, 2)).toEqual(['NodeDeleted /a']);
    registry.removeSession(1); // a second time is harmless
  });
});

describe('WatchRegistry per-session limit', () => {
  it('refuses a watch past the limit, counting duplicates once and every kind alike', () => {
    const small = new WatchRegistry([], 2);
    expect(small.addOneShot(1, '/a', 'data')).toBe(true);
    expect(small.addPersistent(1, '/b', 'persistent')).toBe(true);
    expect(small.addOneShot(1, '/a', 'data')).toBe(true);
    expect(small.addOneShot(1, '/a', 'child')).toBe(false);
    expect(small.addPersistent(1, '/c', 'persistent_recursive')).toBe(false);
    expect(small.count(1)).toBe(2);
    expect(small.addOneShot(2, '/a', 'child')).toBe(true);
  });

  it('makes room again once a one-shot watch has fired or been removed', () => {
    const small = new WatchRegistry([], 1);
    h.ok(createOp('/a'));
    small.addOneShot(1, '/a', 'data');
    expect(small.addOneShot(1, '/b', 'data')).toBe(false);
    small.route(h.write([setDataOp('/a', 'x')]).events);
    expect(small.addOneShot(1, '/b', 'data')).toBe(true);
    expect(small.remove(1, '/b', 'data')).toEqual(['DataWatchRemoved']);
    expect(small.addOneShot(1, '/c', 'child')).toBe(true);
  });
});
