import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatMode, makePrivateDir, makePrivateFiles } from '../../src/storage/file-modes.ts';
import { makeTempDir, removeDir } from '../support/corral-process.ts';

let root: string;

beforeEach(() => {
  root = makeTempDir('corral-modes-');
});

afterEach(() => {
  removeDir(root);
});

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe('makePrivateDir', () => {
  it('creates a missing directory, and its missing parents, 0700 and reports nothing', () => {
    const dir = join(root, 'a', 'b');
    expect(makePrivateDir(dir)).toBeUndefined();
    expect(modeOf(dir)).toBe(0o700);
    expect(modeOf(join(root, 'a'))).toBe(0o700);
  });

  it('reports the mode of an existing directory open to the group or others, and leaves it as it is', () => {
    const dir = join(root, 'shared');
    mkdirSync(dir);
    chmodSync(dir, 0o750);
    expect(makePrivateDir(dir)).toBe(0o750);
    expect(modeOf(dir)).toBe(0o750);
  });

  it('reports nothing for an existing private directory', () => {
    const dir = join(root, 'private');
    mkdirSync(dir, { mode: 0o700 });
    expect(makePrivateDir(dir)).toBeUndefined();
  });
});

describe('makePrivateFiles', () => {
  it('makes existing files 0600 and skips missing ones', () => {
    const file = join(root, 'f');
    writeFileSync(file, 'x');
    chmodSync(file, 0o666);
    makePrivateFiles([file, join(root, 'missing')]);
    expect(modeOf(file)).toBe(0o600);
  });
});

describe('formatMode', () => {
  it('spells a mode as ls and chmod do', () => {
    expect(formatMode(0o755)).toBe('0755');
    expect(formatMode(0o40700)).toBe('0700');
  });
});
