// Specification of multi (atomic, ordered, all-or-nothing) and of server-side reaping of
// container and TTL nodes in the pure data tree, per /work/shared/ZK-SEMANTICS.md.
import { beforeEach, describe, expect, it } from 'vitest';
import { OPEN_ACL } from '../../src/core/acl/acl.ts';
import { DataTree } from '../../src/core/tree/data-tree.ts';
import { bytes, checkOp, createOp, deleteOp, digest, Harness, setDataOp } from './helpers.ts';

let h: Harness;
beforeEach(() => {
  h = new Harness();
});

describe('multi', () => {
  it('applies every op in one transaction with one zxid', () => {
    const { result } = h.write([
      createOp('/m'), createOp('/m/c', 'persistent', 'hi'), setDataOp('/m', 'x'), checkOp('/m', 1),
    ]);
    const zxid = h.lastZxid;
    expect(result).toMatchObject({
      ok: true,
      results: [
        { type: 'create', path: '/m', stat: { czxid: zxid } },
        { type: 'create', path: '/m/c', stat: { czxid: zxid, dataLength: 2 } },
        { type: 'setData', path: '/m', stat: { version: 1, mzxid: zxid } },
        { type: 'check', path: '/m' },
      ],
    });
    expect(h.tree.stat('/m')).toMatchObject({ czxid: zxid, mzxid: zxid, pzxid: zxid, cversion: 1 });
  });

  it('applies nothing when a multi op fails and reports the failing index', () => {
    h.ok(createOp('/exists', 'persistent', 'keep'));
    h.ok(createOp('/q'));
    const before = digest(h.tree);
    const { result, events } = h.write([
      createOp('/new'), createOp('/q/s-', 'persistent_sequential'), setDataOp('/exists', 'lost'),
      deleteOp('/exists'), createOp('/exists'), checkOp('/exists', 7), deleteOp('/q'),
    ]);
    expect(result).toMatchObject({ ok: false, failedOp: 5, error: { code: 'BADVERSION', path: '/exists' } });
    expect(events).toEqual([]);
    expect(digest(h.tree)).toBe(before);
    expect(h.tree.childNames('/')).toEqual(['exists', 'q', 'zookeeper']);
    // The sequential counter was rolled back with everything else.
    expect(h.ok(createOp('/q/s-', 'persistent_sequential')).path).toBe('/q/s-0000000000');
  });

  it('reports the first failing op, at index 0 too', () => {
    expect(h.write([deleteOp('/none'), createOp('/a')]).result)
      .toMatchObject({ ok: false, failedOp: 0, error: { code: 'NONODE' } });
    expect(h.write([createOp('/a'), createOp('/a'), deleteOp('/none')]).result)
      .toMatchObject({ ok: false, failedOp: 1, error: { code: 'NODEEXISTS' } });
    expect(h.tree.get('/a')).toBeUndefined();
  });

  it('lets later multi ops see earlier ones', () => {
    h.ok(createOp('/old', 'persistent', 'v0'));
    const { result } = h.write([
      createOp('/p'), createOp('/p/c'), setDataOp('/p/c', 'x', 0), checkOp('/p/c', 1),
      deleteOp('/old'), createOp('/old', 'persistent', 'v1'), checkOp('/old', 0),
      createOp('/p/s-', 'persistent_sequential'), createOp('/p/s-', 'persistent_sequential'),
      deleteOp('/p/c', 1),
    ]);
    expect(result.ok).toBe(true);
    expect(h.tree.childNames('/p')).toEqual(['s-0000000001', 's-0000000002']);
    expect(h.tree.get('/old')).toMatchObject({ czxid: h.lastZxid, data: bytes('v1') });
    expect(h.tree.stat('/p')).toMatchObject({ cversion: 4, numChildren: 2 });
  });

  it('emits the events of its ops in op order, each node\'s before its parent\'s', () => {
    h.ok(createOp('/gone'));
    const { events } = h.write([createOp('/m'), createOp('/m/c'), setDataOp('/m', 'x'), deleteOp('/gone')]);
    const zxid = h.lastZxid;
    expect(events).toEqual([
      { type: 'NodeCreated', path: '/m', zxid, acl: OPEN_ACL },
      { type: 'NodeChildrenChanged', path: '/', zxid, acl: OPEN_ACL },
      { type: 'NodeCreated', path: '/m/c', zxid, acl: OPEN_ACL },
      { type: 'NodeChildrenChanged', path: '/m', zxid, acl: OPEN_ACL },
      { type: 'NodeDataChanged', path: '/m', zxid, acl: OPEN_ACL },
      { type: 'NodeDeleted', path: '/gone', zxid, acl: OPEN_ACL },
      { type: 'NodeChildrenChanged', path: '/', zxid, acl: OPEN_ACL },
    ]);
  });

  it('succeeds with no results when empty, changing nothing', () => {
    const before = digest(h.tree);
    expect(h.write([], { multi: true })).toEqual({ result: { ok: true, results: [] }, events: [] });
    expect(digest(h.tree)).toBe(before);
  });

  it('still consumes its zxid when it fails', () => {
    h.write([createOp('/a'), deleteOp('/none')]);
    expect(h.tree.appliedZxid).toBe(1);
    h.ok(createOp('/a'));
    expect(h.tree.stat('/a')?.czxid).toBe(2);
  });

  it('refuses a zxid that does not increase', () => {
    h.ok(createOp('/a'));
    const txn = { type: 'noop' as const };
    expect(() => h.tree.apply(1, { timeMs: 0, txn })).toThrow(/not after/);
    expect(h.tree.apply(5, { timeMs: 0, txn })).toEqual({ events: [] });
    expect(h.tree.appliedZxid).toBe(5);
  });
});

describe('reap', () => {
  it('reaps a container only after it had a child and has none', () => {
    h.ok(createOp('/c', 'container'));
    const czxid = h.lastZxid;
    expect(h.reap('/c', czxid, 1e12)).toEqual({ events: [] });
    h.ok(createOp('/c/x'));
    expect(h.reap('/c', czxid, 1e12)).toEqual({ events: [] });
    h.ok(deleteOp('/c/x'));
    expect(h.tree.get('/c')).toBeDefined();
    const output = h.reap('/c', czxid, 1);
    const zxid = h.lastZxid;
    expect(output).toEqual({
      events: [{ type: 'NodeDeleted', path: '/c', zxid, acl: OPEN_ACL }, { type: 'NodeChildrenChanged', path: '/', zxid, acl: OPEN_ACL }],
    });
    expect(h.tree.get('/c')).toBeUndefined();
    expect(h.tree.stat('/')?.pzxid).toBe(zxid);
  });

  it('reaps a TTL node when timeMs - mtime > ttl and it has no children', () => {
    h.ok(createOp('/t', 'persistent_with_ttl', '', 1000), { timeMs: 10_000 });
    const czxid = h.lastZxid;
    h.reap('/t', czxid, 11_000);
    expect(h.tree.get('/t')).toBeDefined();
    h.ok(createOp('/t/child'));
    h.reap('/t', czxid, 50_000);
    expect(h.tree.get('/t')).toBeDefined();
    h.ok(deleteOp('/t/child'));
    h.reap('/t', czxid, 11_001);
    expect(h.tree.get('/t')).toBeUndefined();
  });

  it('restarts a TTL node\'s clock on setData', () => {
    h.ok(createOp('/t', 'persistent_sequential_with_ttl', '', 1000), { timeMs: 10_000 });
    const czxid = h.lastZxid;
    h.ok(setDataOp('/t0000000000', 'x'), { timeMs: 20_000 });
    h.reap('/t0000000000', czxid, 20_500);
    expect(h.tree.get('/t0000000000')).toBeDefined();
    h.reap('/t0000000000', czxid, 21_001);
    expect(h.tree.get('/t0000000000')).toBeUndefined();
  });

  it('treats a reap whose czxid no longer matches as a no-op', () => {
    h.ok(createOp('/c', 'container'));
    const oldCzxid = h.lastZxid;
    h.ok(deleteOp('/c'));
    h.ok(createOp('/c', 'container'));
    h.ok(createOp('/c/x'));
    h.ok(deleteOp('/c/x'));
    const before = digest(h.tree);
    expect(h.reap('/c', oldCzxid, 1e12)).toEqual({ events: [] });
    expect(digest(h.tree)).toBe(before);
    h.reap('/c', h.tree.stat('/c')!.czxid, 1e12);
    expect(h.tree.get('/c')).toBeUndefined();
  });

  it('never reaps persistent, ephemeral or system nodes, nor a missing path', () => {
    h.ok(createOp('/p'));
    h.ok(createOp('/p/x'));
    h.ok(deleteOp('/p/x'));
    h.ok(createOp('/e', 'ephemeral'), { sessionId: 3 });
    const before = digest(h.tree);
    h.reap('/p', h.tree.stat('/p')!.czxid, 1e12);
    h.reap('/e', h.tree.stat('/e')!.czxid, 1e12);
    h.reap('/zookeeper/quota', 0, 1e12);
    h.reap('/missing', 0, 1e12);
    expect(digest(h.tree)).toBe(before);
  });

  it('lists exactly the container and TTL nodes as reap candidates, after recovery too', () => {
    h.ok(createOp('/c', 'container'));
    h.ok(createOp('/t', 'persistent_with_ttl', '', 5));
    h.ok(createOp('/s', 'persistent_sequential_with_ttl', '', 5));
    h.ok(createOp('/p'));
    h.ok(createOp('/e', 'ephemeral'), { sessionId: 1 });
    const expected = ['/c', '/s0000000002', '/t'];
    expect([...h.tree.reapCandidates()].sort()).toEqual(expected);
    const recovered = new DataTree(h.tree.snapshot(), h.tree.appliedZxid, h.tree.sessions.all());
    expect([...recovered.reapCandidates()].sort()).toEqual(expected);
    h.ok(deleteOp('/c'));
    expect([...h.tree.reapCandidates()].sort()).toEqual(['/s0000000002', '/t']);
  });
});
