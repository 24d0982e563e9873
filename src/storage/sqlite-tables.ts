/** What the schema upgrades ask of a file before they convert a table of an older version. */
import type { SqliteDb } from './database.ts';

export function tableExists(db: SqliteDb, name: string): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(name) !== undefined;
}
