import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Entry, HardState } from '../../src/core/consensus/types.ts';
import { openDatabase, StorageCorruptError, type SqliteDb } from '../../src/storage/database.ts';
import { ENTRIES_PER_ROW_MAX } from '../../src/storage/log-batch.ts';
import { SqliteLogStore } from '../../src/storage/log-store.ts';

const NO_SNAPSHOT = { index: 0, term: 0 };

function entries(from: number, to: number, term: number, tag = 'e'): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push({ term, index: i, data: `${tag}${i}:{"x":${i}}` });
  return out;
}

let dir: string;
let file: string;
let db: SqliteDb | undefined;

function open(): SqliteDb {
  db?.close();
  db = openDatabase(file);
  return db;
}

/** A second connection to the same file, as an outside process would have. */
function tamper(sql: string, ...params: unknown[]): number {
  const other = new Database(file);
  try {
    return other.prepare(sql).run(...params).changes;
  } finally {
    other.close();
  }
}

function walFrames(conn: SqliteDb): number {
  const [row] = conn.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number }>;
  return row!.log;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'corral-log-store-'));
  file = join(dir, 'corral.db');
  db = undefined;
});

afterEach(() => {
  db?.close();
  db = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('SqliteLogStore', () => {
  it('reads back appended entries, from memory and from the file', () => {
    const log = new SqliteLogStore(open(), NO_SNAPSHOT);
    expect(log.firstIndex()).toBe(1);
    expect(log.lastIndex()).toBe(0);
    expect(log.entries(1, 10, 10)).toEqual([]);
    const written = entries(1, 5, 1);
    log.append(written, { term: 1, vote: 1, commit: 0 });
    expect(log.lastIndex()).toBe(5);
    expect(log.entries(1, 6, 100)).toEqual(written);
    expect(log.entries(2, 4, 100)).toEqual(written.slice(1, 3));
    expect(log.entries(1, 6, 2)).toEqual(written.slice(0, 2));
    expect(log.term(3)).toBe(1);
    const fresh = new SqliteLogStore(db!, NO_SNAPSHOT);
    expect(fresh.entries(1, 6, 100)).toEqual(written);
    expect(fresh.entries(3, 100, 100)).toEqual(written.slice(2));
  });

  it('reads entries that have left the in-memory cache from the file', () => {
    const log = new SqliteLogStore(open(), NO_SNAPSHOT);
    const all: Entry[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const chunk = entries(batch * 1000 + 1, batch * 1000 + 1000, 1);
      log.append(chunk, undefined);
      all.push(...chunk);
    }
    expect(log.lastIndex()).toBe(10_000);
    expect(log.entries(1, 10_001, 20_000)).toEqual(all);
    expect(log.entries(5000, 7000, 20_000)).toEqual(all.slice(4999, 6999));
    expect(log.term(1)).toBe(1);
  });

  it('reads back entries whose size pushed them out of the in-memory cache, from the file', () => {
    const log = new SqliteLogStore(open(), NO_SNAPSHOT);
    const big = (i: number) => ({ term: 1, index: i, data: `${i}:${'x'.repeat(1024 * 1024)}` });
    const all: Entry[] = [];
    for (let i = 1; i <= 24; i++) {
      all.push(big(i));
      log.append([big(i)], undefined);
    }
    expect(log.entries(1, 25, 100)).toEqual(all);
    expect(new SqliteLogStore(db!, NO_SNAPSHOT).entries(20, 25, 100)).toEqual(all.slice(19));
    // Which ones are in memory shows once the file's copies are damaged: the oldest are read from
    // the file (and refused), the newest still come from memory.
    expect(tamper(`UPDATE log_batches SET body = replace(body, ':x', ':y') WHERE first IN (1, 24)`)).toBe(2);
    expect(() => log.entries(1, 2, 1)).toThrow(StorageCorruptError);
    expect(log.entries(24, 25, 1)).toEqual(all.slice(23));
  });

  it('writes each append as rows of consecutive entries with the CRC-32 of "first:" and the row (the file format), in batches of any size', () => {
    const conn = open();
    const log = new SqliteLogStore(conn, NO_SNAPSHOT);
    let next = 1;
    // Sizes around the rows-per-statement split, and the empty data of a leader's first entry.
    for (const size of [1, 15, 16, ENTRIES_PER_ROW_MAX, ENTRIES_PER_ROW_MAX + 1, 2 * ENTRIES_PER_ROW_MAX + 3, 2]) {
      const batch = entries(next, next + size - 1, 1, 'é✓');
      if (next === 1) batch[0] = { term: 1, index: 1, data: '' };
      log.append(batch, undefined);
      next += size;
    }
    const rows = conn.prepare('SELECT first, last, body, crc FROM log_batches ORDER BY first').all() as Array<{ first: number; last: number; body: string; crc: number }>;
    const all = log.entries(1, next, next);
    let expectedFirst = 1;
    for (const row of rows) {
      expect(row.first, 'rows are consecutive').toBe(expectedFirst);
      expect(row.last - row.first + 1).toBeLessThanOrEqual(ENTRIES_PER_ROW_MAX);
      expect(row.body).toBe(all.slice(row.first - 1, row.last).map((e) => `${e.term} ${e.data.length}\n${e.data}`).join(''));
      expect(row.crc, `row ${row.first}`).toBe(zlibCrc32(`${row.first}:${row.body}`));
      expectedFirst = row.last + 1;
    }
    expect(expectedFirst).toBe(next);
    // An append of more than a row's worth takes several rows; one of fewer, one row.
    expect(rows.length).toBe(1 + 1 + 1 + 1 + 2 + 3 + 1);
    expect(new SqliteLogStore(conn, NO_SNAPSHOT).entries(1, next, next)).toEqual(log.entries(1, next, next));
  });

  it('commits one append of many entries as one transaction: all or nothing, one WAL commit', () => {
    const conn = open();
    const log = new SqliteLogStore(conn, NO_SNAPSHOT);
    log.append(entries(1, 2, 1), { term: 1, vote: 1, commit: 0 });
    conn.pragma('wal_checkpoint(TRUNCATE)');
    expect(walFrames(conn)).toBe(0);
    log.append(entries(3, 202, 1), { term: 1, vote: 1, commit: 2 });
    // 200 separate commits would write at least 200 frames; one commit writes each page once.
    expect(walFrames(conn)).toBeLessThan(20);

    const broken = [...entries(203, 205, 2), { term: 2, index: 205, data: 'duplicate index' }];
    expect(() => log.append(broken, { term: 2, vote: 1, commit: 202 })).toThrow();
    expect(conn.prepare('SELECT max(last) AS hi, sum(last - first + 1) AS n FROM log_batches').get()).toEqual({ n: 202, hi: 202 });
    expect(log.hardState()).toEqual({ term: 1, vote: 1, commit: 2 });
    expect(log.lastIndex()).toBe(202);
  });

  it('replaces the conflicting suffix when an append starts at or below the last index', () => {
    const log = new SqliteLogStore(open(), NO_SNAPSHOT);
    log.append(entries(1, 5, 1), undefined);
    log.append(entries(3, 4, 2, 'r'), undefined);
    const expected = [...entries(1, 2, 1), ...entries(3, 4, 2, 'r')];
    expect(log.lastIndex()).toBe(4);
    expect(log.entries(1, 10, 10)).toEqual(expected);
    expect(log.term(3)).toBe(2);

    const reopened = new SqliteLogStore(open(), NO_SNAPSHOT);
    expect(reopened.lastIndex()).toBe(4);
    expect(reopened.entries(1, 10, 10)).toEqual(expected);
    reopened.append(entries(5, 6, 3, 'n'), undefined);
    expect(reopened.entries(4, 10, 10)).toEqual([...entries(4, 4, 2, 'r'), ...entries(5, 6, 3, 'n')]);
  });

  it('drops compacted entries; firstIndex and the snapshot term follow, also after reopening', () => {
    const conn = open();
    const log = new SqliteLogStore(conn, NO_SNAPSHOT);
    log.append(entries(1, 6, 1), undefined);
    log.append(entries(7, 10, 2), undefined);
    log.compact(6, 1);
    expect(log.firstIndex()).toBe(7);
    expect(log.lastIndex()).toBe(10);
    expect(log.size()).toBe(4);
    // The rows behind the checkpoint go a chunk of indexes at a time, whole rows only, never past it.
    const rows = () => conn.prepare('SELECT min(first) AS lo, sum(last - first + 1) AS n FROM log_batches').get();
    expect(rows()).toEqual({ lo: 1, n: 10 });
    expect(log.pruneCompacted(4)).toBe(4);
    expect(rows(), 'the row of 1..6 holds 5 and 6 still').toEqual({ lo: 1, n: 10 });
    expect(log.entries(7, 11, 10)).toEqual(entries(7, 10, 2));
    expect(log.pruneCompacted(4)).toBe(2);
    expect(rows()).toEqual({ lo: 7, n: 4 });
    expect(log.pruneCompacted(4)).toBe(0);
    expect(log.term(6)).toBe(1);
    expect(log.term(7)).toBe(2);
    expect(log.entries(7, 11, 10)).toEqual(entries(7, 10, 2));
    expect(rows()).toEqual({ lo: 7, n: 4 });

    const reopened = new SqliteLogStore(open(), { index: 6, term: 1 });
    expect(reopened.firstIndex()).toBe(7);
    expect(reopened.lastIndex()).toBe(10);
    expect(reopened.term(6)).toBe(1);
    expect(reopened.entries(7, 11, 10)).toEqual(entries(7, 10, 2));
  });

  it('restores lastIndex, entries and hardState when the file is reopened', () => {
    const hard: HardState = { term: 3, vote: 1, commit: 7 };
    const log = new SqliteLogStore(open(), NO_SNAPSHOT);
    log.append(entries(1, 7, 3), { term: 3, vote: 1, commit: 0 });
    log.append([], hard);
    expect(log.hardState()).toEqual(hard);

    const reopened = new SqliteLogStore(open(), NO_SNAPSHOT);
    expect(reopened.lastIndex()).toBe(7);
    expect(reopened.firstIndex()).toBe(1);
    expect(reopened.hardState()).toEqual(hard);
    expect(reopened.entries(1, 8, 100)).toEqual(entries(1, 7, 3));
  });

  it('answers a zero hardState for a new file', () => {
    expect(new SqliteLogStore(open(), NO_SNAPSHOT).hardState()).toEqual({ term: 0, vote: 0, commit: 0 });
  });

  it('refuses with StorageCorruptError to read an entry whose data was altered in the file', () => {
    const log = new SqliteLogStore(open(), NO_SNAPSHOT);
    log.append(entries(1, 2, 1), undefined);
    log.append(entries(3, 5, 1), undefined);
    db!.close();
    db = undefined;
    expect(tamper(`UPDATE log_batches SET body = replace(body, 'e3:', 'x3:') WHERE first = 3`)).toBe(1);

    const reopened = new SqliteLogStore(open(), NO_SNAPSHOT);
    expect(reopened.lastIndex()).toBe(5);
    expect(reopened.entries(1, 3, 10)).toEqual(entries(1, 2, 1));
    expect(() => reopened.entries(1, 6, 10)).toThrow(StorageCorruptError);
    expect(() => reopened.entries(3, 4, 10)).toThrow(/corrupt/);
    expect(() => reopened.term(3)).toThrow(StorageCorruptError);
  });

  it('refuses with StorageCorruptError to read an entry whose term was altered in the file', () => {
    const log = new SqliteLogStore(open(), NO_SNAPSHOT);
    log.append(entries(1, 3, 1), undefined);
    expect(tamper(`UPDATE log_batches SET body = '9' || substr(body, 2) WHERE first = 1`)).toBe(1);
    const reopened = new SqliteLogStore(open(), NO_SNAPSHOT);
    expect(() => reopened.entries(1, 4, 10)).toThrow(StorageCorruptError);
  });

  it('refuses to open a log with a missing middle entry', () => {
    const log = new SqliteLogStore(open(), NO_SNAPSHOT);
    log.append(entries(1, 4, 1), undefined);
    log.append(entries(5, 5, 1), undefined);
    log.append(entries(6, 10, 1), undefined);
    expect(tamper('DELETE FROM log_batches WHERE first = 5')).toBe(1);
    expect(() => new SqliteLogStore(open(), NO_SNAPSHOT)).toThrow(StorageCorruptError);
    expect(() => new SqliteLogStore(db!, NO_SNAPSHOT)).toThrow(/gap/);
  });

  it('refuses to open a log that does not start right after the checkpoint', () => {
    const log = new SqliteLogStore(open(), NO_SNAPSHOT);
    log.append(entries(1, 4, 1), undefined);
    log.append(entries(5, 5, 1), undefined);
    log.append(entries(6, 10, 1), undefined);
    log.compact(4, 1);
    expect(tamper('DELETE FROM log_batches WHERE first = 5')).toBe(1);
    expect(() => new SqliteLogStore(open(), { index: 4, term: 1 })).toThrow(StorageCorruptError);
  });

  it('discards rows at or below the checkpoint when opening, and reads on from a row that straddles it', () => {
    const log = new SqliteLogStore(open(), NO_SNAPSHOT);
    log.append(entries(1, 4, 1), undefined);
    log.append(entries(5, 10, 1), undefined);
    const reopened = new SqliteLogStore(open(), { index: 6, term: 1 });
    expect(reopened.firstIndex()).toBe(7);
    expect(reopened.lastIndex()).toBe(10);
    expect(reopened.entries(7, 11, 10)).toEqual(entries(7, 10, 1));
    expect(db!.prepare('SELECT min(first) AS lo FROM log_batches').get()).toEqual({ lo: 5 });
    expect(reopened.pruneCompacted(100)).toBe(2);
    expect(db!.prepare('SELECT min(first) AS lo FROM log_batches').get(), 'the straddling row holds live entries').toEqual({ lo: 5 });
  });

  it('replaces a suffix that starts inside a row, keeping the row\'s entries before it, across a reopen', () => {
    const log = new SqliteLogStore(open(), NO_SNAPSHOT);
    log.append(entries(1, 8, 1), undefined);
    log.append(entries(5, 6, 2, 'r'), undefined);
    const expected = [...entries(1, 4, 1), ...entries(5, 6, 2, 'r')];
    expect(new SqliteLogStore(open(), NO_SNAPSHOT).entries(1, 10, 10)).toEqual(expected);
    expect(db!.prepare('SELECT first, last FROM log_batches ORDER BY first').all()).toEqual([{ first: 1, last: 4 }, { first: 5, last: 6 }]);
  });
});
