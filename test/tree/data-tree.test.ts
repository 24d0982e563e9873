// Specification of the pure data tree's single ops (create, setData, delete) and Stat, per
// /work/shared/ZK-SEMANTICS.md; where it is silent, per real ZooKeeper 3.8 (noted in the test).
import { beforeEach, describe, expect, it } from 'vitest';
import { OPEN_ACL } from '../../src/core/acl/acl.ts';
import { DataTree, SYSTEM_PATHS } from '../../src/core/tree/data-tree.ts';
import { bytes, checkOp, createOp, deleteOp, digest, Harness, setDataOp } from './helpers.ts';

let h: Harness;
beforeEach(() => {
  h = new Harness();
});

describe('create', () => {
  it('creates a node whose stat starts at the creating zxid with zero versions', () => {
    const result = h.ok(createOp('/a', 'persistent', 'hello'));
    const zxid = h.lastZxid;
    expect(result).toEqual({ type: 'create', path: '/a', stat: h.tree.stat('/a') });
    expect(h.tree.stat('/a')).toEqual({
      czxid: zxid, mzxid: zxid, pzxid: zxid, ctime: zxid * 1000, mtime: zxid * 1000, version: 0,
      cversion: 0, aversion: 0, ephemeralOwner: 0, dataLength: 5, numChildren: 0,
    });
    expect(h.tree.get('/a')?.data).toEqual(bytes('hello'));
    expect(h.tree.childNames('/')).toEqual(['a', 'zookeeper']);
  });

  it('fails with NODEEXISTS when the node exists', () => {
    h.ok(createOp('/a', 'persistent', 'first'));
    expect(h.code(createOp('/a', 'persistent', 'second'))).toBe('NODEEXISTS');
    expect(h.code(createOp('/a', 'container'))).toBe('NODEEXISTS');
    expect(h.code(createOp('/zookeeper'))).toBe('NODEEXISTS');
    expect(h.code(createOp('/'))).toBe('NODEEXISTS');
    expect(h.tree.get('/a')?.data).toEqual(bytes('first'));
  });

  it('fails with NONODE when the parent is missing', () => {
    expect(h.code(createOp('/a/b'))).toBe('NONODE');
    expect(h.code(createOp('/a/b', 'persistent_sequential'))).toBe('NONODE');
    expect(h.tree.get('/a/b')).toBeUndefined();
  });

  it('appends the parent\'s creation counter to sequential names, unmoved by deletes', () => {
    h.ok(createOp('/q'));
    expect(h.ok(createOp('/q/n-', 'persistent_sequential')).path).toBe('/q/n-0000000000');
    expect(h.ok(createOp('/q/n-', 'ephemeral_sequential'), { sessionId: 9 }).path).toBe('/q/n-0000000001');
    h.ok(deleteOp('/q/n-0000000000'));
    h.ok(deleteOp('/q/n-0000000001'));
    h.ok(createOp('/q/plain')); // every creation counts, sequential or not
    expect(h.ok(createOp('/q/n-', 'persistent_sequential_with_ttl', '', 60_000)).path)
      .toBe('/q/n-0000000003');
    expect(h.tree.get('/q')?.creations).toBe(4);
  });

  it('names a sequential create of a path ending in / by the counter alone', () => {
    h.ok(createOp('/q'));
    expect(h.ok(createOp('/q/', 'persistent_sequential')).path).toBe('/q/0000000000');
    expect(h.ok(createOp('/q/..', 'persistent_sequential')).path).toBe('/q/..0000000001');
  });

  // Real ZooKeeper 3.8 (checked on this machine): create("/", PERSISTENT_SEQUENTIAL) → "/0000000000".
  it('creates a sequential child of the root when the requested path is /', () => {
    const { result } = h.write([createOp('/', 'persistent_sequential')]);
    expect(result).toMatchObject({ ok: true, results: [{ type: 'create', path: '/0000000000' }] });
    expect(h.tree.get('/0000000000')).toBeDefined();
  });

  it('fails with NODEEXISTS when the sequential name is taken, without moving the counter', () => {
    h.ok(createOp('/q'));
    h.ok(createOp('/q/n-0000000001'));
    const before = digest(h.tree);
    expect(h.code(createOp('/q/n-', 'persistent_sequential'))).toBe('NODEEXISTS');
    expect(digest(h.tree)).toBe(before);
  });

  it('fails with NOCHILDRENFOREPHEMERALS under an ephemeral node', () => {
    h.ok(createOp('/e', 'ephemeral'), { sessionId: 5 });
    expect(h.tree.stat('/e')?.ephemeralOwner).toBe(5);
    expect(h.code(createOp('/e/c'), { sessionId: 5 })).toBe('NOCHILDRENFOREPHEMERALS');
    expect(h.code(createOp('/e/s-', 'persistent_sequential'))).toBe('NOCHILDRENFOREPHEMERALS');
    expect(h.code(createOp('/e'))).toBe('NODEEXISTS'); // existence is checked first
    expect(h.tree.numChildren('/e')).toBe(0);
  });

  it('shows ephemeralOwner 0 for persistent, container and TTL nodes, whatever the session', () => {
    h.ok(createOp('/p'), { sessionId: 5 });
    h.ok(createOp('/c', 'container'), { sessionId: 5 });
    h.ok(createOp('/t', 'persistent_with_ttl', '', 1000), { sessionId: 5 });
    for (const path of ['/p', '/c', '/t']) expect(h.tree.stat(path)?.ephemeralOwner).toBe(0);
    expect(h.tree.get('/t')).toMatchObject({ kind: 'ttl', ttlMs: 1000 });
    expect(h.tree.get('/c')).toMatchObject({ kind: 'container', ttlMs: 0 });
  });

  it('sets the parent\'s pzxid on child create and delete', () => {
    h.ok(createOp('/p'));
    h.ok(createOp('/p/c'));
    const created = h.lastZxid;
    expect(h.tree.stat('/p')).toMatchObject({ pzxid: created, mzxid: created - 1 });
    h.ok(setDataOp('/p/c', 'x'));
    expect(h.tree.stat('/p')?.pzxid).toBe(created);
    h.ok(deleteOp('/p/c'));
    expect(h.tree.stat('/p')).toMatchObject({ pzxid: h.lastZxid, mzxid: created - 1 });
    expect(h.tree.stat('/')?.pzxid).toBe(created - 1);
  });

  it('takes ctime and mtime from the transaction', () => {
    h.ok(createOp('/t'), { timeMs: 1_700_000_000_123 });
    expect(h.tree.stat('/t')).toMatchObject({ ctime: 1_700_000_000_123, mtime: 1_700_000_000_123 });
    h.ok(setDataOp('/t', 'x'), { timeMs: 5 }); // the leader's clock, even if it went backwards
    expect(h.tree.stat('/t')).toMatchObject({ ctime: 1_700_000_000_123, mtime: 5 });
  });

  it('emits NodeCreated before the parent\'s NodeChildrenChanged', () => {
    h.ok(createOp('/p'));
    const { events } = h.write([createOp('/p/c')]);
    const zxid = h.lastZxid;
    expect(events).toEqual([
      { type: 'NodeCreated', path: '/p/c', zxid, acl: OPEN_ACL },
      { type: 'NodeChildrenChanged', path: '/p', zxid, acl: OPEN_ACL },
    ]);
  });

  it('lets clients create under /zookeeper and /zookeeper/quota', () => {
    h.ok(createOp('/zookeeper/mine'));
    h.ok(createOp('/zookeeper/quota/q'));
    expect(h.tree.childNames('/zookeeper')).toEqual(['config', 'mine', 'quota']);
  });

  // Real ZooKeeper 3.8 (checked on this machine): /zookeeper/config carries a read-only ACL, so a
  // create under it fails with NOAUTH, just as setData on it does.
  it('answers NOAUTH to create under /zookeeper/config', () => {
    expect(h.code(createOp('/zookeeper/config/x'))).toBe('NOAUTH');
    expect(h.tree.numChildren('/zookeeper/config')).toBe(0);
  });
});

describe('setData', () => {
  it('replaces the data and moves version, mzxid and mtime only', () => {
    h.ok(createOp('/a', 'persistent', 'one'));
    const created = h.tree.stat('/a')!;
    const result = h.ok(setDataOp('/a', 'three'), { timeMs: 77 });
    const zxid = h.lastZxid;
    expect(h.tree.stat('/a')).toEqual({ ...created, mzxid: zxid, mtime: 77, version: 1, dataLength: 5 });
    expect(result).toEqual({ type: 'setData', path: '/a', stat: h.tree.stat('/a') });
    expect(h.tree.get('/a')?.data).toEqual(bytes('three'));
  });

  it('counts a setData with identical bytes as a change', () => {
    h.ok(createOp('/a', 'persistent', 'same'));
    h.ok(setDataOp('/a', 'same'));
    h.ok(setDataOp('/a', 'same'));
    expect(h.tree.stat('/a')?.version).toBe(2);
  });

  it('fails with BADVERSION when the version differs, -1 matching any', () => {
    h.ok(createOp('/a'));
    expect(h.code(setDataOp('/a', 'x', 1))).toBe('BADVERSION');
    expect(h.ok(setDataOp('/a', 'x', 0))).toMatchObject({ stat: { version: 1 } });
    expect(h.code(setDataOp('/a', 'y', 0))).toBe('BADVERSION');
    expect(h.code(setDataOp('/a', 'y', -2))).toBe('BADVERSION');
    expect(h.ok(setDataOp('/a', 'y', -1))).toMatchObject({ stat: { version: 2 } });
    expect(h.tree.get('/a')?.data).toEqual(bytes('y'));
  });

  it('fails with NONODE when the node is missing', () => {
    expect(h.code(setDataOp('/missing', 'x'))).toBe('NONODE');
    expect(h.tree.get('/missing')).toBeUndefined();
  });

  it('answers NOAUTH to setData on /zookeeper/config, before checking the version', () => {
    expect(h.code(setDataOp('/zookeeper/config', 'x'))).toBe('NOAUTH');
    expect(h.code(setDataOp('/zookeeper/config', 'x', 5))).toBe('NOAUTH');
    expect(h.tree.stat('/zookeeper/config')?.version).toBe(0);
  });

  it('lets clients set data on /, /zookeeper and /zookeeper/quota', () => {
    for (const path of ['/', '/zookeeper', '/zookeeper/quota']) h.ok(setDataOp(path, 'x'));
    expect(h.tree.stat('/zookeeper')?.version).toBe(1);
  });

  it('emits NodeDataChanged for the node alone', () => {
    h.ok(createOp('/a'));
    expect(h.write([setDataOp('/a', 'x')]).events).toEqual([
      { type: 'NodeDataChanged', path: '/a', zxid: h.lastZxid, acl: OPEN_ACL },
    ]);
  });
});

describe('delete', () => {
  it('removes the node and emits NodeDeleted before the parent\'s NodeChildrenChanged', () => {
    h.ok(createOp('/p'));
    h.ok(createOp('/p/c'));
    const { result, events } = h.write([deleteOp('/p/c')]);
    expect(result).toEqual({ ok: true, results: [{ type: 'delete', path: '/p/c' }] });
    expect(events).toEqual([
      { type: 'NodeDeleted', path: '/p/c', zxid: h.lastZxid, acl: OPEN_ACL },
      { type: 'NodeChildrenChanged', path: '/p', zxid: h.lastZxid, acl: OPEN_ACL },
    ]);
    expect(h.tree.get('/p/c')).toBeUndefined();
    expect(h.tree.childNames('/p')).toEqual([]);
  });

  it('fails with NONODE when the node or its parent is missing', () => {
    expect(h.code(deleteOp('/missing'))).toBe('NONODE');
    expect(h.code(deleteOp('/missing/child'))).toBe('NONODE');
  });

  it('fails with BADVERSION when the version differs, -1 matching any', () => {
    h.ok(createOp('/a'));
    h.ok(setDataOp('/a', 'x'));
    expect(h.code(deleteOp('/a', 0))).toBe('BADVERSION');
    expect(h.tree.get('/a')).toBeDefined();
    h.ok(deleteOp('/a', 1));
    h.ok(createOp('/b'));
    h.ok(deleteOp('/b', -1));
    expect(h.tree.get('/a') ?? h.tree.get('/b')).toBeUndefined();
  });

  it('fails with NOTEMPTY when the node has children, after the version check', () => {
    h.ok(createOp('/p'));
    h.ok(createOp('/p/c'));
    expect(h.code(deleteOp('/p'))).toBe('NOTEMPTY');
    expect(h.code(deleteOp('/p', 3))).toBe('BADVERSION');
    expect(h.tree.childNames('/p')).toEqual(['c']);
  });

  it.each(SYSTEM_PATHS.map((path) => [path]))(
    'refuses to delete %s with BADARGUMENTS whatever the version, changing nothing',
    (path) => {
      const before = digest(h.tree);
      expect(h.code(deleteOp(path))).toBe('BADARGUMENTS');
      expect(h.code(deleteOp(path, 0))).toBe('BADARGUMENTS');
      expect(digest(h.tree)).toBe(before);
    },
  );

  it('refuses to delete /, /zookeeper, /zookeeper/quota and /zookeeper/config with BADARGUMENTS', () => {
    h.ok(createOp('/zookeeper/quota/q')); // a non-empty one too: BADARGUMENTS comes before NOTEMPTY
    for (const path of SYSTEM_PATHS) expect(h.code(deleteOp(path))).toBe('BADARGUMENTS');
  });

  it('lets clients delete their own nodes under /zookeeper', () => {
    h.ok(createOp('/zookeeper/mine'));
    h.ok(deleteOp('/zookeeper/mine'));
    expect(h.tree.childNames('/zookeeper')).toEqual(['config', 'quota']);
  });
});

describe('check', () => {
  it('succeeds on a matching or -1 version and fails with BADVERSION or NONODE otherwise', () => {
    h.ok(createOp('/a'));
    expect(h.ok(checkOp('/a', 0))).toEqual({ type: 'check', path: '/a' });
    expect(h.ok(checkOp('/a', -1))).toEqual({ type: 'check', path: '/a' });
    expect(h.code(checkOp('/a', 1))).toBe('BADVERSION');
    expect(h.code(checkOp('/missing'))).toBe('NONODE');
  });
});

describe('stat', () => {
  it('reports cversion as creations plus deletions', () => {
    h.ok(createOp('/p'));
    for (const name of ['a', 'b', 'c']) h.ok(createOp(`/p/${name}`));
    expect(h.tree.stat('/p')).toMatchObject({ cversion: 3, numChildren: 3 });
    h.ok(deleteOp('/p/a'));
    h.ok(deleteOp('/p/b'));
    expect(h.tree.stat('/p')).toMatchObject({ cversion: 5, numChildren: 1 });
    h.ok(createOp('/p/a'));
    expect(h.tree.stat('/p')).toMatchObject({ cversion: 6, numChildren: 2 });
    expect(h.tree.get('/p')?.creations).toBe(4);
  });

  it('reports the system nodes as a fresh ZooKeeper 3.8 does (root cversion -1, /zookeeper -2)', () => {
    const tree = new DataTree();
    const zero = { czxid: 0, mzxid: 0, pzxid: 0, ctime: 0, mtime: 0, version: 0, ephemeralOwner: 0, dataLength: 0 };
    expect(tree.stat('/')).toMatchObject({ ...zero, cversion: -1, numChildren: 1 });
    expect(tree.stat('/zookeeper')).toMatchObject({ ...zero, cversion: -2, numChildren: 2 });
    expect(tree.stat('/zookeeper/quota')).toMatchObject({ ...zero, cversion: 0, aversion: 0 });
    expect(tree.size).toBe(4);
    expect(tree.appliedZxid).toBe(0);
  });

  // Real ZooKeeper 3.8 (checked on this machine): `stat /zookeeper/config` shows aversion = -1,
  // because the server installs its read-only ACL with setACL(..., version -1).
  it('reports /zookeeper/config with aversion -1 as a fresh ZooKeeper 3.8 does', () => {
    expect(new DataTree().stat('/zookeeper/config')).toMatchObject({ aversion: -1, cversion: 0 });
  });

  it('reports dataLength and numChildren, and nothing for a missing path', () => {
    h.ok(createOp('/p', 'persistent', 'abcd'));
    h.ok(createOp('/p/z'));
    h.ok(createOp('/p/a'));
    expect(h.tree.stat('/p')).toMatchObject({ dataLength: 4, numChildren: 2 });
    expect(h.tree.childNames('/p')).toEqual(['a', 'z']);
    expect(h.tree.stat('/nope')).toBeUndefined();
    expect(h.tree.childNames('/nope')).toEqual([]);
  });
});

describe('a tree built from records (a checkpoint)', () => {
  it('refuses records that name a path twice', () => {
    h.ok(createOp('/p'));
    h.ok(createOp('/p/a'));
    const nodes = h.tree.snapshot();
    const twice = [...nodes, nodes.find((n) => n.path === '/p/a')!];
    expect(() => new DataTree(twice, h.tree.appliedZxid)).toThrow(/twice/);
  });

  it('refuses a record whose parent is missing', () => {
    h.ok(createOp('/p'));
    h.ok(createOp('/p/a'));
    const orphaned = h.tree.snapshot().filter((n) => n.path !== '/p');
    expect(() => new DataTree(orphaned, h.tree.appliedZxid)).toThrow(/orphans/);
  });

  it('counts and lists children alike before and after their first deletion', () => {
    h.ok(createOp('/p'));
    for (const name of ['c', 'a', 'b']) h.ok(createOp(`/p/${name}`));
    const copy = new Harness(new DataTree(h.tree.snapshot(), h.tree.appliedZxid));
    expect(copy.tree.childNames('/p')).toEqual(['a', 'b', 'c']);
    copy.ok(deleteOp('/p/a'));
    copy.ok(createOp('/p/d'));
    expect(copy.tree.childNames('/p')).toEqual(['b', 'c', 'd']);
    expect(copy.tree.stat('/p')).toMatchObject({ numChildren: 3, cversion: 2 * 4 - 3 });
  });
});
