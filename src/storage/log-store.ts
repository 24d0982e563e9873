/**
 * The replicated log in SQLite, one row per entry with a CRC-32 of (index, term, data). Appends
 * of one Ready share one transaction (group commit). Recent entries stay in memory so applying
 * what was just persisted does not read it back.
 *
 * Invariant: the rows form one contiguous run firstIndex..lastIndex; firstIndex - 1 is the
 * checkpoint's index, whose term `snapshotTerm` keeps.
 *
 * Durability: the file runs with synchronous=NORMAL, so a commit writes the WAL without waiting
 * for the disk, and `sync` fdatasyncs the WAL on libuv's thread pool: the event loop goes on
 * parsing and batching requests while the disk works, and the host acknowledges nothing before
 * `sync` reports (NORMAL plus this sync after each commit is what synchronous=FULL does, off the
 * loop). A file without a WAL (':memory:') needs no sync.
 */
import { closeSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';
import type { Entry, HardState, LogStore } from '../core/consensus/types.ts';
import { crc32 } from './crc32.ts';
import { readMeta, StorageCorruptError, type SqliteDb } from './database.ts';
import { MultiRowInsert } from './multi-row-insert.ts';

const CACHE_ENTRIES_MAX = 8192;

interface LogRow { idx: number; term: number; data: string; crc: number }

function entryCrc(index: number, term: number, data: string): number {
  return crc32(data, crc32(`${index}:${term}:`));
}

export class SqliteLogStore implements LogStore {
  private first: number;
  private last: number;
  private snapshotIndex: number;
  private snapshotTerm: number;
  private cache: Entry[] = [];
  /** Rows from here through `first - 1` are behind the checkpoint, left for pruneCompacted to delete. */
  private oldestRow: number;
  private readonly insert;
  private readonly deleteFrom;
  private readonly deleteThrough;
  private readonly select;
  private readonly putMeta;
  /** Built once: better-sqlite3 makes new wrapper functions with every `db.transaction` call. */
  private readonly appendRows: (entries: readonly Entry[], hardState: HardState | undefined) => void;
  private walFd: number | undefined;

  constructor(private readonly db: SqliteDb, snapshot: { index: number; term: number }) {
    this.insert = new MultiRowInsert(db, 'INSERT INTO log', ['idx', 'term', 'data', 'crc']);
    this.deleteFrom = db.prepare('DELETE FROM log WHERE idx >= ?');
    this.deleteThrough = db.prepare('DELETE FROM log WHERE idx <= ?');
    this.select = db.prepare('SELECT idx, term, data, crc FROM log WHERE idx >= ? AND idx < ? ORDER BY idx LIMIT ?');
    this.putMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    this.appendRows = db.transaction((entries: readonly Entry[], hardState: HardState | undefined) => {
      if (hardState) this.putMeta.run('hardState', JSON.stringify(hardState));
      if (entries.length === 0) return;
      const from = entries[0]!.index;
      if (from <= this.last) this.deleteFrom.run(from);
      const values: Array<number | string> = [];
      for (const e of entries) values.push(e.index, e.term, e.data, entryCrc(e.index, e.term, e.data));
      this.insert.run(values);
    });
    this.snapshotIndex = snapshot.index;
    this.snapshotTerm = snapshot.term;
    const span = db.prepare('SELECT min(idx) AS lo, max(idx) AS hi, count(*) AS n FROM log').get() as {
      lo: number | null; hi: number | null; n: number;
    };
    // Entries at or below the checkpoint are history the checkpoint already holds.
    if (span.lo !== null && span.lo <= snapshot.index) this.deleteThrough.run(snapshot.index);
    const lo = span.lo === null ? null : Math.max(span.lo, snapshot.index + 1);
    const hi = span.hi;
    if (lo !== null && hi !== null && hi >= lo) {
      const n = (db.prepare('SELECT count(*) AS n FROM log WHERE idx >= ?').get(lo) as { n: number }).n;
      if (lo !== snapshot.index + 1 || n !== hi - lo + 1) {
        throw new StorageCorruptError(
          `log has a gap: checkpoint at ${snapshot.index}, entries ${lo}..${hi} with ${n} rows`);
      }
    }
    this.first = snapshot.index + 1;
    this.oldestRow = this.first;
    this.last = hi !== null && hi > snapshot.index ? hi : snapshot.index;
  }

  hardState(): HardState {
    const raw = readMeta(this.db, 'hardState');
    return raw ? (JSON.parse(raw) as HardState) : { term: 0, vote: 0, commit: 0 };
  }

  firstIndex(): number {
    return this.first;
  }

  lastIndex(): number {
    return this.last;
  }

  term(index: number): number {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    const [entry] = this.entries(index, index + 1, 1);
    if (!entry) throw new StorageCorruptError(`no log entry at ${index}`);
    return entry.term;
  }

  entries(lo: number, hi: number, maxEntries: number): Entry[] {
    hi = Math.min(hi, this.last + 1, lo + maxEntries);
    if (hi <= lo) return [];
    const cachedFirst = this.cache[0]?.index ?? Infinity;
    if (lo >= cachedFirst) return this.cache.slice(lo - cachedFirst, hi - cachedFirst);
    const rows = this.select.all(lo, hi, hi - lo) as LogRow[];
    return rows.map((row, i) => {
      if (row.idx !== lo + i || entryCrc(row.idx, row.term, row.data) !== row.crc) {
        throw new StorageCorruptError(`log entry ${lo + i} is corrupt (checksum or index mismatch)`);
      }
      return { term: row.term, index: row.idx, data: row.data };
    });
  }

  /** Persists a Ready's state and entries in one transaction: one fsync for the whole batch. */
  append(entries: readonly Entry[], hardState: HardState | undefined): void {
    if (entries.length === 0 && !hardState) return;
    this.appendRows(entries, hardState);
    if (entries.length > 0) this.remember(entries);
  }

  private remember(entries: readonly Entry[]): void {
    const from = entries[0]!.index;
    const cachedFirst = this.cache[0]?.index;
    if (cachedFirst === undefined || from < cachedFirst || from > this.last + 1) this.cache = [];
    else this.cache.length = from - cachedFirst;
    this.cache.push(...entries);
    if (this.cache.length > CACHE_ENTRIES_MAX) this.cache = this.cache.slice(-CACHE_ENTRIES_MAX / 2);
    this.last = entries[entries.length - 1]!.index;
  }

  /**
   * Drops entries a complete checkpoint at `index` (of `term`) now covers. Their rows stay in the
   * file until pruneCompacted deletes them a chunk at a time (one DELETE of a whole checkpoint's
   * worth, 100k rows, held the event loop for a fifth of a second); until then no read reaches
   * them, and a restart deletes what is left (rows at or below the checkpoint).
   */
  compact(index: number, term: number): void {
    this.snapshotIndex = index;
    this.snapshotTerm = term;
    this.first = index + 1;
    const cachedFirst = this.cache[0]?.index;
    if (cachedFirst !== undefined && cachedFirst <= index) this.cache = this.cache.slice(index + 1 - cachedFirst);
  }

  /** Deletes up to `maxRows` of the rows compact left behind; returns how many indexes that covered (0: none left). */
  pruneCompacted(maxRows: number): number {
    const through = Math.min(this.first - 1, this.oldestRow + maxRows - 1);
    if (through < this.oldestRow) return 0;
    this.deleteThrough.run(through);
    const covered = through - this.oldestRow + 1;
    this.oldestRow = through + 1;
    return covered;
  }

  /** Replaces the whole log with a checkpoint at (index, term) received from the leader. */
  installSnapshot(index: number, term: number): void {
    this.db.prepare('DELETE FROM log').run();
    this.snapshotIndex = index;
    this.snapshotTerm = term;
    this.first = index + 1;
    this.oldestRow = this.first;
    this.last = index;
    this.cache = [];
  }

  sync(done: (error: Error | null) => void): void {
    let fd: number | undefined;
    try {
      fd = this.wal();
    } catch (error) {
      queueMicrotask(() => done(error as Error));
      return;
    }
    if (fd === undefined) queueMicrotask(() => done(null));
    else fdatasync(fd, (error) => done(error));
  }

  syncNow(): void {
    const fd = this.wal();
    if (fd !== undefined) fdatasyncSync(fd);
  }

  /** The WAL's descriptor; undefined for a file without one. SQLite keeps (and reuses) the WAL while open. */
  private wal(): number | undefined {
    if (this.db.memory || this.db.name === '') return undefined;
    this.walFd ??= openSync(`${this.db.name}-wal`, 'r+');
    return this.walFd;
  }

  /** Lets go of the WAL's descriptor (the database is closing). */
  close(): void {
    if (this.walFd !== undefined) closeSync(this.walFd);
    this.walFd = undefined;
  }

  /** Rows currently in the log. */
  size(): number {
    return this.last - this.first + 1;
  }
}
