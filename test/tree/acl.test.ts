// ACLs in the replicated tree: every write checked at apply with the identities its txn carries,
// in ZooKeeper's order of checks (PrepRequestProcessor), and watches that respect READ.
import { describe, expect, it } from 'vitest';
import { OPEN_ACL, PERM, READ_ACL, type Acl } from '../../src/core/acl/acl.ts';
import { SUPER_IDENTITY } from '../../src/core/acl/check.ts';
import { DataTree } from '../../src/core/tree/data-tree.ts';
import { isWriteResult, type WriteResult } from '../../src/core/tree/results.ts';
import type { Txn, WriteOp } from '../../src/core/tree/txn.ts';
import type { CreateMode } from '../../src/core/tree/znode.ts';
import { bytes, Harness } from './helpers.ts';

const BOB = 'digest:bob:fyVmFCwVbTJYrznoSu1koqYEYF0=';
const ALICE = 'digest:alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=';
const ANON = ['ip:127.0.0.1'];
const AS_BOB = [BOB, 'ip:127.0.0.1'];
const AS_ALICE = [ALICE, 'ip:127.0.0.1'];

const only = (perms: number, identity = BOB): Acl => {
  const colon = identity.indexOf(':');
  return [{ perms, scheme: identity.slice(0, colon), id: identity.slice(colon + 1) }];
};
const create = (path: string, acl: Acl = OPEN_ACL, mode: 'persistent' | 'ephemeral' = 'persistent'): WriteOp =>
  ({ type: 'create', path, data: bytes(''), mode, ttlMs: -1, acl });
const setData = (path: string, version = -1): WriteOp => ({ type: 'setData', path, data: bytes('x'), version });
const remove = (path: string, version = -1): WriteOp => ({ type: 'delete', path, version });
const setAcl = (path: string, acl: Acl, version = -1): WriteOp => ({ type: 'setACL', path, acl, version });

class AclHarness extends Harness {
  constructor() {
    super(new DataTree(undefined, 0, [
      { id: 1, timeoutMs: 10_000, tokenHash: 'a', auth: AS_BOB },
      { id: 2, timeoutMs: 10_000, tokenHash: 'b', auth: ANON },
    ]));
  }

  as(auth: readonly string[], ops: readonly WriteOp[], sessionId = 0): WriteResult {
    const out = this.applyTxn({ type: 'write', ops, multi: ops.length > 1, sessionId, auth });
    if (!out.result || !isWriteResult(out.result)) throw new Error('no write result');
    return out.result;
  }

  /** The outcome of one op by a caller with these identities: OK or its error code. */
  codeAs(auth: readonly string[], op: WriteOp): string {
    const result = this.as(auth, [op]);
    return result.ok ? 'OK' : result.error.code;
  }
}

describe('create', () => {
  it('fails with NOAUTH without CREATE on the parent, and succeeds with it', () => {
    const h = new AclHarness();
    expect(h.codeAs(AS_BOB, create('/p', only(PERM.CREATE)))).toBe('OK');
    expect(h.codeAs(ANON, create('/p/c'))).toBe('NOAUTH');
    expect(h.codeAs(AS_ALICE, create('/p/c'))).toBe('NOAUTH');
    expect(h.codeAs(AS_BOB, create('/p/c'))).toBe('OK');
  });

  it('reports NONODE for a missing parent before NOAUTH, and NOAUTH before NODEEXISTS', () => {
    const h = new AclHarness();
    expect(h.as(AS_BOB, [create('/p', only(PERM.READ | PERM.CREATE)), create('/p/c')])).toMatchObject({ ok: true });
    expect(h.codeAs(ANON, create('/q/c'))).toBe('NONODE');
    expect(h.codeAs(ANON, create('/p/c'))).toBe('NOAUTH');
  });

  it('stores the ACL it was given, interned', () => {
    const h = new AclHarness();
    h.as(AS_BOB, [create('/a', only(PERM.ALL)), create('/b', only(PERM.ALL))]);
    expect(h.tree.get('/a')!.acl).toEqual(only(PERM.ALL));
    expect(h.tree.get('/a')!.acl).toBe(h.tree.get('/b')!.acl);
  });
});

describe('create in every other mode', () => {
  const MODES = [
    'persistent_sequential', 'ephemeral', 'ephemeral_sequential', 'container', 'persistent_with_ttl', 'persistent_sequential_with_ttl',
  ] as const satisfies readonly CreateMode[];
  const createIn = (path: string, mode: CreateMode): WriteOp =>
    ({ type: 'create', path, data: bytes(''), mode, ttlMs: mode.endsWith('_with_ttl') ? 60_000 : -1, acl: OPEN_ACL });

  it.each(MODES)('%s: NOAUTH without CREATE on the parent, OK with it; a refusal leaves the parent\'s cversion and sequence as they were', (mode) => {
    const h = new AclHarness();
    h.as(AS_BOB, [create('/p', only(PERM.CREATE | PERM.READ))]);
    const before = h.tree.stat('/p')!;
    // Sessions 1 (Bob's) and 2 (anonymous) exist, for the ephemeral modes.
    expect(h.as(ANON, [createIn('/p/c', mode)], 2)).toMatchObject({ ok: false, error: { code: 'NOAUTH' } });
    expect(h.as(AS_ALICE, [createIn('/p/c', mode)], 1)).toMatchObject({ ok: false, error: { code: 'NOAUTH' } });
    expect(h.tree.stat('/p')).toEqual(before);
    expect(h.tree.childNames('/p')).toEqual([]);

    const created = h.as(AS_BOB, [createIn('/p/c', mode)], 1);
    expect(created.ok, JSON.stringify(created)).toBe(true);
    // The refused sequential creates spent no number: the first success is the parent's first child.
    const path = mode.includes('sequential') ? '/p/c0000000000' : '/p/c';
    expect(created).toMatchObject({ results: [{ type: 'create', path }] });
    expect(h.tree.stat('/p')!.cversion).toBe(before.cversion + 1);
  });
});

describe('delete', () => {
  it('needs DELETE on the parent, checked before the node\'s existence', () => {
    const h = new AclHarness();
    h.as(AS_BOB, [create('/p', only(PERM.CREATE | PERM.DELETE)), create('/p/c')]);
    expect(h.codeAs(ANON, remove('/p/c'))).toBe('NOAUTH');
    expect(h.codeAs(ANON, remove('/p/missing'))).toBe('NOAUTH');
    expect(h.codeAs(AS_BOB, remove('/p/missing'))).toBe('NONODE');
    expect(h.codeAs(AS_BOB, remove('/p/c'))).toBe('OK');
  });

  it('does not need any permission on the node itself', () => {
    const h = new AclHarness();
    h.as(AS_BOB, [create('/c', only(0))]);
    expect(h.codeAs(ANON, remove('/c'))).toBe('OK');
  });
});

describe('setData', () => {
  it('reports NONODE, then NOAUTH without WRITE, then BADVERSION', () => {
    const h = new AclHarness();
    h.as(AS_BOB, [create('/n', only(PERM.WRITE))]);
    expect(h.codeAs(ANON, setData('/missing'))).toBe('NONODE');
    expect(h.codeAs(ANON, setData('/n', 7))).toBe('NOAUTH');
    expect(h.codeAs(AS_BOB, setData('/n', 7))).toBe('BADVERSION');
    expect(h.codeAs(AS_BOB, setData('/n'))).toBe('OK');
  });

  it('refuses everyone but the superuser on /zookeeper/config (read-only ACL)', () => {
    const h = new AclHarness();
    expect(h.tree.get('/zookeeper/config')!.acl).toBe(READ_ACL);
    expect(h.codeAs(AS_BOB, setData('/zookeeper/config'))).toBe('NOAUTH');
    expect(h.codeAs(AS_BOB, create('/zookeeper/config/x'))).toBe('NOAUTH');
    expect(h.codeAs([SUPER_IDENTITY, ...ANON], setData('/zookeeper/config'))).toBe('OK');
  });
});

describe('setACL', () => {
  it('needs ADMIN, checks aversion, and bumps it without touching data, version or mzxid', () => {
    const h = new AclHarness();
    h.as(AS_BOB, [create('/n', only(PERM.ADMIN | PERM.READ))]);
    const before = h.tree.stat('/n')!;
    expect(h.codeAs(ANON, setAcl('/n', OPEN_ACL))).toBe('NOAUTH');
    expect(h.codeAs(AS_BOB, setAcl('/n', OPEN_ACL, 3))).toBe('BADVERSION');
    const out = h.applyTxn({ type: 'write', ops: [setAcl('/n', OPEN_ACL, 0)], multi: false, sessionId: 0, auth: AS_BOB });
    expect(out.result).toMatchObject({ ok: true, results: [{ type: 'setACL', path: '/n', stat: { aversion: 1 } }] });
    expect(out.events).toEqual([]);
    const after = h.tree.stat('/n')!;
    expect({ ...after, aversion: 0 }).toEqual(before);
    expect(h.tree.get('/n')!.acl).toBe(OPEN_ACL);
    expect(h.codeAs(ANON, setData('/n'))).toBe('OK');
  });

  it('reports NONODE before NOAUTH', () => {
    expect(new AclHarness().codeAs(ANON, setAcl('/missing', OPEN_ACL))).toBe('NONODE');
  });
});

describe('multi', () => {
  it('fails whole on the op the caller may not do, naming it, and leaves no trace', () => {
    const h = new AclHarness();
    h.as(AS_BOB, [create('/locked', only(PERM.ALL))]);
    const zxid = h.tree.appliedZxid;
    const result = h.as(ANON, [create('/free'), setData('/locked'), create('/free2')]);
    expect(result).toMatchObject({ ok: false, failedOp: 1, error: { code: 'NOAUTH' } });
    expect(h.tree.get('/free')).toBeUndefined();
    expect(h.tree.appliedZxid).toBe(zxid + 1);
  });

  it('checks each op against the state the ops before it left (a node created with an ACL in the same multi)', () => {
    const h = new AclHarness();
    const result = h.as(ANON, [create('/p', only(PERM.READ)), create('/p/c')]);
    expect(result).toMatchObject({ ok: false, failedOp: 1, error: { code: 'NOAUTH' } });
  });
});

describe('closeSession', () => {
  it('deletes the session\'s ephemerals whatever the ACLs (the server acts, not a caller)', () => {
    const h = new AclHarness();
    h.as(AS_BOB, [create('/p', only(PERM.CREATE))]);
    h.as(AS_BOB, [create('/p/e', OPEN_ACL, 'ephemeral')], 1);
    h.applyTxn({ type: 'closeSession', sessionId: 1, reason: 'expired' });
    expect(h.tree.get('/p/e')).toBeUndefined();
  });
});

describe('reaping', () => {
  it('removes an empty container and an expired TTL node under a parent that grants DELETE to no one (the server acts)', () => {
    const h = new AclHarness();
    h.as(AS_BOB, [create('/p', only(PERM.CREATE | PERM.READ))]);
    const box = h.as(AS_BOB, [{ type: 'create', path: '/p/box', data: bytes(''), mode: 'container', ttlMs: -1, acl: OPEN_ACL }]);
    const ttl = h.as(AS_BOB, [{ type: 'create', path: '/p/ttl', data: bytes(''), mode: 'persistent_with_ttl', ttlMs: 1_000, acl: OPEN_ACL }]);
    if (!box.ok || !ttl.ok) throw new Error('setup failed');
    // A container is reaped once it has had a child and has none left.
    h.as(AS_BOB, [create('/p/box/c')]);
    h.as(AS_BOB, [remove('/p/box/c')]);
    // No caller may delete them: DELETE on /p is granted to no one.
    expect(h.codeAs(AS_BOB, remove('/p/box'))).toBe('NOAUTH');
    expect(h.codeAs(AS_BOB, remove('/p/ttl'))).toBe('NOAUTH');

    const czxidOf = (path: string) => h.tree.get(path)!.czxid;
    const mtimeMs = h.tree.get('/p/ttl')!.mtime;
    h.reap('/p/box', czxidOf('/p/box'), mtimeMs + 10);
    h.reap('/p/ttl', czxidOf('/p/ttl'), mtimeMs + 1_001);
    expect(h.tree.get('/p/box')).toBeUndefined();
    expect(h.tree.get('/p/ttl')).toBeUndefined();
    expect(h.tree.childNames('/p')).toEqual([]);
  });
});

describe('watched reads', () => {
  const watch = (sessionId: number, op: 'getData' | 'getChildren' | 'exists', path: string, auth: readonly string[]): Txn =>
    ({ type: 'watch', sessionId, request: { op, path }, auth });

  it('fail with NOAUTH without READ and set no watch', () => {
    const h = new AclHarness();
    h.as(AS_BOB, [create('/secret', only(PERM.ALL))]);
    for (const op of ['getData', 'getChildren', 'exists'] as const) {
      expect(h.applyTxn(watch(2, op, '/secret', ANON)).result).toMatchObject({ ok: false, error: { code: 'NOAUTH' } });
    }
    expect(h.tree.watches.count(2)).toBe(0);
    expect(h.applyTxn(watch(1, 'getData', '/secret', AS_BOB)).result).toMatchObject({ ok: true });
    expect(h.tree.watches.count(1)).toBe(1);
  });

  it('exists on a missing node needs no READ (there is no ACL to ask) and watches for its creation', () => {
    const h = new AclHarness();
    expect(h.applyTxn(watch(2, 'exists', '/later', ANON)).result).toMatchObject({ ok: false, error: { code: 'NONODE' } });
    expect(h.tree.watches.count(2)).toBe(1);
  });
});

describe('persistent recursive watches', () => {
  const addWatch = (sessionId: number, path: string, auth: readonly string[]): Txn =>
    ({ type: 'watch', sessionId, request: { op: 'addWatch', path, mode: 'persistent_recursive' }, auth });

  it('deliver an event below the watch only to sessions that may READ the node at the change (CVE-2024-23944)', () => {
    const h = new AclHarness();
    h.applyTxn(addWatch(1, '/', AS_BOB));
    h.applyTxn(addWatch(2, '/', ANON));
    const created = h.applyTxn({ type: 'write', ops: [create('/secret', only(PERM.READ))], multi: false, sessionId: 0, auth: AS_BOB });
    expect(created.deliveries?.map((d) => d.sessionId)).toEqual([1]);
    const open = h.applyTxn({ type: 'write', ops: [create('/open')], multi: false, sessionId: 0, auth: ANON });
    expect(open.deliveries?.map((d) => d.sessionId)).toEqual([1, 2]);
    // A node's deletion is judged by the ACL it had: still hidden.
    const deleted = h.applyTxn({ type: 'write', ops: [remove('/secret')], multi: false, sessionId: 0, auth: AS_BOB });
    expect(deleted.deliveries?.map((d) => d.sessionId)).toEqual([1]);
  });

  it('withhold events on the watched node itself once READ on it is gone (the ACL at the change decides)', () => {
    const h = new AclHarness();
    h.as(AS_BOB, [create('/w', [{ perms: PERM.READ, scheme: 'world', id: 'anyone' }, ...only(PERM.ALL)])]);
    h.applyTxn(addWatch(2, '/w', ANON));
    const readable = h.applyTxn({ type: 'write', ops: [setData('/w')], multi: false, sessionId: 0, auth: AS_BOB });
    expect(readable.deliveries?.map((d) => d.sessionId)).toEqual([2]);
    h.as(AS_BOB, [setAcl('/w', only(PERM.ALL))]);
    const hidden = h.applyTxn({ type: 'write', ops: [setData('/w')], multi: false, sessionId: 0, auth: AS_BOB });
    expect(hidden.deliveries ?? []).toEqual([]);
  });

  it('are set without READ (addWatch checks nothing, as in ZooKeeper 3.9) but deliver nothing unreadable', () => {
    const h = new AclHarness();
    h.as(AS_BOB, [create('/secret', only(PERM.ALL))]);
    expect(h.applyTxn(addWatch(2, '/secret', ANON)).result).toMatchObject({ ok: true });
    const changed = h.applyTxn({ type: 'write', ops: [setData('/secret')], multi: false, sessionId: 0, auth: AS_BOB });
    expect(changed.deliveries ?? []).toEqual([]);
  });
});

describe('one-shot watches', () => {
  it('are used up by an event their session may no longer READ, which is withheld', () => {
    const h = new AclHarness();
    h.as(AS_BOB, [create('/n', [{ perms: PERM.READ, scheme: 'world', id: 'anyone' }, ...only(PERM.ALL)])]);
    expect(h.applyTxn({ type: 'watch', sessionId: 2, request: { op: 'getData', path: '/n' }, auth: ANON }).result).toMatchObject({ ok: true });
    h.as(AS_BOB, [setAcl('/n', only(PERM.ALL))]);
    const changed = h.applyTxn({ type: 'write', ops: [setData('/n')], multi: false, sessionId: 0, auth: AS_BOB });
    expect(changed.deliveries ?? []).toEqual([]);
    expect(h.tree.watches.count(2)).toBe(0);
  });

  it('hear of a child created under a parent they may READ (NodeChildrenChanged is judged by the parent\'s ACL)', () => {
    const h = new AclHarness();
    h.as(AS_BOB, [create('/p', [{ perms: PERM.READ, scheme: 'world', id: 'anyone' }, ...only(PERM.ALL)])]);
    h.applyTxn({ type: 'watch', sessionId: 2, request: { op: 'getChildren', path: '/p' }, auth: ANON });
    const created = h.applyTxn({ type: 'write', ops: [create('/p/secret', only(PERM.ALL))], multi: false, sessionId: 0, auth: AS_BOB });
    expect(created.deliveries?.map((d) => [d.sessionId, d.event.type])).toEqual([[2, 'NodeChildrenChanged']]);
  });
});

describe('a session\'s watched reads', () => {
  it('are judged by the identities the session was opened with, as its deliveries are', () => {
    const h = new AclHarness();
    h.as(AS_BOB, [create('/secret', only(PERM.ALL))]);
    // Session 2 was opened anonymously; bob's credentials on the request do not lend it READ.
    const refused = h.applyTxn({ type: 'watch', sessionId: 2, request: { op: 'getData', path: '/secret' }, auth: AS_BOB });
    expect(refused.result).toMatchObject({ ok: false, error: { code: 'NOAUTH' } });
    expect(h.tree.watches.count(2)).toBe(0);
    // Session 1 was opened by bob: its watch is set and its event arrives.
    expect(h.applyTxn({ type: 'watch', sessionId: 1, request: { op: 'getData', path: '/secret' }, auth: AS_BOB }).result).toMatchObject({ ok: true });
    const changed = h.applyTxn({ type: 'write', ops: [setData('/secret')], multi: false, sessionId: 0, auth: AS_BOB });
    expect(changed.deliveries?.map((d) => d.sessionId)).toEqual([1]);
  });
});

describe('the stored ACL (fixupACL, at apply)', () => {
  it('expands auth to the creator\'s identities, keeping the duplicates it makes (ZooKeeper dedupes before expanding)', () => {
    const h = new AclHarness();
    const acl = [{ perms: PERM.ALL, scheme: 'auth', id: '' }, ...only(PERM.ALL)];
    expect(h.codeAs(AS_BOB, create('/a', acl))).toBe('OK');
    expect(h.tree.get('/a')!.acl).toEqual([...only(PERM.ALL), ...only(PERM.ALL)]);
  });

  it('reports INVALIDACL in the op\'s turn: an earlier op\'s error in a multi comes first', () => {
    const h = new AclHarness();
    const bad = create('/x', []);
    expect(h.as(ANON, [setData('/missing'), bad])).toMatchObject({ ok: false, failedOp: 0, error: { code: 'NONODE' } });
    expect(h.as(ANON, [create('/y'), bad])).toMatchObject({ ok: false, failedOp: 1, error: { code: 'INVALIDACL' } });
    expect(h.codeAs(ANON, create('/z', [{ perms: PERM.ALL, scheme: 'auth', id: '' }]))).toBe('INVALIDACL');
    expect(h.codeAs(ANON, setAcl('/missing', []))).toBe('INVALIDACL');
  });
});
