/**
 * AuditLog.toFile: the audit file is open, 0600, by the time the node has it, so a node closed at
 * once (and its directory removed) leaves no open in flight to fail later as an uncaught error.
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/observability/audit-log.ts';
import { makeTempDir, removeDir, waitFor } from '../support/corral-process.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) removeDir(dir);
});

/** The files this process holds open (Linux's /proc/self/fd). */
function openFiles(): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/self/fd/${fd}`)];
    } catch {
      return [];
    }
  });
}

describe('AuditLog.toFile', () => {
  it('holds the file open, 0600, when it returns, and writes its lines there until closed', async () => {
    const dir = makeTempDir('corral-audit-');
    dirs.push(dir);
    const file = join(dir, 'logs', 'audit.jsonl');
    const audit = AuditLog.toFile(file, 1);
    expect(openFiles()).toContain(file);
    expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
    audit.close();
    await waitFor(() => !openFiles().includes(file), { timeoutMs: 2000, what: 'the file closed' });
    expect(readFileSync(file, 'utf8')).toBe('');
  });
});
