/** Exactly-once writes in the state machine: the request-id table owned by the tree. */
import { describe, expect, it } from 'vitest';
import { DataTree } from '../../src/core/tree/data-tree.ts';
import { RequestTable, REQUEST_IDS_PER_CLIENT_MAX, type RequestRecord } from '../../src/core/tree/request-table.ts';
import { parseRequestRecord } from '../../src/core/tree/request-record.ts';
import type { ApplyOutput, WriteResult } from '../../src/core/tree/results.ts';
import type { WriteOp } from '../../src/core/tree/txn.ts';
import { fnv1a64Hex, writeDigest } from '../../src/core/tree/write-digest.ts';
import { bytes, createOp, deleteOp, digest, Harness, setDataOp, TEST_SESSIONS } from './helpers.ts';

/** Applies a write with request id `id` of `client`. */
function tagged(h: Harness, ops: readonly WriteOp[], client: string, id: string, sessionId = 0): ApplyOutput & { result: WriteResult } {
  const output = h.applyTxn({ type: 'write', ops, multi: ops.length > 1, sessionId, auth: [], request: { client, id } });
  return output as ApplyOutput & { result: WriteResult };
}

const record = (client: string, id: string, zxid: number): RequestRecord => ({
  client, id, zxid, digest: '0000000000000000', result: { ok: true, results: [{ type: 'delete', path: '/x' }] },
});

describe('DataTree request ids', () => {
  it('answers a duplicate with the first result and zxid, changing nothing and firing nothing', () => {
    const h = new Harness();
    const first = tagged(h, [createOp('/a', 'persistent_sequential', 'x')], 'alice', 'r1');
    const firstZxid = h.lastZxid;
    const before = digest(h.tree);
    const retry = tagged(h, [createOp('/a', 'persistent_sequential', 'x')], 'alice', 'r1');
    expect(retry.result).toEqual(first.result);
    expect(retry.firstZxid).toBe(firstZxid);
    expect(retry.events).toEqual([]);
    expect(digest(h.tree)).toBe(before);
    expect(first.firstZxid).toBeUndefined();
  });

  it('answers a retry of a failed write with the same failure, even once it would succeed', () => {
    const h = new Harness();
    const first = tagged(h, [setDataOp('/later', 'v')], 'alice', 'r1');
    expect(first.result).toMatchObject({ ok: false, error: { code: 'NONODE' } });
    h.ok(createOp('/later'));
    const retry = tagged(h, [setDataOp('/later', 'v')], 'alice', 'r1');
    expect(retry.result).toEqual(first.result);
    expect(h.tree.get('/later')!.version).toBe(0);
  });

  it('refuses an id reused for a different operation with BADARGUMENTS and keeps the first entry', () => {
    const h = new Harness();
    const first = tagged(h, [createOp('/a', 'persistent', 'x')], 'alice', 'r1');
    const firstZxid = h.lastZxid;
    const before = digest(h.tree);
    const other = tagged(h, [createOp('/a', 'persistent', 'y')], 'alice', 'r1');
    expect(other.result).toMatchObject({ ok: false, failedOp: 0, error: { code: 'BADARGUMENTS' } });
    expect(other.result.ok || other.result.error.message).toMatch(/request id r1 was used for a different operation/);
    expect(other.firstZxid).toBeUndefined();
    expect(digest(h.tree)).toBe(before);
    const retry = tagged(h, [createOp('/a', 'persistent', 'x')], 'alice', 'r1');
    expect(retry.result).toEqual(first.result);
    expect(retry.firstZxid).toBe(firstZxid);
  });

  it.each([
    ['another session', 0, 3],
    ['a multi of the same op', 0, 0],
  ])('tells the operation apart by %s', (_what, firstSession, retrySession) => {
    const h = new Harness();
    tagged(h, [createOp('/a')], 'alice', 'r1', firstSession);
    const retry = retrySession === firstSession
      ? h.applyTxn({ type: 'write', ops: [createOp('/a')], multi: true, sessionId: retrySession, auth: [], request: { client: 'alice', id: 'r1' } })
      : tagged(h, [createOp('/a')], 'alice', 'r1', retrySession);
    expect(retry.result).toMatchObject({ ok: false, error: { code: 'BADARGUMENTS' } });
  });

  it('keeps two clients\' equal ids apart: each applies once, neither sees the other\'s answer', () => {
    const h = new Harness();
    h.ok(createOp('/n'));
    const alice = tagged(h, [setDataOp('/n', 'a')], 'alice', 'same');
    const bob = tagged(h, [setDataOp('/n', 'b')], 'bob', 'same');
    expect(bob.result).toMatchObject({ ok: true });
    expect(bob.firstZxid).toBeUndefined();
    expect(h.tree.get('/n')!.version).toBe(2);
    expect(tagged(h, [setDataOp('/n', 'a')], 'alice', 'same').result).toEqual(alice.result);
    expect(tagged(h, [setDataOp('/n', 'b')], 'bob', 'same').result).toEqual(bob.result);
  });

  it('keeps sessions\' equal ids apart', () => {
    const h = new Harness();
    tagged(h, [createOp('/s1', 'ephemeral')], 'session:1', 'r', 1);
    const second = tagged(h, [createOp('/s2', 'ephemeral')], 'session:2', 'r', 2);
    expect(second.result).toMatchObject({ ok: true });
    expect(h.tree.get('/s2')!.ephemeralOwner).toBe(2);
  });

  it('drops a session\'s ids when it ends: its retry then gets SESSIONEXPIRED', () => {
    const h = new Harness();
    tagged(h, [createOp('/p', 'persistent')], 'session:4', 'r', 4);
    tagged(h, [createOp('/q', 'persistent')], 'session:5', 'r', 5);
    expect(h.tree.requests.countOf('session:4')).toBe(1);
    h.applyTxn({ type: 'closeSession', sessionId: 4, reason: 'expired' });
    expect(h.tree.requests.countOf('session:4')).toBe(0);
    expect(h.tree.requests.countOf('session:5')).toBe(1);
    const retry = tagged(h, [createOp('/p', 'persistent')], 'session:4', 'r', 4);
    expect(retry.result).toMatchObject({ ok: false, error: { code: 'SESSIONEXPIRED' } });
    expect(h.tree.requests.countOf('session:4')).toBe(0);
  });

  it('evicts a client\'s oldest id past its bound, and only that client\'s', () => {
    const h = new Harness();
    tagged(h, [createOp('/other')], 'bob', 'b0');
    for (let i = 0; i <= REQUEST_IDS_PER_CLIENT_MAX; i++) tagged(h, [createOp(`/n${i}`)], 'alice', `r${i}`);
    expect(h.tree.requests.countOf('alice')).toBe(REQUEST_IDS_PER_CLIENT_MAX);
    expect(h.tree.requests.get('alice', 'r0')).toBeUndefined();
    expect(h.tree.requests.get('alice', 'r1')).toBeDefined();
    expect(h.tree.requests.get('bob', 'b0')).toBeDefined();
    // Forgotten: a retry is a new write (here NODEEXISTS), not the first answer.
    expect(tagged(h, [createOp('/n0')], 'alice', 'r0').result).toMatchObject({ ok: false, error: { code: 'NODEEXISTS' } });
  });

  it('restores the table from records and answers retries from it', () => {
    const h = new Harness();
    const first = tagged(h, [createOp('/a', 'persistent_sequential')], 'session:2', 'r', 2);
    const copy = new Harness(new DataTree(h.tree.snapshot(), h.tree.appliedZxid, TEST_SESSIONS, [], h.tree.requests.all()));
    const retry = tagged(copy, [createOp('/a', 'persistent_sequential')], 'session:2', 'r', 2);
    expect(retry.result).toEqual(first.result);
    expect(retry.firstZxid).toBe(1);
  });

  it('refuses records of a session that is not open, or answered after the tree\'s zxid', () => {
    expect(() => new DataTree(undefined, 10, [], [], [record('session:77', 'r', 3)])).toThrow(/session is not open/);
    expect(() => new DataTree(undefined, 2, [], [], [record('alice', 'r', 3)])).toThrow(/after the tree's 2/);
  });
});

describe('RequestTable', () => {
  it('evicts the oldest of all when the total is over its bound', () => {
    const table = new RequestTable([], { perClientMax: 10, totalMax: 3 });
    table.record(record('a', '1', 1));
    table.record(record('b', '1', 2));
    table.record(record('a', '2', 3));
    table.record(record('c', '1', 4));
    expect(table.all().map((r) => r.zxid)).toEqual([2, 3, 4]);
    expect(table.get('a', '1')).toBeUndefined();
  });

  it('evicts a client\'s own oldest when that client is over its bound, not the oldest of all', () => {
    const table = new RequestTable([], { perClientMax: 2, totalMax: 10 });
    table.record(record('b', '1', 1));
    table.record(record('a', '1', 2));
    table.record(record('a', '2', 3));
    table.record(record('a', '3', 4));
    expect(table.all().map((r) => `${r.client}${r.id}`)).toEqual(['b1', 'a2', 'a3']);
  });

  it('loads records in zxid order whatever order they come in, applying the bounds', () => {
    const table = new RequestTable([record('a', '3', 30), record('a', '1', 10), record('a', '2', 20)], { perClientMax: 2, totalMax: 10 });
    expect(table.all().map((r) => r.id)).toEqual(['2', '3']);
  });

  it('refuses a record not after the newest one', () => {
    const table = new RequestTable([record('a', '1', 5)]);
    expect(() => table.record(record('b', '1', 5))).toThrow(/not after/);
  });

  it('reads back what it stores, field by field, and refuses a damaged record', () => {
    const stored = record('alice', 'r', 4);
    expect(parseRequestRecord(JSON.parse(JSON.stringify(stored)))).toEqual(stored);
    expect(parseRequestRecord({ ...stored, zxid: -1 })).toBeUndefined();
    expect(parseRequestRecord({ ...stored, result: { ok: true } })).toBeUndefined();
    expect(parseRequestRecord({ ...stored, digest: 'xyz' })).toBeUndefined();
  });
});

describe('writeDigest', () => {
  it.each([
    ['', 'cbf29ce484222325'],
    ['a', 'af63dc4c8601ec8c'],
    ['foobar', '85944171f73967e8'],
  ])('computes FNV-1a 64 as published for %j', (text, hex) => {
    expect(fnv1a64Hex(bytes(text))).toBe(hex);
  });

  it('differs for different data bytes, versions, modes, multi and session', () => {
    const base = writeDigest([setDataOp('/a', 'x')], false, 0);
    expect(writeDigest([setDataOp('/a', 'x')], false, 0)).toBe(base);
    const others = [
      writeDigest([setDataOp('/a', 'y')], false, 0),
      writeDigest([setDataOp('/a', 'x', 3)], false, 0),
      writeDigest([setDataOp('/a', 'x')], true, 0),
      writeDigest([setDataOp('/a', 'x')], false, 1),
      writeDigest([setDataOp('/b', 'x')], false, 0),
      writeDigest([createOp('/a', 'persistent', 'x')], false, 0),
      writeDigest([deleteOp('/a')], false, 0),
    ];
    expect(new Set([base, ...others]).size).toBe(others.length + 1);
  });
});
