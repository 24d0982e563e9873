/**
 * The replicated log in SQLite: a row per append — a run of consecutive entries with a CRC-32
 * (log-batch.ts) — so group commit batches the B-tree work as well as the fsync. Appends of one
 * Ready share one transaction. Recent entries stay in memory so applying what was just persisted
 * does not read it back.
 *
 * Invariant: the rows hold one contiguous run of entries through lastIndex, from firstIndex or
 * before (a row may straddle the checkpoint: its entries up to firstIndex - 1 are never read);
 * firstIndex - 1 is the checkpoint's index, whose term `snapshotTerm` keeps.
 *
 * Durability: the file runs with synchronous=NORMAL, so a commit writes the WAL without waiting
 * for the disk, and `sync` fdatasyncs the WAL on libuv's thread pool: the event loop goes on
 * parsing and batching requests while the disk works, and the host acknowledges nothing before
 * `sync` reports (NORMAL plus this sync after each commit is what synchronous=FULL does, off the
 * loop). A file without a WAL (':memory:') needs no sync.
 */
import { closeSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';
import { assert } from '../core/errors.ts';
import type { Entry, HardState, LogStore } from '../core/consensus/types.ts';
import { readMeta, StorageCorruptError, type SqliteDb } from './database.ts';
import { decodeLogBatch, encodeLogBatch, ENTRIES_PER_ROW_MAX, type LogBatchRow } from './log-batch.ts';

/**
 * Recent entries kept in memory, at most this many and this many characters of data, trimmed to
 * half of either when one is passed. By size too: a bulk load of 1,000-create multis makes
 * ~250 KB entries, and 8,192 of those were a quarter of a 1M-znode node's memory.
 */
const CACHE_ENTRIES_MAX = 8192;
const CACHE_CHARS_MAX = 16 * 1024 * 1024;

export class SqliteLogStore implements LogStore {
  private first: number;
  private last: number;
  private snapshotIndex: number;
  private snapshotTerm: number;
  private cache: Entry[] = [];
  /** Characters of data in `cache`. */
  private cacheChars = 0;
  /** Rows may hold entries from here through `first - 1`, behind the checkpoint, left for pruneCompacted to delete. */
  private oldestRow: number;
  private readonly insert;
  private readonly deleteFrom;
  private readonly deleteThrough;
  private readonly rowStart;
  private readonly rowsFrom;
  private readonly putMeta;
  /** Built once: better-sqlite3 makes new wrapper functions with every `db.transaction` call. */
  private readonly appendRows: (entries: readonly Entry[], hardState: HardState | undefined) => void;
  private walFd: number | undefined;

  constructor(private readonly db: SqliteDb, snapshot: { index: number; term: number }) {
    this.insert = db.prepare('INSERT INTO log_batches (first, last, body, crc) VALUES (?, ?, ?, ?)');
    this.deleteFrom = db.prepare('DELETE FROM log_batches WHERE first >= ?');
    // Rows wholly at or below an index: a row straddling it stays.
    this.deleteThrough = db.prepare('DELETE FROM log_batches WHERE first <= ? AND last <= ?');
    /** The first index of the row that holds an index (the last row starting at or before it). */
    this.rowStart = db.prepare('SELECT max(first) FROM log_batches WHERE first <= ?').pluck();
    this.rowsFrom = db.prepare('SELECT first, last, body, crc FROM log_batches WHERE first >= ? AND first < ? ORDER BY first');
    this.putMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    this.appendRows = db.transaction((entries: readonly Entry[], hardState: HardState | undefined) => {
      if (hardState) this.putMeta.run('hardState', JSON.stringify(hardState));
      if (entries.length === 0) return;
      const from = entries[0]!.index;
      // A row's indexes are implied by its first: entries out of sequence would be misread.
      const outOfSequence = entries.findIndex((entry, i) => entry.index !== from + i);
      assert(outOfSequence === -1, `log append from ${from}: entry ${outOfSequence} out of sequence`);
      if (from <= this.last) this.truncateFrom(from);
      for (let i = 0; i < entries.length; i += ENTRIES_PER_ROW_MAX) this.insertRow(encodeLogBatch(entries, i, Math.min(entries.length, i + ENTRIES_PER_ROW_MAX)));
    });
    this.snapshotIndex = snapshot.index;
    this.snapshotTerm = snapshot.term;
    // Entries at or below the checkpoint are history the checkpoint already holds.
    this.deleteThrough.run(snapshot.index, snapshot.index);
    const span = db.prepare('SELECT min(first) AS lo, max(last) AS hi, sum(last - first + 1) AS n FROM log_batches').get() as {
      lo: number | null; hi: number | null; n: number | null;
    };
    const { lo, hi, n } = span;
    if (lo !== null && hi !== null && (lo > snapshot.index + 1 || n !== hi - lo + 1)) {
      throw new StorageCorruptError(
        `log has a gap: checkpoint at ${snapshot.index}, entries ${lo}..${hi} in rows holding ${n}`);
    }
    this.first = snapshot.index + 1;
    this.oldestRow = lo ?? this.first;
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
    const out: Entry[] = [];
    const start = (this.rowStart.get(lo) as number | null) ?? lo;
    for (const row of this.rowsFrom.iterate(start, hi) as IterableIterator<LogBatchRow>) {
      for (const entry of decodeLogBatch(row)) {
        if (entry.index < lo || entry.index >= hi) continue;
        if (entry.index !== lo + out.length) break;
        out.push(entry);
      }
    }
    if (out.length !== hi - lo) throw new StorageCorruptError(`log entry ${lo + out.length} is missing`);
    return out;
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
    if (cachedFirst === undefined || from < cachedFirst || from > this.last + 1) this.cacheFrom(this.cache.length);
    else if (from - cachedFirst < this.cache.length) this.cacheTo(from - cachedFirst);
    for (const entry of entries) {
      this.cache.push(entry);
      this.cacheChars += entry.data.length;
    }
    if (this.cache.length > CACHE_ENTRIES_MAX || this.cacheChars > CACHE_CHARS_MAX) {
      let drop = 0;
      while (drop < this.cache.length && (this.cache.length - drop > CACHE_ENTRIES_MAX / 2 || this.cacheChars > CACHE_CHARS_MAX / 2)) {
        this.cacheChars -= this.cache[drop++]!.data.length;
      }
      this.cache = this.cache.slice(drop);
    }
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
    if (cachedFirst !== undefined && cachedFirst <= index) this.cacheFrom(index + 1 - cachedFirst);
  }

  /** Deletes the rows wholly behind the checkpoint among the next `maxEntries` indexes; returns how many indexes that covered (0: none left). */
  pruneCompacted(maxEntries: number): number {
    const through = Math.min(this.first - 1, this.oldestRow + maxEntries - 1);
    if (through < this.oldestRow) return 0;
    this.deleteThrough.run(through, through);
    const covered = through - this.oldestRow + 1;
    this.oldestRow = through + 1;
    return covered;
  }

  /** Replaces the whole log with a checkpoint at (index, term) received from the leader. */
  installSnapshot(index: number, term: number): void {
    this.db.prepare('DELETE FROM log_batches').run();
    this.snapshotIndex = index;
    this.snapshotTerm = term;
    this.first = index + 1;
    this.oldestRow = this.first;
    this.last = index;
    this.cacheFrom(this.cache.length);
  }

  /** Drops the cache's first `count` entries. */
  private cacheFrom(count: number): void {
    for (let i = 0; i < count && i < this.cache.length; i++) this.cacheChars -= this.cache[i]!.data.length;
    this.cache = this.cache.slice(count);
  }

  /** Keeps the cache's first `count` entries only. */
  private cacheTo(count: number): void {
    for (let i = count; i < this.cache.length; i++) this.cacheChars -= this.cache[i]!.data.length;
    this.cache.length = count;
  }

  private insertRow(row: LogBatchRow): void {
    this.insert.run(row.first, row.last, row.body, row.crc);
  }

  /** Removes the entries from `from` on (a conflicting suffix): rows after it go, the row holding it keeps its entries before. */
  private truncateFrom(from: number): void {
    const start = this.rowStart.get(from) as number | null;
    if (start === null || start === from) {
      this.deleteFrom.run(from);
      return;
    }
    const [row] = this.rowsFrom.all(start, start + 1) as LogBatchRow[];
    const kept = decodeLogBatch(row!).filter((entry) => entry.index < from);
    this.deleteFrom.run(start);
    if (kept.length > 0) this.insertRow(encodeLogBatch(kept));
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

  /** Entries currently in the log. */
  size(): number {
    return this.last - this.first + 1;
  }
}
