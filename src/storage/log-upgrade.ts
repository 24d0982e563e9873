/**
 * Reading the log of schema 3 and before (a row per entry in `log`, with a CRC-32 of
 * "index:term:data") to upgrade it in place to rows of consecutive entries (log-batch.ts).
 */
import type { Entry } from '../core/consensus/types.ts';
import { crc32 } from './crc32.ts';
import type { SqliteDb } from './database.ts';
import { encodeLogBatch, ENTRIES_PER_ROW_MAX } from './log-batch.ts';
import { tableExists } from './sqlite-tables.ts';
import { StorageCorruptError } from './storage-error.ts';

interface EntryRowV3 { idx: number; term: number; data: string; crc: number }

/** Rows read per step: better-sqlite3 cannot write while a statement is still iterating. */
const STEP_ROWS = 5000;

/** The checksum a schema 3 row carries. */
export function entryCrcV3(index: number, term: number, data: string): number {
  return crc32(data, crc32(`${index}:${term}:`));
}

/** Moves the rows of `log` into `log_batches` and drops `log` (inside the caller's transaction). */
export function upgradeLogRows(db: SqliteDb): void {
  if (!tableExists(db, 'log')) return;
  const insert = db.prepare('INSERT INTO log_batches (first, last, body, crc) VALUES (?, ?, ?, ?)');
  let run: Entry[] = [];
  const write = () => {
    if (run.length === 0) return;
    const row = encodeLogBatch(run);
    insert.run(row.first, row.last, row.body, row.crc);
    run = [];
  };
  const page = db.prepare('SELECT idx, term, data, crc FROM log WHERE idx > ? ORDER BY idx LIMIT ?');
  for (let after = -1; ;) {
    const rows = page.all(after, STEP_ROWS) as EntryRowV3[];
    if (rows.length === 0) break;
    for (const row of rows) {
      if (entryCrcV3(row.idx, row.term, row.data) !== row.crc) {
        throw new StorageCorruptError(`log entries ${row.idx}..${row.idx} are corrupt (checksum mismatch)`);
      }
      // A gap stays a gap (the log store refuses it); a run never spans one.
      const previous = run[run.length - 1];
      if (run.length === ENTRIES_PER_ROW_MAX || (previous !== undefined && previous.index + 1 !== row.idx)) write();
      run.push({ index: row.idx, term: row.term, data: row.data });
    }
    after = rows[rows.length - 1]!.idx;
  }
  write();
  db.exec('DROP TABLE log');
}
