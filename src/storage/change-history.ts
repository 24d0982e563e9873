/**
 * The change history behind the session-less watch stream: every watch event of every applied
 * transaction, kept for at least the last `retainEvents` events, so a client can resume from a zxid.
 * Written through the node's own connection, outside the log's syncs: history is derived data,
 * and what a crash loses of it is regenerated from the log at recovery (see `recordedThrough`).
 * (A second connection to the file would make each side re-read its pages after the other commits.)
 *
 * Events are stored a batch to a row — what one flush wrote, up to BATCH_EVENTS_MAX, never
 * splitting a transaction — as text lines (history-batch.ts): a row per event cost SQLite more
 * than anything else about recording it (profiles of setData-64: 4 % of the node's time).
 * Trimming drops whole batches, oldest first.
 */
import type { TreeEvent } from '../core/tree/results.ts';
import type { SqliteDb } from './database.ts';
import { BatchWriter, decodeBatch, type HistoryEvent } from './history-batch.ts';
import { tableExists } from './sqlite-tables.ts';

export type { HistoryEvent };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS change_batches (
  first_zxid INTEGER PRIMARY KEY, last_zxid INTEGER NOT NULL, events INTEGER NOT NULL, body TEXT NOT NULL);
`;

/** Events in one row at most, unless one transaction alone has more (a row holds whole transactions). */
export const BATCH_EVENTS_MAX = 1024;

interface BatchRow { first_zxid: number; last_zxid: number; events: number; body: string }

export class ChangeHistory {
  private readonly db: SqliteDb;
  /** Batches recorded but not yet written, the last one still open. */
  private sealed: BatchWriter[] = [];
  private open = new BatchWriter();
  /** The newest zxid recorded (written or pending): a replayed transaction at or below it is not recorded again. */
  private through = 0;
  /** Events in the table. */
  private retained = 0;
  private readonly insert;
  private readonly startOf;
  private readonly from;
  private readonly oldest;

  constructor(db: SqliteDb, private readonly retainEvents: number) {
    this.db = db;
    this.db.exec(SCHEMA);
    this.insert = db.prepare('INSERT INTO change_batches (first_zxid, last_zxid, events, body) VALUES (?, ?, ?, ?)');
    this.startOf = db.prepare('SELECT max(first_zxid) AS f FROM change_batches WHERE first_zxid <= ?').pluck();
    this.from = db.prepare('SELECT first_zxid, body FROM change_batches WHERE first_zxid >= ? AND first_zxid <= ? ORDER BY first_zxid');
    this.oldest = db.prepare('SELECT first_zxid, last_zxid, events FROM change_batches ORDER BY first_zxid LIMIT 64');
    const newest = db.prepare('SELECT last_zxid FROM change_batches ORDER BY first_zxid DESC LIMIT 1').pluck().get() as number | undefined;
    this.through = newest ?? 0;
    this.retained = (db.prepare('SELECT coalesce(sum(events), 0) FROM change_batches').pluck().get() as number);
  }

  /** The newest zxid recorded; replayed log entries up to it are not recorded again. */
  recordedThrough(): number {
    return this.through;
  }

  /** Events at or below this zxid may have been dropped by retention (or predate the history). */
  floor(): number {
    const row = this.db.prepare(`SELECT value FROM meta WHERE key = 'historyFloor'`).get() as { value: string } | undefined;
    return row ? Number(row.value) : 0;
  }

  setFloor(zxid: number): void {
    this.db.prepare(`INSERT INTO meta (key, value) VALUES ('historyFloor', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(String(zxid));
  }

  /** One transaction's events (all of one zxid), in op order. */
  record(events: readonly TreeEvent[]): void {
    const zxid = events[0]?.zxid;
    if (zxid === undefined || zxid <= this.through) return;
    if (this.open.events >= BATCH_EVENTS_MAX) {
      this.sealed.push(this.open);
      this.open = new BatchWriter();
    }
    for (const event of events) this.open.add(event);
    this.through = zxid;
  }

  /** Writes what was recorded since the last flush: one transaction, no fsync wait. */
  flush(): void {
    if (this.open.events === 0) return;
    const batches = this.sealed;
    batches.push(this.open);
    this.sealed = [];
    this.open = new BatchWriter();
    this.db.transaction(() => {
      for (const batch of batches) {
        this.insert.run(batch.first, batch.last, batch.events, batch.body());
        this.retained += batch.events;
      }
      if (this.retained - BATCH_EVENTS_MAX >= this.retainEvents) this.trim();
    })();
  }

  /** Drops the oldest batches while what is left still holds `retainEvents` events. */
  private trim(): void {
    let floor = 0;
    let dropThrough: number | undefined;
    for (const row of this.oldest.all() as BatchRow[]) {
      if (this.retained - row.events < this.retainEvents) break;
      this.retained -= row.events;
      dropThrough = row.first_zxid;
      floor = row.last_zxid;
    }
    if (dropThrough === undefined) return;
    this.db.prepare('DELETE FROM change_batches WHERE first_zxid <= ?').run(dropThrough);
    this.setFloor(Math.max(this.floor(), floor));
  }

  /** Events with zxid in (after, through], in order, at most `max` (written ones: the caller flushes first). */
  after(after: number, through: number, max: number): HistoryEvent[] {
    const out: HistoryEvent[] = [];
    if (max <= 0) return out;
    const start = (this.startOf.get(after) as number | null) ?? 0;
    for (const row of this.from.iterate(start, through) as IterableIterator<Pick<BatchRow, 'first_zxid' | 'body'>>) {
      for (const event of decodeBatch(row.first_zxid, row.body)) {
        if (event.zxid <= after) continue;
        if (event.zxid > through || out.length === max) return out;
        out.push(event);
      }
    }
    return out;
  }

  /** Every event of one zxid. */
  at(zxid: number): HistoryEvent[] {
    const start = this.startOf.get(zxid) as number | null;
    if (start === null) return [];
    const row = this.from.get(start, start) as Pick<BatchRow, 'first_zxid' | 'body'>;
    return decodeBatch(row.first_zxid, row.body).filter((event) => event.zxid === zxid);
  }

  /** Writes what is pending; the node closes the database. */
  close(): void {
    this.flush();
  }
}

/**
 * Schema 3 and before kept a row per event in `changes`: they become batches, in the caller's
 * transaction (the schema upgrade's), and the old table goes.
 */
export function upgradeHistoryRows(db: SqliteDb): void {
  if (!tableExists(db, 'changes')) return;
  const history = new ChangeHistory(db, Number.POSITIVE_INFINITY);
  let txn: TreeEvent[] = [];
  for (const row of db.prepare('SELECT zxid, type, path FROM changes ORDER BY zxid, k').iterate() as IterableIterator<TreeEvent>) {
    if (txn.length > 0 && txn[0]!.zxid !== row.zxid) {
      history.record(txn);
      txn = [];
    }
    txn.push({ zxid: row.zxid, type: row.type, path: row.path });
  }
  if (txn.length > 0) history.record(txn);
  // Written once the rows are all read: better-sqlite3 cannot write while a statement iterates.
  history.flush();
  db.exec('DROP TABLE changes');
}
