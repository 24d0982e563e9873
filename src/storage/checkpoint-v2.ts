/**
 * Reading checkpoints of schema 1 and 2 (a row per znode in checkpoint_nodes, its Stat as JSON,
 * a CRC over a text of path and meta then the data), to upgrade them in place to pages.
 */
import { OPEN_ACL } from '../core/acl/acl.ts';
import type { NodeKind, Znode } from '../core/tree/znode.ts';
import { CheckpointStore } from './checkpoint-store.ts';
import { crc32, crc32Bytes } from './crc32.ts';
import type { SqliteDb } from './database.ts';
import { tableExists } from './sqlite-tables.ts';
import { StorageCorruptError } from './storage-error.ts';

type NodeMetaRow = [number, number, number, number, number, number, number, number, NodeKind, number, number];

const KINDS: readonly string[] = ['persistent', 'ephemeral', 'container', 'ttl'];
/** Rows read (and pages written) per step: the upgrade never holds a whole tree in memory. */
const STEP_ROWS = 5000;

/** The checksum a schema 2 row carries. */
export function rowCrcV2(path: string, meta: string, data: Uint8Array): number {
  return crc32Bytes(data, crc32(`${path}\n${meta}\n`));
}

function parseMeta(path: string, meta: string): NodeMetaRow {
  let parsed: unknown;
  try {
    parsed = JSON.parse(meta);
  } catch {
    parsed = undefined;
  }
  const row = parsed as NodeMetaRow | undefined;
  const valid = Array.isArray(row) && row.length === 11 && KINDS.includes(row[8]) &&
    row.every((v, i) => i === 8 || Number.isSafeInteger(v));
  if (!valid) throw new StorageCorruptError(`checkpoint record of ${path} is unreadable`);
  return row;
}

function nodeOf([path, meta, data, crc]: [string, string, Buffer, number]): Znode {
  if (rowCrcV2(path, meta, data) !== crc) throw new StorageCorruptError(`checkpoint record of ${path} fails its checksum`);
  const [czxid, mzxid, pzxid, ctime, mtime, version, aversion, creations, kind, ephemeralOwner, ttlMs] = parseMeta(path, meta);
  return {
    path, data: new Uint8Array(data.buffer, data.byteOffset, data.length), czxid, mzxid, pzxid, ctime, mtime, version, aversion,
    creations, kind, ephemeralOwner, ttlMs, acl: OPEN_ACL,
  };
}

/**
 * Rewrites every complete checkpoint's rows as pages and drops the old table, in the caller's
 * transaction (so a crash half-way leaves the old file as it was). Rows of incomplete or retired
 * checkpoints go with the table; their metadata is removed as usual (latest(), pruneChunk()).
 */
export function upgradeCheckpointRows(db: SqliteDb): void {
  if (!tableExists(db, 'checkpoint_nodes')) return;
  const store = new CheckpointStore(db);
  const gens = db.prepare('SELECT gen FROM checkpoints WHERE complete = 1').pluck().all() as number[];
  const page = db.prepare('SELECT path, meta, data, crc FROM checkpoint_nodes WHERE gen = ? AND path > ? ORDER BY path LIMIT ?').raw();
  for (const gen of gens) {
    // Paged by key: better-sqlite3 cannot write while a statement is still iterating.
    for (let after = ''; ;) {
      const rows = page.all(gen, after, STEP_ROWS) as Array<[string, string, Buffer, number]>;
      if (rows.length === 0) break;
      store.writeChunk(gen, rows.map(nodeOf));
      after = rows[rows.length - 1]![0];
    }
  }
  db.exec('DROP TABLE checkpoint_nodes');
}
