import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OPEN_ACL } from '../../src/core/acl/acl.ts';
import type { Znode } from '../../src/core/tree/znode.ts';
import { CheckpointStore } from '../../src/storage/checkpoint-store.ts';
import { rowCrcV2 } from '../../src/storage/checkpoint-v2.ts';
import { openDatabase, StorageCorruptError } from '../../src/storage/database.ts';

function znode(path: string, data: number[], extra: Partial<Znode> = {}): Znode {
  return {
    path, data: new Uint8Array(data), czxid: 4294967297, mzxid: 4294967300, pzxid: 4294967301, ctime: 1_700_000_000_000,
    mtime: 1_700_000_000_500, version: 3, aversion: 1, creations: 2, kind: 'persistent', ephemeralOwner: 0, ttlMs: 0, acl: OPEN_ACL, ...extra,
  };
}

/** More nodes than one upgrade step, so the upgrade pages through them. */
const TREE: Znode[] = [
  znode('/', []), znode('/zookeeper', []), znode('/app', [104, 105]),
  znode('/app/e', [1], { kind: 'ephemeral', ephemeralOwner: 0x1234_5678_9a }),
  znode('/app/t', [2], { kind: 'ttl', ttlMs: 60_000 }),
  ...Array.from({ length: 6000 }, (_, i) => znode(`/app/n${i}`, [i % 256, 7])),
];

let dir: string;
let file: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'corral-checkpoint-upgrade-'));
  file = join(dir, 'corral.db');
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A schema 2 file as that version wrote it: a row per znode, its Stat as JSON, a CRC over both. */
function writeSchema2File(complete: readonly Znode[], incomplete: readonly Znode[]): void {
  openDatabase(file).close();
  const db = new Database(file);
  db.exec(`DROP TABLE checkpoint_pages;
    CREATE TABLE checkpoint_nodes (
      gen INTEGER NOT NULL, path TEXT NOT NULL, meta TEXT NOT NULL, data BLOB NOT NULL,
      crc INTEGER NOT NULL, PRIMARY KEY (gen, path)) WITHOUT ROWID;
    UPDATE meta SET value = '2' WHERE key = 'schema';`);
  const checkpoint = db.prepare('INSERT INTO checkpoints (gen, idx, term, zxid, node_count, complete, created_ms) VALUES (?, ?, 1, ?, ?, ?, 0)');
  const row = db.prepare('INSERT INTO checkpoint_nodes (gen, path, meta, data, crc) VALUES (?, ?, ?, ?, ?)');
  for (const [gen, nodes, done] of [[1, complete, 1], [2, incomplete, 0]] as const) {
    checkpoint.run(gen, gen * 10, 2 ** 32 + gen * 10, nodes.length, done);
    for (const n of nodes) {
      const meta = JSON.stringify([n.czxid, n.mzxid, n.pzxid, n.ctime, n.mtime, n.version, n.aversion, n.creations, n.kind,
        n.ephemeralOwner, n.ttlMs]);
      row.run(gen, n.path, meta, n.data, rowCrcV2(n.path, meta, n.data));
    }
  }
  db.close();
}

const sorted = (nodes: Iterable<Znode>) =>
  [...nodes].map((n) => ({ ...n, data: [...n.data] })).sort((a, b) => (a.path < b.path ? -1 : 1));

const schemaOf = (path: string) => {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare(`SELECT value FROM meta WHERE key = 'schema'`).get() as { value: string }).value;
  } finally {
    db.close();
  }
};

describe('upgrading a schema 2 file', () => {
  it('rewrites its complete checkpoint as pages in place, node for node, and drops the old rows', () => {
    writeSchema2File(TREE, TREE.slice(0, 3));
    const db = openDatabase(file);
    try {
      expect(schemaOf(file)).toBe('6');
      const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all();
      expect(tables).not.toContain('checkpoint_nodes');
      const store = new CheckpointStore(db);
      const latest = store.latest()!;
      expect(latest).toMatchObject({ gen: 1, index: 10, nodeCount: TREE.length });
      expect(sorted(store.nodes(latest))).toEqual(sorted(TREE));
      expect(db.prepare('SELECT count(*) AS n FROM checkpoints').get()).toEqual({ n: 1 });
    } finally {
      db.close();
    }
  });

  it('refuses a file whose old rows fail their checksum, and leaves it as it was', () => {
    writeSchema2File(TREE, []);
    const raw = new Database(file);
    raw.prepare(`UPDATE checkpoint_nodes SET data = X'00' WHERE path = '/app/n17'`).run();
    raw.close();
    expect(() => openDatabase(file)).toThrow(StorageCorruptError);
    expect(schemaOf(file)).toBe('2');
  });

  it('refuses a file from a newer version', () => {
    openDatabase(file).close();
    const raw = new Database(file);
    raw.prepare(`UPDATE meta SET value = '7' WHERE key = 'schema'`).run();
    raw.close();
    expect(() => openDatabase(file)).toThrow(StorageCorruptError);
  });
});
