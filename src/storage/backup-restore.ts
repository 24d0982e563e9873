/**
 * Restore: a fresh data directory made from a backup file, holding exactly what a member's
 * own directory would hold after taking a checkpoint at the backup's zxid — that checkpoint
 * (znodes, sessions, watches, request-id records), an empty log after it, and the Raft hard state
 * {term: the backup's term, vote: none, commit: its index}. Members restored from the same file
 * all start at the same (index, term), so they agree on the log's past; the election they hold
 * next is at a later term, and every entry after it is of a later term too, so zxids keep growing
 * past the backup's.
 *
 * Nothing is written before the whole file has been verified (backup-reader.ts), and nothing
 * shows as a database until it is complete: it is written as `corral.db.restoring` in one
 * transaction, made a single file (rollback journal), fsynced and renamed into place. A failure
 * leaves the directory as it was (or absent, when the restore created it). The directory is
 * locked meanwhile (data-dir-lock.ts), so a node cannot start on it half-way.
 */
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointStore } from './checkpoint-store.ts';
import { readBackupFile } from './backup-reader.ts';
import type { BackupHeader } from './backup-format.ts';
import { databaseFiles, openDatabase, type SqliteDb } from './database.ts';
import { LOCK_FILE, lockDataDir } from './data-dir-lock.ts';
import { makePrivateDir } from './file-modes.ts';
import { SqliteLogStore } from './log-store.ts';
import type { Znode } from '../core/tree/znode.ts';

/** The node's database file in its data directory (corral-node.ts opens this name). */
const DB_FILE = 'corral.db';
const RESTORING_FILE = `${DB_FILE}.restoring`;
/** Znodes per SQLite statement batch while writing (a few pages). */
const WRITE_CHUNK_NODES = 8192;

/** The restore will not run: the data directory is not a fresh one. */
export class RestoreRefused extends Error {
  override readonly name = 'RestoreRefused';
}

export interface RestoreOptions {
  readonly file: string;
  readonly dataDir: string;
  readonly nowMs: () => number;
}

function refuseUnlessFresh(dataDir: string, allowed: readonly string[] = []): void {
  if (!existsSync(dataDir)) return;
  if (!statSync(dataDir).isDirectory()) throw new RestoreRefused(`${dataDir} exists and is not a directory`);
  const entries = readdirSync(dataDir).filter((name) => !allowed.includes(name));
  if (entries.length > 0) {
    throw new RestoreRefused(`data directory ${dataDir} is not empty (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}); restore writes only into a new or empty directory`);
  }
}

/** Verifies `file`, then writes a data directory from it; answers the backup's header. */
export function restoreDataDir({ file, dataDir, nowMs }: RestoreOptions): BackupHeader {
  refuseUnlessFresh(dataDir);
  readBackupFile(file); // the whole file checked before anything is created
  const created = !existsSync(dataDir);
  makePrivateDir(dataDir);
  const lock = lockDataDir(dataDir);
  const restoring = join(dataDir, RESTORING_FILE);
  try {
    refuseUnlessFresh(dataDir, [LOCK_FILE]); // nobody wrote there since the first look
    const header = writeDatabase(file, restoring, nowMs);
    syncFile(restoring);
    renameSync(restoring, join(dataDir, DB_FILE));
    syncFile(dataDir);
    return header;
  } catch (error) {
    for (const leftover of [...databaseFiles(restoring), `${restoring}-journal`]) rmSync(leftover, { force: true });
    lock.release();
    if (created) rmSync(dataDir, { recursive: true, force: true });
    else rmSync(join(dataDir, LOCK_FILE), { force: true });
    throw error;
  } finally {
    lock.release();
  }
}

/** The checkpoint and hard state, in one transaction that the trailer check (last) can still roll back. */
function writeDatabase(file: string, path: string, nowMs: () => number): BackupHeader {
  const db: SqliteDb = openDatabase(path);
  try {
    const store = new CheckpointStore(db);
    const header = db.transaction(() => {
      let gen = 0;
      let pending: Znode[] = [];
      const read = readBackupFile(file, {
        records: ({ header: h, sessions, watches, requests }) => {
          gen = store.begin({ index: h.index, term: h.term, zxid: h.zxid, nodeCount: h.nodeCount }, sessions, nowMs(), watches, requests);
        },
        nodes: (nodes) => {
          pending.push(...nodes);
          if (pending.length < WRITE_CHUNK_NODES) return;
          store.writeChunk(gen, pending);
          pending = [];
        },
      });
      if (pending.length > 0) store.writeChunk(gen, pending);
      store.complete(gen, () => undefined);
      const log = new SqliteLogStore(db, { index: read.index, term: read.term });
      log.append([], { term: read.term, vote: 0, commit: read.index });
      log.close();
      return read;
    })();
    // One file to rename: the node turns WAL back on when it opens it.
    db.pragma('journal_mode = DELETE');
    return header;
  } finally {
    db.close();
  }
}

/** fsyncs a file or a directory (a rename is durable once its directory is). */
export function syncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
