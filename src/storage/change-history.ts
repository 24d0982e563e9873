/**
 * The change history behind the session-less watch stream: every watch event of every applied
 * transaction, kept for the last `retainEvents` events, so a client can resume from a zxid.
 * Written through the node's own connection, outside the log's syncs: history is derived data,
 * and what a crash loses of it is regenerated from the log at recovery (see `recordedThrough`).
 * (A second connection to the file would make each side re-read its pages after the other commits.)
 */
import type { EventType, TreeEvent } from '../core/tree/results.ts';
import type { SqliteDb } from './database.ts';
import { MultiRowInsert } from './multi-row-insert.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS changes (
  zxid INTEGER NOT NULL, k INTEGER NOT NULL, type TEXT NOT NULL, path TEXT NOT NULL,
  PRIMARY KEY (zxid, k)) WITHOUT ROWID;
`;

export interface HistoryEvent {
  readonly zxid: number;
  readonly type: EventType;
  readonly path: string;
}

export class ChangeHistory {
  private readonly db: SqliteDb;
  /** Rows not yet written, flat: zxid, k, type, path, zxid, ... */
  private pending: Array<number | string> = [];
  private sinceTrim = 0;
  private readonly insert: MultiRowInsert;
  private readonly selectAfter;

  constructor(db: SqliteDb, private readonly retainEvents: number) {
    this.db = db;
    this.db.exec(SCHEMA);
    this.insert = new MultiRowInsert(db, 'INSERT OR IGNORE INTO changes', ['zxid', 'k', 'type', 'path']);
    this.selectAfter = this.db.prepare('SELECT zxid, type, path FROM changes WHERE zxid > ? AND zxid <= ? ORDER BY zxid, k LIMIT ?');
  }

  /** The newest zxid recorded; replayed log entries up to it are not recorded again. */
  recordedThrough(): number {
    const row = this.db.prepare('SELECT max(zxid) AS z FROM changes').get() as { z: number | null };
    return row.z ?? 0;
  }

  /** Events at or below this zxid may have been dropped by retention (or predate the history). */
  floor(): number {
    const row = this.db.prepare(`SELECT value FROM meta WHERE key = 'historyFloor'`).get() as { value: string } | undefined;
    return row ? Number(row.value) : 0;
  }

  setFloor(zxid: number): void {
    this.db.prepare(`INSERT INTO meta (key, value) VALUES ('historyFloor', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(String(zxid));
  }

  record(events: readonly TreeEvent[]): void {
    events.forEach((e, k) => this.pending.push(e.zxid, k, e.type, e.path));
  }

  /** Writes what was recorded since the last flush: one transaction, no fsync wait. */
  flush(): void {
    if (this.pending.length === 0) return;
    const rows = this.pending;
    this.pending = [];
    this.db.transaction(() => this.insert.run(rows))();
    // Trimming scans the retained rows: do it once enough rows came, not per flush.
    this.sinceTrim += rows.length / this.insert.columnCount;
    if (this.sinceTrim >= Math.max(256, this.retainEvents / 16)) {
      this.sinceTrim = 0;
      this.trim();
    }
  }

  private trim(): void {
    const cut = this.db.prepare('SELECT zxid FROM changes ORDER BY zxid DESC, k DESC LIMIT 1 OFFSET ?').get(this.retainEvents) as
      | { zxid: number }
      | undefined;
    if (!cut) return;
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM changes WHERE zxid <= ?').run(cut.zxid);
      this.setFloor(Math.max(this.floor(), cut.zxid));
    })();
  }

  /** Events with zxid in (after, through], in order, at most `max`. */
  after(after: number, through: number, max: number): HistoryEvent[] {
    return this.selectAfter.all(after, through, max) as HistoryEvent[];
  }

  /** Every event of one zxid. */
  at(zxid: number): HistoryEvent[] {
    return this.db.prepare('SELECT zxid, type, path FROM changes WHERE zxid = ? ORDER BY k').all(zxid) as HistoryEvent[];
  }

  /** Writes what is pending; the node closes the database. */
  close(): void {
    this.flush();
  }
}
