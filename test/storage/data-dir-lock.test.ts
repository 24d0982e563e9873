/**
 * The data directory's lock in-process: one holder at a time, released by release() (the
 * cross-process cases, a second `corral` and a killed holder, are in test/hygiene/).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataDirInUseError, LOCK_FILE, lockDataDir, type DataDirLock } from '../../src/storage/data-dir-lock.ts';

let dir: string;
const held: DataDirLock[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'corral-lock-'));
});

afterEach(() => {
  for (const lock of held.splice(0)) lock.release();
  rmSync(dir, { recursive: true, force: true });
});

function lock(): DataDirLock {
  const taken = lockDataDir(dir);
  held.push(taken);
  return taken;
}

describe('lockDataDir', () => {
  it('refuses a second holder in the same process with DataDirInUseError naming the directory', () => {
    lock();
    expect(() => lockDataDir(dir)).toThrow(DataDirInUseError);
    expect(() => lockDataDir(dir)).toThrow(`data directory ${resolve(dir)} is in use by another corral node`);
  });

  it('keeps refusing while held, however often it is tried', () => {
    lock();
    for (let i = 0; i < 3; i++) expect(() => lockDataDir(dir)).toThrow(DataDirInUseError);
  });

  it('can be taken again once released, and release is idempotent', () => {
    const first = lock();
    first.release();
    first.release();
    expect(() => lock()).not.toThrow();
  });

  it('leaves only the lock file in the directory (no journal beside it)', () => {
    lock();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true);
    expect(existsSync(join(dir, `${LOCK_FILE}-journal`))).toBe(false);
  });

  it('locks directories independently', () => {
    const other = mkdtempSync(join(tmpdir(), 'corral-lock-other-'));
    try {
      lock();
      const second = lockDataDir(other);
      second.release();
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
