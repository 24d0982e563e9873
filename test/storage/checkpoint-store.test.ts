import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OPEN_ACL, PERM, type Acl } from '../../src/core/acl/acl.ts';
import type { Znode } from '../../src/core/tree/znode.ts';
import type { RequestRecord } from '../../src/core/tree/request-table.ts';
import { CheckpointStore, requestRowCrc } from '../../src/storage/checkpoint-store.ts';
import { crc32Bytes } from '../../src/storage/crc32.ts';
import { openDatabase, StorageCorruptError, type SqliteDb } from '../../src/storage/database.ts';

function znode(path: string, data: Uint8Array, extra: Partial<Znode> = {}): Znode {
  return {
    path, data, czxid: 4294967297, mzxid: 4294967300, pzxid: 4294967301, ctime: 1_700_000_000_000,
    mtime: 1_700_000_000_500, version: 3, aversion: 0, creations: 2, kind: 'persistent',
    ephemeralOwner: 0, ttlMs: 0, acl: OPEN_ACL, ...extra,
  };
}

/** Two ACLs besides the open one; nodes under one ACL share its list, as the tree interns them. */
const DIGEST_ACL: Acl = Object.freeze([
  { perms: PERM.ALL, scheme: 'digest', id: 'bob:HASH=' },
  { perms: PERM.READ, scheme: 'world', id: 'anyone' },
]);
const IP_ACL: Acl = Object.freeze([{ perms: PERM.READ | PERM.WRITE, scheme: 'ip', id: '10.0.0.0/8' }, { perms: 0, scheme: 'x509', id: 'CN=a, O=é' }]);

function sampleTree(): Znode[] {
  const binary = new Uint8Array(256);
  for (let i = 0; i < binary.length; i++) binary[i] = 255 - i;
  const large = new Uint8Array(64 * 1024).map((_, i) => (i * 31) % 256);
  return [
    znode('/', new Uint8Array(0), { czxid: 0, mzxid: 0, pzxid: 0, ctime: 0, mtime: 0, version: 0, creations: 0 }),
    znode('/zookeeper', new Uint8Array(0)),
    znode('/zookeeper/config', new Uint8Array(0)),
    znode('/zookeeper/quota', new Uint8Array(0)),
    znode('/app', new TextEncoder().encode('héllo, wörld'), { acl: DIGEST_ACL }),
    znode('/app/bin', binary, { acl: IP_ACL }),
    znode('/app/large', large, { acl: DIGEST_ACL }),
    znode('/app/nul', new Uint8Array([0, 0, 0]), { acl: [] }),
    znode('/app/lock-0000000001', new Uint8Array(0), { kind: 'ephemeral', ephemeralOwner: 0x1234_5678_9a }),
    znode('/app/tmp', new Uint8Array([1]), { kind: 'container' }),
    znode('/app/ttl', new Uint8Array([2]), { kind: 'ttl', ttlMs: 60_000 }),
  ];
}

function plain(node: Znode): Record<string, unknown> {
  return { ...node, data: Buffer.from(node.data).toString('hex') };
}

function byPath(nodes: Iterable<Znode>): Array<Record<string, unknown>> {
  return [...nodes].map(plain).sort((a, b) => String(a.path).localeCompare(String(b.path)));
}

let dir: string;
let file: string;
let db: SqliteDb;
let store: CheckpointStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'corral-checkpoint-store-'));
  file = join(dir, 'corral.db');
  db = openDatabase(file);
  store = new CheckpointStore(db);
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Writes a complete checkpoint of `nodes` in chunks of `chunk`. */
function writeCheckpoint(nodes: readonly Znode[], index: number, chunk = 4): number {
  const gen = store.begin({ index, term: 1, zxid: 2 ** 32 + index, nodeCount: nodes.length }, [], 1000 + index);
  for (let i = 0; i < nodes.length; i += chunk) store.writeChunk(gen, nodes.slice(i, i + chunk));
  store.complete(gen, () => undefined);
  return gen;
}

function rowCount(gen: number): { checkpoints: number; nodes: number } {
  const one = (sql: string) => (db.prepare(sql).get(gen) as { n: number }).n;
  return {
    checkpoints: one('SELECT count(*) AS n FROM checkpoints WHERE gen = ?'),
    nodes: (db.prepare('SELECT head FROM checkpoint_pages WHERE gen = ?').pluck().all(gen) as Buffer[])
      .reduce((sum, head) => sum + head.readUInt32LE(0), 0),
  };
}

function tamper(sql: string, ...params: unknown[]): number {
  const other = new Database(file);
  try {
    return other.prepare(sql).run(...params).changes;
  } finally {
    other.close();
  }
}

describe('CheckpointStore', () => {
  it('has no checkpoint in a new file', () => {
    expect(store.latest()).toBeUndefined();
  });

  it('round-trips a checkpoint written in chunks, binary and empty data and ACLs included', () => {
    const nodes = sampleTree();
    const gen = writeCheckpoint(nodes, 42, 3);
    const latest = store.latest();
    expect(latest).toEqual({ gen, index: 42, term: 1, zxid: 2 ** 32 + 42, nodeCount: nodes.length });
    const read = [...store.nodes(latest!)];
    expect(byPath(read)).toEqual(byPath(nodes));
    for (const node of read) expect(node.data).toBeInstanceOf(Uint8Array);
  });

  it('reads the checkpoint back after the file is reopened', () => {
    const nodes = sampleTree();
    writeCheckpoint(nodes, 7);
    db.close();
    db = openDatabase(file);
    store = new CheckpointStore(db);
    const latest = store.latest()!;
    expect(latest.index).toBe(7);
    expect(byPath(store.nodes(latest))).toEqual(byPath(nodes));
  });

  it('answers the newest complete checkpoint', () => {
    const nodes = sampleTree();
    writeCheckpoint(nodes, 10);
    const second = writeCheckpoint(nodes.slice(0, 5), 20);
    expect(store.latest()).toMatchObject({ gen: second, index: 20, nodeCount: 5 });
  });

  it('ignores an incomplete checkpoint and removes its rows', () => {
    const nodes = sampleTree();
    const done = writeCheckpoint(nodes, 10);
    const partial = store.begin({ index: 30, term: 2, zxid: 2 * 2 ** 32 + 30, nodeCount: nodes.length }, [], 2000);
    store.writeChunk(partial, nodes.slice(0, 4));
    expect(rowCount(partial)).toEqual({ checkpoints: 1, nodes: 4 });

    const latest = store.latest();
    expect(latest).toMatchObject({ gen: done, index: 10 });
    expect(rowCount(partial)).toEqual({ checkpoints: 0, nodes: 0 });
    expect(byPath(store.nodes(latest!))).toEqual(byPath(nodes));
  });

  it('answers no checkpoint when the only one is incomplete', () => {
    const gen = store.begin({ index: 5, term: 1, zxid: 2 ** 32 + 5, nodeCount: 3 }, [], 1);
    store.writeChunk(gen, sampleTree().slice(0, 2));
    expect(store.latest()).toBeUndefined();
    expect(rowCount(gen)).toEqual({ checkpoints: 0, nodes: 0 });
  });

  it('runs the completion hook in the same transaction: if it fails, the checkpoint stays incomplete', () => {
    const nodes = sampleTree();
    const first = writeCheckpoint(nodes, 10);
    const gen = store.begin({ index: 20, term: 1, zxid: 2 ** 32 + 20, nodeCount: nodes.length }, [], 1);
    store.writeChunk(gen, nodes);
    expect(() => store.complete(gen, () => {
      throw new Error('compaction failed');
    })).toThrow('compaction failed');
    expect(store.latest()).toMatchObject({ gen: first, index: 10 });
  });

  it('prunes retired generations in bounded chunks and leaves the current and newer ones alone', () => {
    const nodes = sampleTree();
    const old = writeCheckpoint(nodes, 10);
    const current = writeCheckpoint(nodes, 20);
    const next = store.begin({ index: 30, term: 1, zxid: 2 ** 32 + 30, nodeCount: nodes.length }, [], 3);
    store.writeChunk(next, nodes.slice(0, 2));
    expect(rowCount(old)).toEqual({ checkpoints: 1, nodes: nodes.length });

    const deletedPerCall: number[] = [];
    for (let calls = 0; calls < 50; calls++) {
      const deleted = store.pruneChunk(current, 3);
      if (deleted === 0) break;
      expect(deleted).toBeLessThanOrEqual(3);
      deletedPerCall.push(deleted);
    }
    expect(store.pruneChunk(current, 3)).toBe(0);
    expect(deletedPerCall.length).toBeGreaterThan(1);
    expect(rowCount(old)).toEqual({ checkpoints: 0, nodes: 0 });
    expect(rowCount(current)).toEqual({ checkpoints: 1, nodes: nodes.length });
    expect(rowCount(next)).toEqual({ checkpoints: 1, nodes: 2 });
  });

  it('packs many znodes to a row', () => {
    const nodes = Array.from({ length: 3000 }, (_, i) => znode(`/n${i}`, new Uint8Array([i % 256])));
    const gen = writeCheckpoint(nodes, 10, 3000);
    const pages = (db.prepare('SELECT count(*) AS n FROM checkpoint_pages WHERE gen = ?').get(gen) as { n: number }).n;
    expect(pages).toBeLessThan(10);
    expect(byPath(store.nodes(store.latest()!))).toEqual(byPath(nodes));
  });

  it('refuses a checkpoint with a missing page', () => {
    const nodes = sampleTree();
    const gen = writeCheckpoint(nodes, 10);
    expect(tamper('DELETE FROM checkpoint_pages WHERE gen = ? AND seq = 1', gen)).toBe(1);
    const latest = store.latest()!;
    expect(() => [...store.nodes(latest)]).toThrow(StorageCorruptError);
  });

  // A damaged row must read as storage corruption (main.ts: "refusing to start"), never as a
  // RangeError or a wrong tree served: every byte of a page is covered by its CRC.
  for (const column of ['head', 'data', 'acls'] as const) {
    for (const at of ['first', 'middle', 'last'] as const) {
      it(`refuses with StorageCorruptError a page whose ${column} has its ${at} byte flipped`, () => {
        const gen = writeCheckpoint(sampleTree(), 10, 20);
        const stored = db.prepare(`SELECT ${column} FROM checkpoint_pages WHERE gen = ? AND seq = 0`).pluck().get(gen) as Buffer | string;
        const blob = typeof stored === 'string' ? Buffer.from(stored, 'utf8') : stored;
        const offset = at === 'first' ? 0 : at === 'last' ? blob.length - 1 : blob.length >> 1;
        const damaged = Buffer.from(blob);
        damaged[offset]! ^= 0x10;
        const value = typeof stored === 'string' ? damaged.toString('utf8') : damaged;
        expect(tamper(`UPDATE checkpoint_pages SET ${column} = ? WHERE gen = ? AND seq = 0`, value, gen)).toBe(1);
        expect(() => [...store.nodes(store.latest()!)]).toThrow(StorageCorruptError);
      });
    }
  }

  it('refuses with StorageCorruptError a page whose ACLs are invalid or too few, even with a matching checksum', () => {
    for (const acls of ['[[{"perms":99,"scheme":"world","id":"anyone"}]]', '{}', '[]']) {
      const gen = writeCheckpoint(sampleTree(), 10, 20);
      const { head, data } = db.prepare('SELECT head, data FROM checkpoint_pages WHERE gen = ? AND seq = 0').get(gen) as { head: Buffer; data: Buffer };
      const crc = crc32Bytes(Buffer.from(acls, 'utf8'), crc32Bytes(data, crc32Bytes(head)));
      tamper('UPDATE checkpoint_pages SET acls = ?, crc = ? WHERE gen = ? AND seq = 0', acls, crc, gen);
      expect(() => [...store.nodes(store.latest()!)], acls).toThrow(StorageCorruptError);
    }
  });

  it('refuses with StorageCorruptError a page that fails to parse even with a matching checksum', () => {
    const gen = writeCheckpoint(sampleTree(), 10, 20);
    const { head, data, acls } = db.prepare('SELECT head, data, acls FROM checkpoint_pages WHERE gen = ?').get(gen) as { head: Buffer; data: Buffer; acls: string };
    const short = head.subarray(0, head.length - 3);
    const crc = crc32Bytes(Buffer.from(acls, 'utf8'), crc32Bytes(data, crc32Bytes(short)));
    tamper('UPDATE checkpoint_pages SET head = ?, crc = ? WHERE gen = ?', short, crc, gen);
    expect(() => [...store.nodes(store.latest()!)]).toThrow(StorageCorruptError);
  });
});

describe('checkpoint watches', () => {
  it('keeps the watches set at the checkpoint, and retires them with it', () => {
    const watches = [
      { sessionId: 7, kind: 'data' as const, path: '/app' },
      { sessionId: 7, kind: 'persistent_recursive' as const, path: '/' },
      { sessionId: 9, kind: 'child' as const, path: '/app' },
    ];
    const gen = store.begin({ index: 5, term: 1, zxid: 4294967301, nodeCount: 0 }, [], 1, watches);
    store.complete(gen, () => undefined);
    const meta = store.latest()!;
    expect(store.watches(meta)).toEqual(expect.arrayContaining(watches));
    expect(store.watches(meta)).toHaveLength(3);
    const next = store.begin({ index: 9, term: 1, zxid: 4294967305, nodeCount: 0 }, [], 2, []);
    store.complete(next, () => undefined);
    while (store.pruneChunk(next, 100) > 0);
    expect(store.watches(store.latest()!)).toEqual([]);
    expect(db.prepare('SELECT count(*) AS n FROM checkpoint_watches').get()).toEqual({ n: 0 });
  });

  it('refuses a watch of unknown kind as corruption', () => {
    const gen = store.begin({ index: 5, term: 1, zxid: 4294967301, nodeCount: 0 }, [], 1, []);
    db.prepare('INSERT INTO checkpoint_watches (gen, session_id, kind, path) VALUES (?, 1, ?, ?)').run(gen, 'sometimes', '/a');
    store.complete(gen, () => undefined);
    expect(() => store.watches(store.latest()!)).toThrow(StorageCorruptError);
  });

  it('upgrades a version 1 file (before watches were replicated) in place', () => {
    db.prepare(`UPDATE meta SET value = '1' WHERE key = 'schema'`).run();
    db.exec('DROP TABLE checkpoint_watches');
    db.close();
    db = openDatabase(file);
    expect(db.prepare(`SELECT value FROM meta WHERE key = 'schema'`).get()).toEqual({ value: '6' });
    store = new CheckpointStore(db);
    const gen = store.begin({ index: 1, term: 1, zxid: 4294967297, nodeCount: 0 }, [], 1, [{ sessionId: 1, kind: 'data', path: '/' }]);
    store.complete(gen, () => undefined);
    expect(store.watches(store.latest()!)).toHaveLength(1);
  });
});

describe('checkpoint request ids', () => {
  const STAT = { czxid: 4294967298, mzxid: 4294967298, pzxid: 4294967298, ctime: 1, mtime: 1, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 7, dataLength: 2, numChildren: 0 };
  const REQUESTS: RequestRecord[] = [
    { client: 'session:7', id: 'r-1', zxid: 4294967298, digest: '0123456789abcdef', result: { ok: true, results: [{ type: 'create', path: '/é', stat: STAT }, { type: 'check', path: '/x' }] } },
    { client: 'alice', id: 'r-1', zxid: 4294967299, digest: 'fedcba9876543210', result: { ok: false, failedOp: 0, error: { code: 'BADARGUMENTS', message: 'too big', path: '/b', tooLarge: true } } },
    { client: 'alice', id: 'r\u00002', zxid: 4294967300, digest: '00000000000000ff', result: { ok: true, results: [{ type: 'delete', path: '/d' }] } },
  ];

  it('round-trips the table, oldest first, and retires it with its checkpoint', () => {
    const gen = store.begin({ index: 5, term: 1, zxid: 4294967301, nodeCount: 0 }, [], 1, [], [REQUESTS[2]!, REQUESTS[0]!, REQUESTS[1]!]);
    store.complete(gen, () => undefined);
    expect(store.requests(store.latest()!)).toEqual(REQUESTS);
    const next = store.begin({ index: 9, term: 1, zxid: 4294967305, nodeCount: 0 }, [], 2, [], []);
    store.complete(next, () => undefined);
    while (store.pruneChunk(next, 100) > 0);
    expect(store.requests(store.latest()!)).toEqual([]);
    expect(db.prepare('SELECT count(*) AS n FROM checkpoint_requests').get()).toEqual({ n: 0 });
  });

  it('writes the table of a whole checkpoint from the leader', () => {
    store.writeWhole({ index: 5, term: 1, zxid: 4294967301, nodes: sampleTree(), sessions: [], watches: [], requests: REQUESTS }, 1, () => undefined);
    expect(store.requests(store.latest()!)).toEqual(REQUESTS);
  });

  it.each([
    ['a result that fails its checksum', `UPDATE checkpoint_requests SET result = '{"ok":true,"results":[]}' WHERE id = 'r-1' AND client = 'alice'`],
    ['a result that is not JSON, checksum and all', `UPDATE checkpoint_requests SET result = '{', crc = ${requestRowCrc('alice', 'r-1', 4294967299, 'fedcba9876543210', '{')} WHERE client = 'alice' AND id = 'r-1'`],
    ['a result of the wrong shape, checksum and all', `UPDATE checkpoint_requests SET result = '{"ok":1}', crc = ${requestRowCrc('alice', 'r-1', 4294967299, 'fedcba9876543210', '{"ok":1}')} WHERE client = 'alice' AND id = 'r-1'`],
  ])('refuses %s as corruption', (_what, sql) => {
    const gen = store.begin({ index: 5, term: 1, zxid: 4294967301, nodeCount: 0 }, [], 1, [], REQUESTS);
    store.complete(gen, () => undefined);
    expect(db.prepare(sql).run().changes).toBe(1);
    expect(() => store.requests(store.latest()!)).toThrow(StorageCorruptError);
  });

  it('upgrades a version 4 file (before request ids were replicated): its checkpoint restores an empty table', () => {
    const gen = writeCheckpoint(sampleTree(), 10);
    db.exec(`DROP TABLE checkpoint_requests; UPDATE meta SET value = '4' WHERE key = 'schema'`);
    db.close();
    db = openDatabase(file);
    store = new CheckpointStore(db);
    expect(db.prepare(`SELECT value FROM meta WHERE key = 'schema'`).get()).toEqual({ value: '6' });
    const meta = store.latest()!;
    expect(meta.gen).toBe(gen);
    expect(store.requests(meta)).toEqual([]);
    expect(byPath(store.nodes(meta))).toEqual(byPath(sampleTree()));
  });
});

describe('checkpoint ACLs and session identities', () => {
  const SESSIONS = [
    { id: 7, timeoutMs: 4000, tokenHash: 'ab', auth: ['digest:bob:HASH=', 'ip:10.1.2.3'] },
    { id: 9, timeoutMs: 6000, tokenHash: 'cd', auth: [] },
  ];

  it('round-trips the identities each session was opened with', () => {
    const gen = store.begin({ index: 5, term: 1, zxid: 4294967301, nodeCount: 0 }, SESSIONS, 1);
    store.complete(gen, () => undefined);
    expect([...store.sessions(store.latest()!)].sort((a, b) => a.id - b.id)).toEqual(SESSIONS);
  });

  it('refuses a session whose identities do not parse as corruption', () => {
    const gen = store.begin({ index: 5, term: 1, zxid: 4294967301, nodeCount: 0 }, SESSIONS, 1);
    store.complete(gen, () => undefined);
    expect(tamper(`UPDATE checkpoint_sessions SET auth = '[1]' WHERE id = 7`)).toBe(1);
    expect(() => store.sessions(store.latest()!)).toThrow(StorageCorruptError);
  });

  it('reads nodes under one ACL as one shared list', () => {
    writeCheckpoint(sampleTree(), 10, 100);
    const read = new Map([...store.nodes(store.latest()!)].map((n) => [n.path, n]));
    expect(read.get('/app')!.acl).toBe(read.get('/app/large')!.acl);
    expect(read.get('/')!.acl).toBe(OPEN_ACL);
  });

  /** A page's head as schema 3 to 5 wrote it: no ACL index after each node's data length. */
  function headWithoutAcls(head: Buffer): Buffer {
    const parts: Buffer[] = [head.subarray(0, 4)];
    let h = 4;
    for (let i = head.readUInt32LE(0); i > 0; i--) {
      const end = h + 4 + head.readUInt32LE(h) + 1 + 10 * 8 + 4;
      parts.push(head.subarray(h, end));
      h = end + 2;
    }
    expect(h).toBe(head.length);
    return Buffer.concat(parts);
  }

  it('upgrades a version 5 file (before ACLs): its nodes are open and its sessions have no identities', () => {
    const open = sampleTree().map((n) => ({ ...n, acl: OPEN_ACL }));
    const gen = store.begin({ index: 10, term: 1, zxid: 2 ** 32 + 10, nodeCount: open.length }, SESSIONS, 1);
    for (let i = 0; i < open.length; i += 4) store.writeChunk(gen, open.slice(i, i + 4));
    store.complete(gen, () => undefined);
    // Rewrite the file as version 5 wrote it: pages without ACLs, sessions without identities.
    const pages = db.prepare('SELECT seq, head, data FROM checkpoint_pages WHERE gen = ?').all(gen) as Array<{ seq: number; head: Buffer; data: Buffer }>;
    expect(pages.length).toBeGreaterThan(1);
    for (const { seq, head, data } of pages) {
      const old = headWithoutAcls(head);
      db.prepare('UPDATE checkpoint_pages SET head = ?, crc = ?, acls = NULL WHERE gen = ? AND seq = ?').run(old, crc32Bytes(data, crc32Bytes(old)), gen, seq);
    }
    db.exec(`ALTER TABLE checkpoint_pages DROP COLUMN acls; ALTER TABLE checkpoint_sessions DROP COLUMN auth; UPDATE meta SET value = '5' WHERE key = 'schema'`);
    db.close();
    db = openDatabase(file);
    store = new CheckpointStore(db);
    expect(db.prepare(`SELECT value FROM meta WHERE key = 'schema'`).get()).toEqual({ value: '6' });
    const meta = store.latest()!;
    expect(meta.gen).toBe(gen);
    const read = [...store.nodes(meta)];
    expect(byPath(read)).toEqual(byPath(open));
    for (const node of read) expect(node.acl).toBe(OPEN_ACL);
    expect([...store.sessions(meta)].sort((a, b) => a.id - b.id)).toEqual(SESSIONS.map((s) => ({ ...s, auth: [] })));
  });
});
