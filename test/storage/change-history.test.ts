import fc from 'fast-check';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventType, TreeEvent } from '../../src/core/tree/results.ts';
import { BATCH_EVENTS_MAX, ChangeHistory } from '../../src/storage/change-history.ts';
import { openDatabase, StorageCorruptError, type SqliteDb } from '../../src/storage/database.ts';
import { BatchWriter, decodeBatch } from '../../src/storage/history-batch.ts';
import { makeTempDir, removeDir } from '../support/corral-process.ts';

const TYPES: readonly EventType[] = ['NodeCreated', 'NodeDeleted', 'NodeDataChanged', 'NodeChildrenChanged', 'DataWatchRemoved', 'ChildWatchRemoved'];

/** One transaction's events: `count` of them at `zxid`. */
function txn(zxid: number, count = 1, path = '/a'): TreeEvent[] {
  return Array.from({ length: count }, (_, k) => ({ zxid, type: TYPES[k % TYPES.length]!, path: `${path}/${k}` }));
}

let dir: string;
let db: SqliteDb | undefined;

function open(retain = 1000): ChangeHistory {
  db?.close();
  db = openDatabase(join(dir, 'corral.db'));
  return new ChangeHistory(db, retain);
}

beforeEach(() => {
  dir = makeTempDir('corral-history-');
});
afterEach(() => {
  db?.close();
  db = undefined;
  removeDir(dir);
});

describe('history batches', () => {
  it('decode to the events written, whatever the paths hold', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.nat(3), fc.constantFrom(...TYPES), fc.string({ unit: 'grapheme', maxLength: 12 })), { minLength: 1, maxLength: 30 }),
      fc.nat(1_000_000),
      (steps, first) => {
        const writer = new BatchWriter();
        const events: TreeEvent[] = [];
        let zxid = first;
        for (const [gap, type, name] of steps) {
          zxid += gap;
          const event = { zxid, type, path: `/${name.replace(/[\n\r]/g, '')}` };
          events.push(event);
          writer.add(event);
        }
        expect(decodeBatch(writer.first, writer.body())).toEqual(events);
        expect([writer.first, writer.last, writer.events]).toEqual([events[0]!.zxid, zxid, events.length]);
      },
    ));
  });

  it('refuse a malformed row as corrupt storage', () => {
    expect(() => decodeBatch(5, '0 m/a\nnonsense')).toThrow(StorageCorruptError);
    expect(() => decodeBatch(5, '0 q/a')).toThrow(StorageCorruptError);
  });
});

describe('ChangeHistory', () => {
  it('answers the events after a zxid through another, in order, at most max, across flushes and restarts', () => {
    let history = open();
    const all: TreeEvent[] = [];
    for (let zxid = 1; zxid <= 40; zxid++) {
      const events = txn(zxid, 1 + (zxid % 3));
      history.record(events);
      all.push(...events);
      if (zxid % 7 === 0) history.flush();
    }
    history.close();
    history = open();
    expect(history.recordedThrough()).toBe(40);
    expect(history.after(0, 40, 1000)).toEqual(all);
    expect(history.after(10, 20, 1000)).toEqual(all.filter((e) => e.zxid > 10 && e.zxid <= 20));
    expect(history.after(10, 40, 5)).toEqual(all.filter((e) => e.zxid > 10).slice(0, 5));
    expect(history.after(40, 40, 10)).toEqual([]);
    expect(history.at(13)).toEqual(all.filter((e) => e.zxid === 13));
    expect(history.at(41)).toEqual([]);
  });

  it('matches a reference list for any transactions, flush points and queries', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.boolean()), { minLength: 1, maxLength: 60 }),
      fc.nat(200), fc.nat(200), fc.integer({ min: 1, max: 50 }),
      (txns, a, b, max) => {
        const history = open();
        const all: TreeEvent[] = [];
        let zxid = 0;
        for (const [gap, count, flush] of txns) {
          zxid += gap;
          const events = txn(zxid, count);
          history.record(events);
          all.push(...events);
          if (flush) history.flush();
        }
        history.flush();
        const [after, through] = a <= b ? [a, b] : [b, a];
        expect(history.after(after, through, max)).toEqual(all.filter((e) => e.zxid > after && e.zxid <= through).slice(0, max));
        db!.exec('DELETE FROM change_batches');
      },
    ), { numRuns: 60 });
  });

  it('records a replayed transaction only once', () => {
    let history = open();
    history.record(txn(1));
    history.record(txn(2));
    history.flush();
    history = open();
    history.record(txn(2));
    history.record(txn(1));
    history.record(txn(3));
    history.flush();
    expect(history.after(0, 10, 100).map((e) => e.zxid)).toEqual([1, 2, 3]);
  });

  it('keeps a transaction with more events than a batch whole, in one row', () => {
    const history = open(100_000);
    history.record(txn(1, 3));
    history.record(txn(2, BATCH_EVENTS_MAX + 5));
    history.record(txn(3, 2));
    history.flush();
    expect(history.at(2)).toHaveLength(BATCH_EVENTS_MAX + 5);
    expect(history.after(1, 3, 10_000)).toHaveLength(BATCH_EVENTS_MAX + 7);
  });

  it('trims whole batches, oldest first, keeping at least retainEvents events and raising the floor past what it dropped', () => {
    const retain = 2 * BATCH_EVENTS_MAX;
    const history = open(retain);
    const all: TreeEvent[] = [];
    for (let zxid = 1; zxid <= 6 * BATCH_EVENTS_MAX; zxid++) {
      history.record(txn(zxid));
      all.push(...txn(zxid));
      if (zxid % 100 === 0) history.flush();
    }
    history.flush();
    const floor = history.floor();
    expect(floor).toBeGreaterThan(0);
    const kept = history.after(0, Number.MAX_SAFE_INTEGER, 100_000);
    expect(kept.length).toBeGreaterThanOrEqual(retain);
    expect(kept.length).toBeLessThan(retain + 2 * BATCH_EVENTS_MAX);
    // Everything after the floor is there; nothing at or below it is.
    expect(kept).toEqual(all.filter((e) => e.zxid > floor));
  });

  it('turns a schema 3 file\'s rows of one event each into batches when the file is upgraded', () => {
    const history = open();
    history.close();
    db!.exec(`
      UPDATE meta SET value = '3' WHERE key = 'schema';
      DROP TABLE change_batches;
      CREATE TABLE changes (zxid INTEGER NOT NULL, k INTEGER NOT NULL, type TEXT NOT NULL, path TEXT NOT NULL, PRIMARY KEY (zxid, k)) WITHOUT ROWID;
      INSERT INTO changes VALUES (3, 0, 'NodeCreated', '/x'), (3, 1, 'NodeChildrenChanged', '/'), (5, 0, 'NodeDataChanged', '/x');
    `);
    const upgraded = open();
    expect(upgraded.recordedThrough()).toBe(5);
    expect(upgraded.after(0, 10, 10)).toEqual([
      { zxid: 3, type: 'NodeCreated', path: '/x' }, { zxid: 3, type: 'NodeChildrenChanged', path: '/' }, { zxid: 5, type: 'NodeDataChanged', path: '/x' },
    ]);
    expect(db!.prepare(`SELECT count(*) FROM sqlite_master WHERE name = 'changes'`).pluck().get()).toBe(0);
    expect(db!.prepare(`SELECT value FROM meta WHERE key = 'schema'`).pluck().get()).toBe('6');
  });
});
