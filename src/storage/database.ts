/**
 * The node's SQLite file: the log, the persisted consensus state and the tree's checkpoints.
 *
 * Durability: WAL journal with synchronous=NORMAL, and the log store fdatasyncs the WAL after
 * each commit off the event loop (SqliteLogStore.sync); a write is acknowledged only after that
 * sync. NORMAL alone would survive a process crash but could lose the last commits on power
 * loss; NORMAL plus a WAL sync per commit is synchronous=FULL's guarantee. Group commit keeps
 * this cheap: every entry proposed while the previous batch syncs shares one transaction and one
 * fdatasync. Checkpoints write through the same WAL, so a later sync covers them too (the WAL
 * is sequential: a synced commit makes every earlier one durable).
 *
 * The file and its -wal and -shm are the owner's only (0600, see file-modes.ts): the mode is set
 * as soon as SQLite has created the file, before the WAL exists, because SQLite gives a new -wal
 * and -shm the database file's own mode.
 */
import Database from 'better-sqlite3';
import { dirname } from 'node:path';
import { upgradeHistoryRows } from './change-history.ts';
import { upgradeCheckpointRows } from './checkpoint-v2.ts';
import { makePrivateDir, makePrivateFiles } from './file-modes.ts';
import { upgradeLogRows } from './log-upgrade.ts';
import { StorageCorruptError } from './storage-error.ts';

export { StorageCorruptError };
export type SqliteDb = Database.Database;

/**
 * 2 added checkpoint_watches (watches became replicated state); 3 packs checkpoint znodes into
 * pages (checkpoint_pages replaces checkpoint_nodes); 4 keeps the log a run of entries to a row
 * (log_batches replaces log) and the change history a batch of events to a row (change_batches
 * replaces changes); 5 adds checkpoint_requests (the request-id table became replicated state: a
 * checkpoint of an older file has none, which restores an empty table). A version 1 to 4 file is
 * upgraded in place; 6 adds ACLs (checkpoint_pages.acls: a page without them is of nodes all open) and
 * the identities that opened each session (checkpoint_sessions.auth). A version 1 to 5 file is
 * upgraded in place. checkpoint_config (the cluster configuration as of a checkpoint, a JSON
 * ClusterConfig) came later within 6: a file without it gets the empty table, and a checkpoint
 * without a row has the configuration given at start (--members).
 */
const SCHEMA_VERSION = 6;
const UPGRADABLE = new Set([1, 2, 3, 4, 5]);

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log_batches (
  first INTEGER PRIMARY KEY, last INTEGER NOT NULL, body TEXT NOT NULL, crc INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (
  gen INTEGER PRIMARY KEY, idx INTEGER NOT NULL, term INTEGER NOT NULL, zxid INTEGER NOT NULL,
  node_count INTEGER NOT NULL, complete INTEGER NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoint_pages (
  gen INTEGER NOT NULL, seq INTEGER NOT NULL, head BLOB NOT NULL, data BLOB NOT NULL,
  crc INTEGER NOT NULL, acls TEXT, PRIMARY KEY (gen, seq));
CREATE TABLE IF NOT EXISTS checkpoint_sessions (
  gen INTEGER NOT NULL, id INTEGER NOT NULL, timeout_ms INTEGER NOT NULL, token_hash TEXT NOT NULL,
  auth TEXT NOT NULL DEFAULT '[]', PRIMARY KEY (gen, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoint_watches (
  gen INTEGER NOT NULL, session_id INTEGER NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL,
  PRIMARY KEY (gen, session_id, kind, path)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoint_config (gen INTEGER PRIMARY KEY, config TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoint_requests (
  gen INTEGER NOT NULL, client TEXT NOT NULL, id TEXT NOT NULL, zxid INTEGER NOT NULL, digest TEXT NOT NULL,
  result TEXT NOT NULL, crc INTEGER NOT NULL, PRIMARY KEY (gen, client, id)) WITHOUT ROWID;
`;

/** The database file and the files SQLite keeps beside it in WAL mode. */
export function databaseFiles(file: string): string[] {
  return [file, `${file}-wal`, `${file}-shm`];
}

export function openDatabase(file: string): SqliteDb {
  const onDisk = file !== ':memory:' && file !== '';
  if (onDisk) makePrivateDir(dirname(file));
  let db: SqliteDb | undefined;
  try {
    db = new Database(file);
    // Before journal_mode: a -wal and -shm created from here on get the file's mode; ones left
    // by an earlier run (or an older build) are tightened too.
    if (onDisk) makePrivateFiles(databaseFiles(file));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = OFF');
    // No quick_check of the whole file here (6 % of a 1M-znode start): recovery reads every live
    // row, each checkpoint page and log entry carries a CRC, and SQLite reports a damaged page it
    // walks as SQLITE_CORRUPT, which recovery turns into StorageCorruptError.
    db.exec(SCHEMA);
    const row = db.prepare(`SELECT value FROM meta WHERE key = 'schema'`).get() as { value: string } | undefined;
    if (!row) db.prepare(`INSERT INTO meta (key, value) VALUES ('schema', ?)`).run(String(SCHEMA_VERSION));
    else if (UPGRADABLE.has(Number(row.value))) {
      db.transaction(() => {
        addColumn(db!, 'checkpoint_pages', 'acls', 'TEXT');
        addColumn(db!, 'checkpoint_sessions', 'auth', `TEXT NOT NULL DEFAULT '[]'`);
        upgradeCheckpointRows(db!);
        upgradeLogRows(db!);
        upgradeHistoryRows(db!);
        db!.prepare(`UPDATE meta SET value = ? WHERE key = 'schema'`).run(String(SCHEMA_VERSION));
      })();
    } else if (Number(row.value) !== SCHEMA_VERSION) {
      throw new StorageCorruptError(`${file}: schema version ${row.value}, this build reads ${SCHEMA_VERSION}`);
    }
    return db;
  } catch (error) {
    db?.close();
    if (error instanceof StorageCorruptError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new StorageCorruptError(`${file}: cannot open the database: ${message}`);
  }
}

/** Adds a column a table of an older schema lacks (CREATE TABLE IF NOT EXISTS left the old table as it was). */
function addColumn(db: SqliteDb, table: string, column: string, declaration: string): void {
  const columns = db.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(table) as string[];
  if (!columns.includes(column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${declaration}`);
}

export function readMeta(db: SqliteDb, key: string): string | undefined {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
  return row?.value;
}
