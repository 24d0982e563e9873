/**
 * The cluster configuration stored with a checkpoint (checkpoint_config): read back as written,
 * absent for a checkpoint written without one (the configuration given at start then holds),
 * dropped with its checkpoint, and a damaged one refuses the start.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { clusterConfig } from '../../src/core/consensus/cluster-config.ts';
import { CheckpointStore } from '../../src/storage/checkpoint-store.ts';
import { openDatabase, StorageCorruptError, type SqliteDb } from '../../src/storage/database.ts';

let dir: string | undefined;
let db: SqliteDb | undefined;

afterEach(() => {
  db?.close();
  db = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function open(): CheckpointStore {
  dir ??= mkdtempSync(join(tmpdir(), 'corral-checkpoint-config-'));
  db = openDatabase(join(dir, 'corral.db'));
  return new CheckpointStore(db);
}

const CONFIG = clusterConfig([1, 2, 4], [5], { 4: { client: '127.0.0.1:8184', peer: '127.0.0.1:9184' } });

function checkpoint(store: CheckpointStore, index: number, config?: typeof CONFIG): number {
  const gen = store.begin({ index, term: 1, zxid: 2 ** 32 + index, nodeCount: 0 }, [], 0, [], [], config);
  store.complete(gen, () => undefined);
  return gen;
}

describe('the configuration in a checkpoint', () => {
  it('is read back as written, across a reopen', () => {
    checkpoint(open(), 10, CONFIG);
    db!.close();
    const store = open();
    expect(store.config(store.latest()!)).toEqual(CONFIG);
  });

  it('is absent for a checkpoint written without one', () => {
    const store = open();
    checkpoint(store, 10);
    expect(store.config(store.latest()!)).toBeUndefined();
  });

  it('goes with its checkpoint when a newer one retires it', () => {
    const store = open();
    const old = checkpoint(store, 10, CONFIG);
    const newer = checkpoint(store, 20, clusterConfig([1]));
    while (store.pruneChunk(newer, 1000) > 0);
    expect(db!.prepare('SELECT gen FROM checkpoint_config ORDER BY gen').pluck().all()).toEqual([newer]);
    expect(old).toBeLessThan(newer);
  });

  it('refuses a damaged one as corruption', () => {
    const store = open();
    const gen = checkpoint(store, 10, CONFIG);
    db!.prepare('UPDATE checkpoint_config SET config = ? WHERE gen = ?').run('{"voters":"all"}', gen);
    expect(() => store.config(store.latest()!)).toThrow(StorageCorruptError);
  });
});
