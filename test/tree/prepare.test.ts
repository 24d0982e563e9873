// Specification of prepareWrite: the tree-independent checks (paths, modes, TTLs, sizes,
// versions, sessions) that turn a client's write into a log entry.
import { describe, expect, it } from 'vitest';
import { OPEN_ACL, PERM, type Acl } from '../../src/core/acl/acl.ts';
import { DataTree } from '../../src/core/tree/data-tree.ts';
import { prepareWrite, type PrepareContext } from '../../src/core/tree/prepare.ts';
import type { WriteOp } from '../../src/core/tree/txn.ts';
import { CREATE_MODES, kindOf, TTL_MS_MAX, type CreateMode, NO_TTL } from '../../src/core/tree/znode.ts';
import { checkOp, createOp, deleteOp, setDataOp } from './helpers.ts';

const BOB = 'digest:bob:fyVmFCwVbTJYrznoSu1koqYEYF0=';
const ctx: PrepareContext = { timeMs: 1234, sessionId: 7, maxDataBytes: 16, auth: [BOB, 'ip:10.0.0.1'] };
const setAclOp = (path: string, version = -1): WriteOp => ({ type: 'setACL', path, acl: OPEN_ACL, version });
const createWith = (path: string, acl: Acl): WriteOp => ({ type: 'create', path, data: new Uint8Array(0), mode: 'persistent', ttlMs: NO_TTL, acl });

function errorOf(ops: readonly WriteOp[], context: PrepareContext = ctx) {
  const prepared = prepareWrite(ops, ops.length > 1, context);
  return prepared.ok ? undefined : { failedOp: prepared.failedOp, ...prepared.error };
}

describe('prepareWrite', () => {
  it('stamps the leader\'s time, the session and the caller\'s identities into a write txn', () => {
    const ops = [createOp('/a'), setDataOp('/a', 'x')];
    expect(prepareWrite(ops, true, ctx)).toEqual({
      ok: true,
      envelope: { timeMs: 1234, txn: { type: 'write', ops, multi: true, sessionId: 7, auth: [BOB, 'ip:10.0.0.1'] } },
    });
  });

  it('leaves a create\'s or setACL\'s ACL as given: `auth` is expanded at apply, in the op\'s turn', () => {
    const acl = [{ perms: PERM.ALL, scheme: 'auth', id: '' }];
    const prepared = prepareWrite([createWith('/a', acl), { type: 'setACL', path: '/a', acl: [], version: -1 }], true, ctx);
    if (!prepared.ok) throw new Error(prepared.error.message);
    expect(prepared.envelope.txn).toMatchObject({ ops: [{ type: 'create', acl }, { type: 'setACL', acl: [] }] });
  });

  it.each([
    ['create', createOp('/a/')],
    ['create', createOp('//a')],
    ['setData', setDataOp('a', 'x')],
    ['delete', deleteOp('/a/../b')],
    ['check', checkOp('/\u0001')],
    ['setACL', setAclOp('a/')],
  ])('refuses an invalid %s path with BADARGUMENTS naming the failed op', (_type, bad) => {
    expect(errorOf([bad])).toMatchObject({ failedOp: 0, code: 'BADARGUMENTS', path: bad.path });
    expect(errorOf([createOp('/ok'), checkOp('/ok'), bad, createOp('//also-bad')]))
      .toMatchObject({ failedOp: 2, code: 'BADARGUMENTS', path: bad.path });
  });

  it.each([
    ['/a/', 'persistent_sequential'],
    ['/a/..', 'ephemeral_sequential'],
    ['/a/.', 'persistent_sequential_with_ttl'],
    ['/', 'persistent_sequential'],
  ] as const)('allows the sequential create path %j, checked with its counter appended', (path, mode) => {
    const ttlMs = kindOf(mode) === 'ttl' ? 10 : NO_TTL;
    expect(errorOf([createOp(path, mode, '', ttlMs)])).toBeUndefined();
    expect(errorOf([createOp(path, 'persistent')])?.code).toBe(path === '/' ? undefined : 'BADARGUMENTS');
  });

  it('still refuses an invalid sequential path that the counter cannot mend', () => {
    expect(errorOf([createOp('/a//', 'persistent_sequential')])?.code).toBe('BADARGUMENTS');
    expect(errorOf([createOp('/a/\u0000', 'persistent_sequential')])?.code).toBe('BADARGUMENTS');
  });

  it.each(CREATE_MODES.map((mode) => [mode]))('requires a ttl with %s only when it is a TTL mode', (mode) => {
    const ttlMode = kindOf(mode) === 'ttl';
    const withTtl = errorOf([createOp('/n', mode, '', 1000)]);
    const withoutTtl = errorOf([createOp('/n', mode, '', NO_TTL)]);
    const zeroTtl = errorOf([createOp('/n', mode, '', 0)]);
    expect(withTtl?.code).toBe(ttlMode ? undefined : 'BADARGUMENTS');
    expect(withoutTtl?.code).toBe(ttlMode ? 'BADARGUMENTS' : undefined);
    // ZooKeeper refuses any ttl, 0 included, with a mode that has none.
    expect(zeroTtl?.code).toBe('BADARGUMENTS');
  });

  it.each([
    [1, true],
    [TTL_MS_MAX, true],
    [0, false],
    [-1, false],
    [1.5, false],
    [TTL_MS_MAX + 1, false],
    [Number.NaN, false],
  ])('takes ttl %d as valid: %s', (ttlMs, valid) => {
    for (const mode of ['persistent_with_ttl', 'persistent_sequential_with_ttl'] as CreateMode[]) {
      expect(errorOf([createOp('/t', mode, '', ttlMs)])?.code).toBe(valid ? undefined : 'BADARGUMENTS');
    }
  });

  it('refuses data over maxDataBytes as tooLarge, for create and setData', () => {
    const max = 'x'.repeat(ctx.maxDataBytes);
    expect(errorOf([createOp('/a', 'persistent', max), setDataOp('/a', max)])).toBeUndefined();
    const over = `${max}y`;
    for (const op of [createOp('/a', 'persistent', over), setDataOp('/a', over)]) {
      expect(errorOf([checkOp('/a'), op])).toMatchObject({ failedOp: 1, code: 'BADARGUMENTS', tooLarge: true });
    }
  });

  it('reports an invalid path before oversize data', () => {
    const error = errorOf([createOp('/a/', 'persistent', 'x'.repeat(100))]);
    expect(error?.code).toBe('BADARGUMENTS');
    expect(error?.tooLarge).toBeUndefined();
  });

  it.each(CREATE_MODES.filter((mode) => kindOf(mode) === 'ephemeral').map((mode) => [mode]))(
    'refuses %s without a session with BADARGUMENTS',
    (mode) => {
      expect(errorOf([createOp('/e', mode)], { ...ctx, sessionId: 0 }))
        .toMatchObject({ failedOp: 0, code: 'BADARGUMENTS' });
      expect(errorOf([createOp('/e', mode)], ctx)).toBeUndefined();
    },
  );

  it('allows non-ephemeral creates without a session', () => {
    for (const mode of ['persistent', 'persistent_sequential', 'container'] as CreateMode[]) {
      expect(errorOf([createOp('/p', mode)], { ...ctx, sessionId: 0 })).toBeUndefined();
    }
  });

  it.each([
    [-1, true],
    [0, true],
    [2_147_483_647, true],
    [-2_147_483_648, true],
    [2_147_483_648, false],
    [-2_147_483_649, false],
    [0.5, false],
  ])('takes version %d as a valid 32-bit version: %s', (version, valid) => {
    for (const op of [deleteOp('/a', version), checkOp('/a', version), setDataOp('/a', '', version), setAclOp('/a', version)]) {
      expect(errorOf([op])?.code).toBe(valid ? undefined : 'BADARGUMENTS');
    }
  });

  it('produces a txn that a tree applies', () => {
    const prepared = prepareWrite([createOp('/p'), createOp('/p/e-', 'ephemeral_sequential')], true, ctx);
    if (!prepared.ok) throw new Error(prepared.error.message);
    const tree = new DataTree(undefined, 0, [{ id: 7, timeoutMs: 10_000, tokenHash: 'test', auth: [] }]);
    const { result } = tree.apply(1, prepared.envelope);
    expect(result).toMatchObject({ ok: true, results: [{ path: '/p' }, { path: '/p/e-0000000000' }] });
    expect(tree.stat('/p/e-0000000000')).toMatchObject({ ephemeralOwner: 7, ctime: 1234 });
  });
});
