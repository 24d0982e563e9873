/**
 * INSERT of many rows in a few statements: one statement run costs several times what its row
 * costs SQLite, so a batch goes in as chunks of up to ROWS_PER_STATEMENT rows (each chunk size
 * prepared once).
 */
import type { Statement } from 'better-sqlite3';
import { assert } from '../core/errors.ts';
import type { SqliteDb } from './database.ts';

const ROWS_PER_STATEMENT = 16;

export class MultiRowInsert {
  private readonly statements = new Map<number, Statement>();
  private readonly head: string;
  /** Values per row: the columns' count. */
  readonly columnCount: number;

  /** `into` is the statement's verb and table, e.g. `INSERT OR IGNORE INTO changes`. */
  constructor(private readonly db: SqliteDb, into: string, columns: readonly string[]) {
    this.head = `${into} (${columns.join(', ')})`;
    this.columnCount = columns.length;
  }

  /** Inserts the rows whose values are laid out flat in `values`, row after row (inside the caller's transaction). */
  run(values: ReadonlyArray<number | string>): void {
    const perRow = this.columnCount;
    assert(values.length % perRow === 0, `${values.length} values are not rows of ${perRow}`);
    const rows = values.length / perRow;
    for (let row = 0; row < rows; row += ROWS_PER_STATEMENT) {
      const count = Math.min(ROWS_PER_STATEMENT, rows - row);
      const chunk = count === rows ? values : values.slice(row * perRow, (row + count) * perRow);
      this.statementFor(count).run(chunk);
    }
  }

  private statementFor(rows: number): Statement {
    let statement = this.statements.get(rows);
    if (!statement) {
      const tuple = `(${Array(this.columnCount).fill('?').join(', ')})`;
      statement = this.db.prepare(`${this.head} VALUES ${Array(rows).fill(tuple).join(', ')}`);
      this.statements.set(rows, statement);
    }
    return statement;
  }
}
