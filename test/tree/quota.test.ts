// Specification of ZooKeeper's quotas in the pure data tree, per /tmp/zk-acl-facts.md §8: quota
// roots recognised by the name of their limits node, stats kept by the deepest root in place, and
// checkQuota's refusals (QUOTAEXCEEDED) when the leader stamped enforcement on the txn.
import { beforeEach, describe, expect, it } from 'vitest';
import { DataTree } from '../../src/core/tree/data-tree.ts';
import { isWriteResult, type ApplyOutput, type WriteResult } from '../../src/core/tree/results.ts';
import type { WriteOp } from '../../src/core/tree/txn.ts';
import { createOp, deleteOp, digest, Harness, setDataOp, TEST_SESSIONS } from './helpers.ts';

const NO_LIMIT = 'count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=-1';
/** What `setquota -N n` writes. */
const countHard = (n: number) => `count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=${n}`;
/** What `setquota -B n` writes. */
const bytesHard = (n: number) => `count=-1,bytes=-1=;byteHardLimit=${n};countHardLimit=-1`;
const text = (data: Uint8Array | undefined) => (data === undefined ? undefined : new TextDecoder().decode(data));

let h: Harness;
beforeEach(() => {
  h = new Harness();
});

const stats = (root: string, tree: DataTree = h.tree) => text(tree.get(`/zookeeper/quota${root}/zookeeper_stats`)?.data);

/** A write, optionally stamped with enforcement as the leader would. */
function write(ops: readonly WriteOp[], enforceQuota = false): { result: WriteResult } & ApplyOutput {
  const output = h.applyTxn({
    type: 'write', ops, multi: ops.length > 1, sessionId: 0, auth: [], ...(enforceQuota ? { enforceQuota: true as const } : {}),
  });
  if (!output.result || !isWriteResult(output.result)) throw new Error('no write result');
  return { ...output, result: output.result };
}
const enforced = (op: WriteOp) => write([op], true);
const codeOf = ({ result }: { result: WriteResult }) => (result.ok ? 'OK' : result.error.code);

/** What zkCli's setquota does for a new quota: the quota dirs, the limits, then stats `count=0,bytes=0`. */
function setquota(root: string, limits: string): void {
  let dir = '/zookeeper/quota';
  for (const part of root.split('/').slice(1)) {
    dir += `/${part}`;
    if (!h.tree.get(dir)) h.ok(createOp(dir));
  }
  h.ok(createOp(`${dir}/zookeeper_limits`, 'persistent', limits));
  h.ok(createOp(`${dir}/zookeeper_stats`, 'persistent', 'count=0,bytes=0'));
}

describe('quota tracking', () => {
  it('recognises a root by its limits node and recomputes stats over the real subtree, the root included', () => {
    h.ok(createOp('/x', 'persistent', 'abc'));
    h.ok(createOp('/x/a', 'persistent', 'hello'));
    h.ok(createOp('/zookeeper/quota/x'));
    h.ok(createOp('/zookeeper/quota/x/zookeeper_limits', 'persistent', countHard(2)));
    expect(h.tree.quotaRootPaths()).toEqual(['/x']);
    h.ok(createOp('/zookeeper/quota/x/zookeeper_stats', 'persistent', 'count=0,bytes=0'));
    expect(stats('/x')).toBe('count=2,bytes=8');
  });

  it('updates the stats on every create, setData and delete, in place: version and mzxid stay', () => {
    h.ok(createOp('/x'));
    setquota('/x', NO_LIMIT);
    const statsNode = '/zookeeper/quota/x/zookeeper_stats';
    const { mzxid, version } = h.tree.stat(statsNode)!;
    expect(stats('/x')).toBe('count=1,bytes=0');
    const created = write([createOp('/x/a', 'persistent', 'hello')]);
    expect(stats('/x')).toBe('count=2,bytes=5');
    expect(created.events.map((e) => e.path), 'a stats update fires no watch').not.toContain(statsNode);
    h.ok(setDataOp('/x/a', 'hi'));
    expect(stats('/x')).toBe('count=2,bytes=2');
    h.ok(createOp('/x/a/b', 'persistent', '1234'));
    h.ok(deleteOp('/x/a/b'));
    expect(stats('/x')).toBe('count=2,bytes=2');
    h.ok(deleteOp('/x/a'));
    expect(stats('/x')).toBe('count=1,bytes=0');
    expect(h.tree.stat(statsNode)).toMatchObject({ mzxid, version });
  });

  it('counts the root itself when it is created after its quota (recognised by name alone)', () => {
    setquota('/later', NO_LIMIT);
    expect(stats('/later')).toBe('count=0,bytes=0');
    h.ok(createOp('/later', 'persistent', 'ab'));
    h.ok(createOp('/later/s-', 'persistent_sequential', 'c'));
    expect(stats('/later')).toBe('count=2,bytes=3');
    expect(stats('/other')).toBeUndefined();
  });

  it('updates only the deepest root of nested quotas', () => {
    h.ok(createOp('/x'));
    h.ok(createOp('/x/in'));
    setquota('/x', NO_LIMIT);
    setquota('/x/in', NO_LIMIT);
    expect([stats('/x'), stats('/x/in')]).toEqual(['count=2,bytes=0', 'count=1,bytes=0']);
    h.ok(createOp('/x/in/a', 'persistent', 'abcd'));
    expect([stats('/x'), stats('/x/in')]).toEqual(['count=2,bytes=0', 'count=2,bytes=4']);
    h.ok(createOp('/x/b', 'persistent', 'z'));
    expect([stats('/x'), stats('/x/in')]).toEqual(['count=3,bytes=1', 'count=2,bytes=4']);
  });

  it('finds the deepest root among many (past 8 roots the lookup walks up the path instead)', () => {
    for (let i = 0; i < 9; i++) setquota(`/r${i}`, NO_LIMIT);
    h.ok(createOp('/r0'));
    h.ok(createOp('/r0/in'));
    setquota('/r0/in', NO_LIMIT);
    h.ok(createOp('/r0/in/x', 'persistent', 'abc'));
    h.ok(createOp('/r0/y', 'persistent', 'de'));
    h.ok(createOp('/r00', 'persistent', 'f'));
    expect([stats('/r0'), stats('/r0/in'), stats('/r00')]).toEqual(['count=3,bytes=2', 'count=2,bytes=3', undefined]);
    expect(h.tree.quotaRootPaths()).toHaveLength(10);
  });

  it('rolls the stats and the roots back with a failed multi', () => {
    h.ok(createOp('/x'));
    setquota('/x', NO_LIMIT);
    h.ok(createOp('/y'));
    h.ok(createOp('/zookeeper/quota/y'));
    const before = digest(h.tree);
    const { result } = write([
      createOp('/x/a', 'persistent', 'data'), setDataOp('/x', 'longer'), createOp('/zookeeper/quota/y/zookeeper_limits', 'persistent', NO_LIMIT),
      deleteOp('/missing'),
    ]);
    expect(result).toMatchObject({ ok: false, failedOp: 3, error: { code: 'NONODE' } });
    expect(digest(h.tree)).toBe(before);
    expect(stats('/x')).toBe('count=1,bytes=0');
    expect(h.tree.quotaRootPaths()).toEqual(['/x']);
  });

  it('stops tracking when the limits node is deleted', () => {
    h.ok(createOp('/x'));
    setquota('/x', NO_LIMIT);
    h.ok(deleteOp('/zookeeper/quota/x/zookeeper_limits'));
    expect(h.tree.quotaRootPaths()).toEqual([]);
    h.ok(createOp('/x/a', 'persistent', 'data'));
    expect(stats('/x')).toBe('count=1,bytes=0');
  });

  it('skips a root whose stats node is missing, creating nothing', () => {
    h.ok(createOp('/x'));
    h.ok(createOp('/zookeeper/quota/x'));
    h.ok(createOp('/zookeeper/quota/x/zookeeper_limits', 'persistent', countHard(1)));
    h.ok(createOp('/x/a'));
    expect(h.tree.get('/zookeeper/quota/x/zookeeper_stats')).toBeUndefined();
    expect(enforced(createOp('/x/b')).result.ok, 'a missing stats node allows the write').toBe(true);
  });

  it('counts the ephemerals a closed session deletes', () => {
    h.ok(createOp('/x'));
    setquota('/x', NO_LIMIT);
    h.ok(createOp('/x/e', 'ephemeral', 'abc'), { sessionId: 3 });
    expect(stats('/x')).toBe('count=2,bytes=3');
    h.applyTxn({ type: 'closeSession', sessionId: 3, reason: 'closed' });
    expect(stats('/x')).toBe('count=1,bytes=0');
  });

  it('keeps keys other than count and bytes in the stats node, as StatsTrack rewrites it', () => {
    h.ok(createOp('/x'));
    setquota('/x', NO_LIMIT);
    h.ok(setDataOp('/zookeeper/quota/x/zookeeper_stats', 'count=1,bytes=0,note=7'));
    h.ok(setDataOp('/x', 'ab'));
    expect(stats('/x')).toBe('count=1,bytes=2=;note=7');
  });

  it('leaves an unparseable stats node as it is', () => {
    h.ok(createOp('/x'));
    setquota('/x', NO_LIMIT);
    h.ok(setDataOp('/zookeeper/quota/x/zookeeper_stats', 'garbage'));
    h.ok(createOp('/x/a'));
    expect(stats('/x')).toBe('garbage');
  });

  it('rebuilds the roots when a tree is built from its nodes, and keeps counting alike', () => {
    h.ok(createOp('/x'));
    h.ok(createOp('/x/in'));
    setquota('/x', countHard(10));
    setquota('/x/in', NO_LIMIT);
    setquota('/gone', NO_LIMIT);
    h.ok(deleteOp('/zookeeper/quota/gone/zookeeper_limits'));
    const recovered = new DataTree(h.tree.snapshot(), h.tree.appliedZxid, TEST_SESSIONS);
    expect(recovered.quotaRootPaths()).toEqual(['/x', '/x/in']);
    const logAt = h.log.length;
    h.ok(createOp('/x/in/a', 'persistent', 'abc'));
    h.ok(createOp('/x/b', 'persistent', 'de'));
    h.ok(setDataOp('/x/in', 'f'));
    h.ok(deleteOp('/zookeeper/quota/x/in/zookeeper_limits'));
    h.ok(createOp('/x/in/c', 'persistent', 'g'));
    for (const { zxid, envelope } of h.log.slice(logAt)) recovered.apply(zxid, envelope);
    expect(digest(recovered)).toBe(digest(h.tree));
    expect(recovered.quotaRootPaths()).toEqual(['/x']);
    expect([stats('/x', recovered), stats('/x/in', recovered)]).toEqual(['count=4,bytes=3', 'count=2,bytes=4']);
  });
});

describe('quota enforcement', () => {
  beforeEach(() => {
    h.ok(createOp('/x'));
  });

  it('allows one child under a count hard limit of 2 (the root counts) and refuses the second', () => {
    setquota('/x', countHard(2));
    expect(codeOf(enforced(createOp('/x/a')))).toBe('OK');
    const before = digest(h.tree);
    const refused = enforced(createOp('/x/b'));
    expect(refused.result).toMatchObject({ ok: false, failedOp: 0, error: { code: 'QUOTAEXCEEDED', path: '/x/b' } });
    expect(refused.quotaExceeded).toEqual([{ root: '/x', what: 'count', value: 3, limit: 2, hard: true, refused: true }]);
    expect(digest(h.tree)).toBe(before);
    expect(stats('/x')).toBe('count=2,bytes=0');
  });

  it('checks bytes on setData: up to the limit is allowed, past it refused, shrinking allowed', () => {
    setquota('/x', bytesHard(10));
    expect(codeOf(enforced(setDataOp('/x', '0123456789')))).toBe('OK');
    expect(codeOf(enforced(setDataOp('/x', '0123456789a')))).toBe('QUOTAEXCEEDED');
    expect(codeOf(enforced(setDataOp('/x', 'short')))).toBe('OK');
    expect(stats('/x')).toBe('count=1,bytes=5');
  });

  it('checks the quota before the version: a stale setData past the limit is QUOTAEXCEEDED, not BADVERSION', () => {
    setquota('/x', bytesHard(3));
    expect(codeOf(enforced(setDataOp('/x', 'toolong', 42)))).toBe('QUOTAEXCEEDED');
    expect(codeOf(enforced(setDataOp('/x', 'ok', 42)))).toBe('BADVERSION');
  });

  it('checks a create last: NODEEXISTS and NOCHILDRENFOREPHEMERALS come first', () => {
    setquota('/x', countHard(1));
    expect(codeOf(enforced(createOp('/x')))).toBe('NODEEXISTS');
    h.ok(createOp('/eph', 'ephemeral'), { sessionId: 1 });
    setquota('/eph', countHard(1));
    expect(codeOf(enforced(createOp('/eph/child')))).toBe('NOCHILDRENFOREPHEMERALS');
    expect(codeOf(enforced(createOp('/x/child')))).toBe('QUOTAEXCEEDED');
  });

  it('checks setData after NOAUTH', () => {
    h.ok({ type: 'create', path: '/x/ro', data: new Uint8Array(), mode: 'persistent', ttlMs: -1, acl: [{ perms: 1, scheme: 'world', id: 'anyone' }] });
    setquota('/x', bytesHard(0));
    expect(codeOf(enforced(setDataOp('/x/ro', 'data')))).toBe('NOAUTH');
  });

  it('never checks a delete, nor a write that changes nothing it limits', () => {
    h.ok(createOp('/x/a', 'persistent', 'abc'));
    setquota('/x', 'count=-1,bytes=-1=;byteHardLimit=1;countHardLimit=1');
    expect(codeOf(enforced(setDataOp('/x/a', 'xyz'))), 'a setData of the same size').toBe('OK');
    expect(codeOf(enforced(deleteOp('/x/a')))).toBe('OK');
    expect(stats('/x')).toBe('count=1,bytes=0');
  });

  it('only logs a soft limit passed, refusing nothing', () => {
    setquota('/x', 'count=1,bytes=-1');
    const { result, quotaExceeded } = enforced(createOp('/x/a'));
    expect(result.ok).toBe(true);
    expect(quotaExceeded).toEqual([{ root: '/x', what: 'count', value: 2, limit: 1, hard: false, refused: false }]);
  });

  it('uses the hard limit when both are set, ignoring the soft one', () => {
    setquota('/x', 'count=1,bytes=-1=;byteHardLimit=-1;countHardLimit=3');
    const { result, quotaExceeded } = enforced(createOp('/x/a'));
    expect(result.ok).toBe(true);
    expect(quotaExceeded).toBeUndefined();
  });

  it('counts the earlier ops of the same multi (ZooKeeper would check against committed state)', () => {
    setquota('/x', countHard(2));
    const { result } = write([createOp('/x/a'), createOp('/x/b')], true);
    expect(result).toMatchObject({ ok: false, failedOp: 1, error: { code: 'QUOTAEXCEEDED' } });
  });

  it('without enforcement counts past a hard limit and reports every limit passed', () => {
    setquota('/x', 'count=-1,bytes=-1=;byteHardLimit=2;countHardLimit=1');
    const { result, quotaExceeded } = write([createOp('/x/a', 'persistent', 'abc')]);
    expect(result.ok).toBe(true);
    expect(quotaExceeded).toEqual([
      { root: '/x', what: 'count', value: 2, limit: 1, hard: true, refused: false },
      { root: '/x', what: 'bytes', value: 3, limit: 2, hard: true, refused: false },
    ]);
    expect(stats('/x')).toBe('count=2,bytes=3');
  });

  it('treats unparseable limits as no limit', () => {
    setquota('/x', 'countHardLimit');
    const { result, quotaExceeded } = enforced(createOp('/x/a'));
    expect(result.ok).toBe(true);
    expect(quotaExceeded).toBeUndefined();
    expect(stats('/x')).toBe('count=2,bytes=0');
  });

  it('answers a retried request id with the first answer, whatever the retry\'s enforcement', () => {
    setquota('/x', countHard(1));
    const request = { client: 'session:1', id: 'r1' };
    const first = h.applyTxn({ type: 'write', ops: [createOp('/x/a')], multi: false, sessionId: 1, auth: [], request });
    expect(first.result).toMatchObject({ ok: true });
    const retry = h.applyTxn({ type: 'write', ops: [createOp('/x/a')], multi: false, sessionId: 1, auth: [], request, enforceQuota: true });
    expect(retry).toMatchObject({ result: first.result, firstZxid: h.lastZxid - 1 });
  });
});
