import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/storage/database.ts';
import { MultiRowInsert } from '../../src/storage/multi-row-insert.ts';

describe('MultiRowInsert', () => {
  it('inserts every row, in order, whatever the batch size (chunks of several statements)', () => {
    const db = openDatabase(':memory:');
    db.exec('CREATE TABLE t (seq INTEGER PRIMARY KEY, a INTEGER NOT NULL, b TEXT NOT NULL)');
    const insert = new MultiRowInsert(db, 'INSERT INTO t', ['seq', 'a', 'b']);
    let seq = 0;
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer(), fc.string()), { maxLength: 70 }), (rows) => {
      db.exec('DELETE FROM t');
      const values: Array<number | string> = [];
      for (const [a, b] of rows) values.push(++seq, a, b);
      db.transaction(() => insert.run(values))();
      const back = db.prepare('SELECT a, b FROM t ORDER BY seq').all() as Array<{ a: number; b: string }>;
      expect(back.map((r) => [r.a, r.b])).toEqual(rows);
    }), { numRuns: 200 });
    db.close();
  });

  it('leaves nothing behind when a row of the batch is refused (the caller\'s transaction rolls back)', () => {
    const db = openDatabase(':memory:');
    db.exec('CREATE TABLE t (seq INTEGER PRIMARY KEY, a INTEGER NOT NULL, b TEXT NOT NULL)');
    const insert = new MultiRowInsert(db, 'INSERT INTO t', ['seq', 'a', 'b']);
    const values: Array<number | string> = [];
    for (let i = 1; i <= 40; i++) values.push(i, i, `row ${i}`);
    values.push(7, 0, 'duplicate key');
    expect(() => db.transaction(() => insert.run(values))()).toThrow(/UNIQUE/);
    expect((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n).toBe(0);
    db.close();
  });

  it('refuses values that are not whole rows', () => {
    const db = openDatabase(':memory:');
    db.exec('CREATE TABLE t (seq INTEGER PRIMARY KEY, a INTEGER NOT NULL, b TEXT NOT NULL)');
    const insert = new MultiRowInsert(db, 'INSERT INTO t', ['seq', 'a', 'b']);
    expect(() => db.transaction(() => insert.run([1, 2, 'x', 4]))()).toThrow(/not rows of 3/);
    expect((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n).toBe(0);
    db.close();
  });
});
