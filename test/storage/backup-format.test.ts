import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAclText, type Acl } from '../../src/core/acl/acl.ts';
import type { WriteOp } from '../../src/core/tree/txn.ts';
import type { Znode } from '../../src/core/tree/znode.ts';
import { backupImageOf } from '../../src/node/backup.ts';
import { BACKUP_MAGIC, encodeBackup, headerOf } from '../../src/storage/backup-format.ts';
import { BackupFileError, readBackupFile, type BackupRecords } from '../../src/storage/backup-reader.ts';
import { createOp, Harness, nodeDigest, setDataOp } from '../tree/helpers.ts';

const NODES = 2500; // more than two pages (PAGE_NODES = 1024)

/** A tree with every kind of node, binary data, an ACL and ephemerals of open sessions. */
function sampleTree(): Harness {
  const h = new Harness();
  h.ok(createOp('/app'));
  for (let i = 0; i < NODES; i++) h.ok(createOp(`/app/n${i}`, 'persistent', `value ${i}`));
  h.ok(setDataOp('/app/n7', 'changed'));
  h.ok({ ...createOp('/bin'), data: new Uint8Array([0, 255, 1, 254]) } as WriteOp);
  h.ok({ ...createOp('/secret', 'persistent', 'hidden'), acl: parseAclText('digest:bob:fyVmFCwVbTJYrznoSu1koqYEYF0=:cdrwa') as Acl } as WriteOp);
  h.ok(createOp('/lock', 'ephemeral', 'me'), { sessionId: 3 });
  h.ok(createOp('/jobs', 'container'));
  h.ok(createOp('/jobs/job-', 'persistent_sequential_with_ttl', 'x', 60_000));
  return h;
}

const sorted = (nodes: readonly Znode[]) => nodes.map(nodeDigest).sort();

describe('backup format', () => {
  let dir: string;
  let file: string;
  let h: Harness;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'corral-backup-format-'));
    file = join(dir, 'tree.backup');
    h = sampleTree();
    const image = backupImageOf(h.tree);
    writeFileSync(file, Buffer.concat([...encodeBackup(image, headerOf(image, 1234, 1))]));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads back every znode, field for field, and the sessions, with the header of its zxid', () => {
    const nodes: Znode[] = [];
    let records: BackupRecords | undefined;
    const header = readBackupFile(file, { records: (r) => (records = r), nodes: (page) => nodes.push(...page) });
    expect(header).toMatchObject({ format: 1, zxid: h.tree.appliedZxid, nodeCount: h.tree.size, member: 1, createdMs: 1234 });
    expect(sorted(nodes)).toEqual(sorted(h.tree.snapshot()));
    expect(records!.sessions).toEqual(h.tree.sessions.all());
    expect(readFileSync(file).subarray(0, 8)).toEqual(BACKUP_MAGIC);
  });

  it('hands over the records before the first znode', () => {
    const order: string[] = [];
    readBackupFile(file, { records: () => order.push('records'), nodes: () => order.push('nodes') });
    expect(order[0]).toBe('records');
    expect(order.filter((o) => o === 'records')).toHaveLength(1);
  });

  // Positions in the header, the records, the first and last pages, and the trailer.
  it.each([9, 20, 40, 200, 5000, 100_000, -40, -1])('refuses a file with the byte at %i flipped', (at) => {
    const bytes = readFileSync(file);
    const index = at < 0 ? bytes.length + at : at;
    bytes[index] = bytes[index]! ^ 0x01;
    writeFileSync(file, bytes);
    expect(() => readBackupFile(file)).toThrow(BackupFileError);
  });

  it('names the checksum when only the data of a record changed', () => {
    const bytes = readFileSync(file);
    const at = bytes.indexOf('"timeoutMs":10000');
    bytes.write('"timeoutMs":10001', at, 'latin1');
    writeFileSync(file, bytes);
    expect(() => readBackupFile(file)).toThrow(/damaged: its SHA-256 is [0-9a-f]{64}, the trailer says/);
  });

  it.each([0, 7, 12, 100, 0.5, -33, -1])('refuses a file cut short (kept: %s)', (keep) => {
    const bytes = readFileSync(file);
    const length = keep < 0 ? bytes.length + keep : keep < 1 ? Math.floor(bytes.length * keep) : keep;
    writeFileSync(file, bytes.subarray(0, length));
    const read = () => readBackupFile(file);
    expect(read).toThrow(BackupFileError);
    expect(read).toThrow(/ends early|not a Corral backup/);
  });

  it('refuses bytes after the trailer', () => {
    writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.from('x')]));
    expect(() => readBackupFile(file)).toThrow(/bytes follow the SHA-256 trailer/);
  });

  it('refuses another format version, saying which it reads', () => {
    const bytes = readFileSync(file);
    bytes.writeUInt32LE(2, 8);
    writeFileSync(file, bytes);
    expect(() => readBackupFile(file)).toThrow(/backup format version 2; this build reads version 1/);
  });

  it('refuses a file that is not a backup', () => {
    writeFileSync(file, 'SQLite format 3\0 and more bytes');
    expect(() => readBackupFile(file)).toThrow(/not a Corral backup/);
  });
});
