import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Entry } from '../../src/core/consensus/types.ts';
import { openDatabase, StorageCorruptError } from '../../src/storage/database.ts';
import { ENTRIES_PER_ROW_MAX } from '../../src/storage/log-batch.ts';
import { SqliteLogStore } from '../../src/storage/log-store.ts';
import { entryCrcV3 } from '../../src/storage/log-upgrade.ts';
import { makeTempDir, removeDir } from '../support/corral-process.ts';

let dir: string;
let file: string;

beforeEach(() => {
  dir = makeTempDir('corral-log-upgrade-');
  file = join(dir, 'corral.db');
});

afterEach(() => removeDir(dir));

function entries(from: number, to: number): Entry[] {
  return Array.from({ length: to - from + 1 }, (_, i) => ({ index: from + i, term: 1 + Math.floor((from + i) / 1000), data: i === 0 ? '' : `{"n":${from + i},"s":"é✓\\n"}` }));
}

/** A schema 3 file as that version wrote it: a row per log entry, with a CRC of "index:term:data". */
function writeSchema3File(log: readonly Entry[]): void {
  openDatabase(file).close();
  const db = new Database(file);
  db.exec(`DROP TABLE log_batches;
    CREATE TABLE log (idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, data TEXT NOT NULL, crc INTEGER NOT NULL);
    UPDATE meta SET value = '3' WHERE key = 'schema';`);
  const row = db.prepare('INSERT INTO log (idx, term, data, crc) VALUES (?, ?, ?, ?)');
  db.transaction(() => {
    for (const e of log) row.run(e.index, e.term, e.data, entryCrcV3(e.index, e.term, e.data));
  })();
  db.close();
}

function schemaAndTables(): { schema: string; tables: string[] } {
  const db = new Database(file, { readonly: true });
  try {
    return {
      schema: db.prepare(`SELECT value FROM meta WHERE key = 'schema'`).pluck().get() as string,
      tables: db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'log%' ORDER BY name`).pluck().all() as string[],
    };
  } finally {
    db.close();
  }
}

describe('upgrading a schema 3 file', () => {
  it('moves its log, entry for entry, into rows of consecutive entries and drops the old table', () => {
    const log = entries(1, 5300);
    writeSchema3File(log);
    const db = openDatabase(file);
    try {
      expect(schemaAndTables()).toEqual({ schema: '6', tables: ['log_batches'] });
      const store = new SqliteLogStore(db, { index: 0, term: 0 });
      expect(store.lastIndex()).toBe(5300);
      expect(store.entries(1, 5301, 10_000)).toEqual(log);
      const widest = db.prepare('SELECT max(last - first + 1) FROM log_batches').pluck().get();
      expect(widest).toBe(ENTRIES_PER_ROW_MAX);
    } finally {
      db.close();
    }
  });

  it('refuses a file whose old log rows fail their checksum, and leaves it as it was', () => {
    writeSchema3File(entries(1, 40));
    const raw = new Database(file);
    raw.prepare(`UPDATE log SET data = '{"n":0}' WHERE idx = 17`).run();
    raw.close();
    expect(() => openDatabase(file)).toThrow(StorageCorruptError);
    // The new table exists (empty); the old one holds every row still.
    expect(schemaAndTables()).toEqual({ schema: '3', tables: ['log', 'log_batches'] });
    const check = new Database(file, { readonly: true });
    expect(check.prepare('SELECT count(*) FROM log').pluck().get()).toBe(40);
    expect(check.prepare('SELECT count(*) FROM log_batches').pluck().get()).toBe(0);
    check.close();
  });

  it('keeps a gap in the old log a gap, which the log store refuses', () => {
    writeSchema3File([...entries(1, 10), ...entries(12, 20)]);
    const db = openDatabase(file);
    try {
      expect(() => new SqliteLogStore(db, { index: 0, term: 0 })).toThrow(/gap/);
    } finally {
      db.close();
    }
  });
});
