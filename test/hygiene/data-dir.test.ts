/**
 * A node's data directory in-process: one node per directory (a second node in the same process
 * is refused and the first keeps serving), and files only their owner can read (0700 directory,
 * 0600 database, WAL, shared memory, lock and audit log), also where they existed before.
 */
import { chmodSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server.ts';
import { DataDirInUseError } from '../../src/storage/data-dir-lock.ts';
import { http, makeTempDir, removeDir } from '../support/corral-process.ts';

let root: string;
const servers: RunningServer[] = [];

beforeEach(() => {
  root = makeTempDir('corral-hygiene-');
});

afterEach(async () => {
  for (const server of servers.splice(0).reverse()) await server.close().catch(() => undefined);
  removeDir(root);
});

async function start(dataDir: string, options: ServerOptions = {}): Promise<RunningServer> {
  const server = await startServer({ dataDir, port: 0, host: '127.0.0.1', ...options });
  servers.push(server);
  return server;
}

async function closeLast(): Promise<void> {
  await servers.pop()!.close();
}

function modeOf(path: string): string {
  return (statSync(path).mode & 0o777).toString(8);
}

/** A logger whose warnings the test reads. */
function capturingLogger(lines: Array<Record<string, unknown>>) {
  return pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
}

describe('one node per data directory, in one process', () => {
  it('refuses a second node on the same directory with DataDirInUseError; the first keeps serving', async () => {
    const dataDir = join(root, 'data');
    const first = await start(dataDir);
    expect((await http('POST', `${first.url}/v1/znodes/kept`, 'v1')).status).toBe(201);

    const second = startServer({ dataDir, port: 0, host: '127.0.0.1' });
    await expect(second).rejects.toThrow(DataDirInUseError);
    await expect(second).rejects.toThrow(`data directory ${resolve(dataDir)} is in use by another corral node`);

    expect((await http('POST', `${first.url}/v1/znodes/after`, 'v2')).status).toBe(201);
    expect((await http('GET', `${first.url}/v1/znodes/kept`)).status).toBe(200);
  });

  it('lets the directory go when the node closes: the next node starts on it with the data', async () => {
    const dataDir = join(root, 'data');
    const first = await start(dataDir);
    expect((await http('POST', `${first.url}/v1/znodes/kept`, 'v1')).status).toBe(201);
    await closeLast();
    const next = await start(dataDir);
    expect((await http('GET', `${next.url}/v1/znodes/kept`)).status).toBe(200);
  });
});

describe('file modes of a node\'s files', () => {
  it('creates the data directory 0700 and its database, WAL, shared memory and lock 0600', async () => {
    const dataDir = join(root, 'new', 'data');
    const server = await start(dataDir);
    expect((await http('POST', `${server.url}/v1/znodes/a`, 'x')).status).toBe(201);
    expect(modeOf(dataDir)).toBe('700');
    for (const name of ['corral.db', 'corral.db-wal', 'corral.db-shm', 'corral.lock']) {
      expect(existsSync(join(dataDir, name)), name).toBe(true);
      expect(modeOf(join(dataDir, name)), name).toBe('600');
    }
  });

  it('tightens files left readable in an existing directory, and warns that the directory itself is open', async () => {
    const dataDir = join(root, 'data');
    await start(dataDir);
    await closeLast();
    chmodSync(dataDir, 0o755);
    for (const name of ['corral.db', 'corral.lock']) chmodSync(join(dataDir, name), 0o644);
    const lines: Array<Record<string, unknown>> = [];
    await start(dataDir, { logger: capturingLogger(lines) });
    for (const name of ['corral.db', 'corral.db-wal', 'corral.db-shm', 'corral.lock']) expect(modeOf(join(dataDir, name)), name).toBe('600');
    // The directory's mode is the operator's to change (it may be a mount point): reported, not changed.
    expect(modeOf(dataDir)).toBe('755');
    expect(lines).toContainEqual(expect.objectContaining({ event: 'data-dir-mode', dataDir, mode: '0755' }));
  });

  it('does not warn about a private directory', async () => {
    const lines: Array<Record<string, unknown>> = [];
    await start(join(root, 'data'), { logger: capturingLogger(lines) });
    expect(lines.filter((line) => line.event === 'data-dir-mode')).toEqual([]);
  });

  it('writes the audit log to a 0600 file, new or existing', async () => {
    const fresh = join(root, 'logs', 'audit.jsonl');
    const server = await start(join(root, 'data'), { auditLog: fresh });
    expect((await http('POST', `${server.url}/v1/znodes/audited`, 'x')).status).toBe(201);
    expect(modeOf(fresh)).toBe('600');
    await closeLast();

    const existing = join(root, 'existing-audit.jsonl');
    writeFileSync(existing, '');
    chmodSync(existing, 0o644);
    await start(join(root, 'data'), { auditLog: existing });
    expect(modeOf(existing)).toBe('600');
  });
});
