import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backupImageOf } from '../../src/node/backup.ts';
import { encodeBackup, headerOf } from '../../src/storage/backup-format.ts';
import { BackupFileError } from '../../src/storage/backup-reader.ts';
import { restoreDataDir, RestoreRefused } from '../../src/storage/backup-restore.ts';
import { waitFor } from '../support/corral-process.ts';
import { startTestNode, type TestNode } from '../support/test-node.ts';
import { createOp, Harness, nodeDigest } from '../tree/helpers.ts';

const sortedDigest = (nodes: Parameters<typeof nodeDigest>[0][]) => nodes.map(nodeDigest).sort().join('\n');

describe('restoreDataDir', () => {
  let dir: string;
  let file: string;
  let h: Harness;
  let node: TestNode | undefined;
  const nowMs = () => Date.now();

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'corral-restore-'));
    file = join(dir, 'tree.backup');
    h = new Harness();
    h.ok(createOp('/app', 'persistent', 'config'));
    for (let i = 0; i < 1500; i++) h.ok(createOp(`/app/n${i}`, 'persistent', `v${i}`));
    h.ok(createOp('/lock', 'ephemeral', 'me'), { sessionId: 3 });
    const image = backupImageOf(h.tree);
    writeFileSync(file, Buffer.concat([...encodeBackup(image, headerOf(image, nowMs(), 1))]));
  });
  afterEach(async () => {
    await node?.close(true);
    node = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes a data directory a node starts from with the same tree, sessions and zxid', async () => {
    const dataDir = join(dir, 'restored');
    const header = restoreDataDir({ file, dataDir, nowMs });
    expect(header.zxid).toBe(h.tree.appliedZxid);
    expect(readdirSync(dataDir).sort()).toEqual(['corral.db', 'corral.lock']);
    expect(statSync(join(dataDir, 'corral.db')).mode & 0o077).toBe(0);
    node = startTestNode({}, dataDir);
    const tree = node.node.host.tree;
    expect(sortedDigest(tree.snapshot())).toBe(sortedDigest(h.tree.snapshot()));
    expect(tree.sessions.all()).toEqual(h.tree.sessions.all());
    // It takes writes after the backup's zxid: the log goes on from the backup's position.
    await waitFor(async () => (await node!.request('POST', '/v1/znodes/after', { body: 'x' })).status === 201, { timeoutMs: 10_000, what: 'a write on the restored node' });
    expect(node.node.host.tree.get('/after')!.czxid).toBeGreaterThan(header.zxid);
  });

  it('restores into an existing empty directory', () => {
    const dataDir = join(dir, 'empty');
    mkdirSync(dataDir);
    restoreDataDir({ file, dataDir, nowMs });
    expect(readdirSync(dataDir)).toContain('corral.db');
  });

  it('refuses a data directory that is not empty and leaves it as it was', () => {
    const dataDir = join(dir, 'used');
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, 'corral.db'), 'an older node');
    expect(() => restoreDataDir({ file, dataDir, nowMs })).toThrow(RestoreRefused);
    expect(() => restoreDataDir({ file, dataDir, nowMs })).toThrow(/is not empty \(corral\.db\)/);
    expect(readdirSync(dataDir)).toEqual(['corral.db']);
    expect(readFileSync(join(dataDir, 'corral.db'), 'utf8')).toBe('an older node');
  });

  it('refuses a file with one flipped byte and writes nothing', () => {
    const bytes = readFileSync(file);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0x10;
    writeFileSync(file, bytes);
    const dataDir = join(dir, 'never');
    expect(() => restoreDataDir({ file, dataDir, nowMs })).toThrow(BackupFileError);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('refuses a truncated file and leaves an empty directory empty', () => {
    writeFileSync(file, readFileSync(file).subarray(0, -10));
    const dataDir = join(dir, 'empty');
    mkdirSync(dataDir);
    expect(() => restoreDataDir({ file, dataDir, nowMs })).toThrow(/ends early/);
    expect(readdirSync(dataDir)).toEqual([]);
  });
});
