/**
 * One contract for every LogStore: SQLite in production, memory in the simulation. The host and
 * the core may rely on exactly this, whichever store is behind them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Entry, LogStore } from '../../src/core/consensus/types.ts';
import { openDatabase, type SqliteDb } from '../../src/storage/database.ts';
import { SqliteLogStore } from '../../src/storage/log-store.ts';
import { MemLogStore } from '../../src/storage/mem-log-store.ts';

const entry = (index: number, term: number): Entry => ({ index, term, data: `e${index}t${term}` });

let cleanup: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

function sqlite(): LogStore {
  const dir = mkdtempSync(join(tmpdir(), 'corral-contract-'));
  const db: SqliteDb = openDatabase(join(dir, 'c.db'));
  cleanup.push(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return new SqliteLogStore(db, { index: 0, term: 0 });
}

describe.each([
  ['SqliteLogStore', sqlite],
  ['MemLogStore', () => new MemLogStore()],
])('%s (LogStore contract)', (_name, make) => {
  it('starts empty with a zero hard state', () => {
    const store = make();
    expect([store.firstIndex(), store.lastIndex(), store.size()]).toEqual([1, 0, 0]);
    expect(store.hardState()).toEqual({ term: 0, vote: 0, commit: 0 });
    expect(store.term(0)).toBe(0);
  });

  it('appends entries with the hard state and reads them back', () => {
    const store = make();
    store.append([entry(1, 1), entry(2, 1), entry(3, 2)], { term: 2, vote: 1, commit: 2 });
    expect(store.entries(1, 4, 10)).toEqual([entry(1, 1), entry(2, 1), entry(3, 2)]);
    expect(store.entries(2, 10, 1)).toEqual([entry(2, 1)]);
    expect([store.lastIndex(), store.term(3), store.size()]).toEqual([3, 2, 3]);
    expect(store.hardState()).toEqual({ term: 2, vote: 1, commit: 2 });
  });

  it('replaces a conflicting suffix', () => {
    const store = make();
    store.append([entry(1, 1), entry(2, 1), entry(3, 1)], undefined);
    store.append([entry(2, 2)], undefined);
    expect(store.entries(1, 10, 10)).toEqual([entry(1, 1), entry(2, 2)]);
    expect(store.lastIndex()).toBe(2);
  });

  it('compacts behind a checkpoint, keeping the checkpoint\'s term', () => {
    const store = make();
    store.append([entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2)], undefined);
    store.compact(2, 1);
    expect([store.firstIndex(), store.lastIndex(), store.term(2), store.size()]).toEqual([3, 4, 1, 2]);
    expect(store.entries(3, 5, 10)).toEqual([entry(3, 2), entry(4, 2)]);
  });
});
