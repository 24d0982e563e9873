/**
 * One node per data directory. Two processes (or two nodes in one process) on the same
 * `corral.db` would each believe their own view of the log and tree, answer differently for the
 * same path, and corrupt each other's writes. The first node to start holds an exclusive lock on
 * `<dataDir>/corral.lock` for its whole life; any other refuses to start.
 *
 * The lock is SQLite's own (the stack already has it; Node has no flock): the lock file is opened
 * as an empty database with locking_mode=EXCLUSIVE and a BEGIN EXCLUSIVE transaction that is never
 * committed. SQLite takes a POSIX lock on the file, which the kernel drops when the process dies
 * however it dies (SIGKILL included), so there is no stale pid file to guess about; and SQLite
 * tracks its locks per file across the connections of one process, so a second node in the same
 * process is refused too. The file is empty and stays: deleting it while a node runs would let a
 * second node lock a new file of the same name.
 */
import Database from 'better-sqlite3';
import { join, resolve } from 'node:path';
import { makePrivateFiles } from './file-modes.ts';

export const LOCK_FILE = 'corral.lock';

/** The data directory is held by another node: this one must not open it. */
export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';

  constructor(readonly dataDir: string) {
    super(`data directory ${dataDir} is in use by another corral node (${LOCK_FILE} is locked); each node needs a data directory of its own`);
  }
}

export interface DataDirLock {
  readonly dataDir: string;
  /** Lets go of the directory; idempotent. */
  release(): void;
}

/** Takes the data directory's lock (the directory must exist), or throws DataDirInUseError at once. */
export function lockDataDir(dataDir: string): DataDirLock {
  const file = join(dataDir, LOCK_FILE);
  // timeout 0: a held lock is an answer, not something to wait for.
  const db = new Database(file, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // No -journal file next to the lock: the transaction never writes anything to roll back.
    db.pragma('journal_mode = MEMORY');
    db.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    db.close();
    if ((error as { code?: unknown }).code === 'SQLITE_BUSY') throw new DataDirInUseError(resolve(dataDir));
    throw error;
  }
  makePrivateFiles([file]);
  return {
    dataDir,
    release: () => {
      // Closing rolls the open transaction back and drops the lock.
      if (db.open) db.close();
    },
  };
}
