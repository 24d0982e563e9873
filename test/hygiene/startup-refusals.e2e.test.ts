/**
 * The `corral` command refusing to start, as an operator sees it: a data directory another
 * process holds, or a port another process listens on, is one line on stderr (and one log line)
 * naming the directory or the address, no stack trace, and exit code 1, with nothing left
 * half-open: the directory serves the next node that starts on it.
 */
import { statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort, http, makeTempDir, ProcessPool, removeDir, type CorralProcess } from '../support/corral-process.ts';

const EXIT_MS = 20_000;

let root: string;
const pool = new ProcessPool();
const blockers: Server[] = [];

beforeEach(() => {
  root = makeTempDir('corral-refusals-');
});

afterEach(async () => {
  await pool.killAll();
  await Promise.all(blockers.splice(0).map((server) => new Promise((done) => server.close(done))));
  removeDir(root);
});

/** Something else listening on a port of 127.0.0.1. */
async function occupy(): Promise<number> {
  const server = createServer();
  blockers.push(server);
  await new Promise<void>((listening, failed) => {
    server.once('error', failed);
    server.listen(0, '127.0.0.1', () => listening());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Exit code 1 and exactly one stderr line, with no stack frame in it or in the log. */
async function expectRefusal(proc: CorralProcess, message: string | RegExp): Promise<void> {
  const exit = await proc.waitExit(EXIT_MS);
  expect(exit.code, proc.stderr).toBe(1);
  const lines = proc.stderr.trim().split('\n');
  expect(lines, proc.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^corral: refusing to start: /);
  expect(lines[0]).toMatch(message);
  expect(proc.stderr).not.toMatch(/\n\s+at /);
  const logged = proc.stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
  const fatal = logged.filter((line) => line.event === 'refused-to-start');
  expect(fatal).toHaveLength(1);
  expect(fatal[0]!.msg).toMatch(message);
  expect(JSON.stringify(fatal[0])).not.toMatch(/stack/);
}

async function expectServes(dataDir: string, path: string): Promise<void> {
  const next = pool.spawn(dataDir, await freePort());
  await next.waitHealthy();
  expect((await http('GET', `${next.url}/v1/znodes/${path}`)).status).toBe(200);
}

describe('corral on a data directory another process holds', () => {
  it('refuses to start with exit code 1 and one line naming the directory; the holder keeps serving its data', async () => {
    const dataDir = join(root, 'data');
    const holder = pool.spawn(dataDir, await freePort());
    await holder.waitHealthy();
    expect((await http('POST', `${holder.url}/v1/znodes/mine`, 'v1')).status).toBe(201);

    const second = pool.spawn(dataDir, await freePort());
    await expectRefusal(second, `data directory ${resolve(dataDir)} is in use by another corral node`);

    expect(holder.running).toBe(true);
    expect((await http('POST', `${holder.url}/v1/znodes/later`, 'v2')).status).toBe(201);
    expect((await http('GET', `${holder.url}/v1/znodes/mine`)).status).toBe(200);
  });

  it('starts once the holder was killed (SIGKILL): the kernel dropped the lock, no stale file blocks it', async () => {
    const dataDir = join(root, 'data');
    const holder = pool.spawn(dataDir, await freePort());
    await holder.waitHealthy();
    expect((await http('POST', `${holder.url}/v1/znodes/mine`, 'v1')).status).toBe(201);
    await holder.kill();
    await expectServes(dataDir, 'mine');
  });
});

describe('corral on a port another process listens on', () => {
  it('refuses a taken HTTP port with exit code 1 and one line naming the address, no stack', async () => {
    const dataDir = join(root, 'data');
    const first = pool.spawn(dataDir, await freePort());
    await first.waitHealthy();
    expect((await http('POST', `${first.url}/v1/znodes/kept`, 'v1')).status).toBe(201);
    first.signal('SIGTERM');
    expect((await first.waitExit(EXIT_MS)).code).toBe(0);

    const port = await occupy();
    const refused = pool.spawn(dataDir, port);
    await expectRefusal(refused, `cannot listen on 127.0.0.1:${port} (the HTTP port, --port): address already in use (EADDRINUSE)`);
    // What it recovered was closed again: the directory is free and whole for the next node.
    await expectServes(dataDir, 'kept');
  });

  it('refuses a taken peer port the same way', async () => {
    const dataDir = join(root, 'member');
    const [clientPort, otherClient, otherPeer] = [await freePort(), await freePort(), await freePort()];
    const peerPort = await occupy();
    const secretFile = join(root, 'secret');
    writeFileSync(secretFile, 'Jq3x9Vb7Lm2Pz8RtKw4Y\n', { mode: 0o600 });
    expect(statSync(secretFile).mode & 0o077).toBe(0);
    const members = `1=127.0.0.1:${clientPort}/127.0.0.1:${peerPort},2=127.0.0.1:${otherClient}/127.0.0.1:${otherPeer}`;
    const refused = pool.spawn(dataDir, clientPort, ['--id', '1', '--members', members, '--cluster-secret-file', secretFile]);
    await expectRefusal(refused, `cannot listen on 127.0.0.1:${peerPort} (the peer port, in --members): address already in use (EADDRINUSE)`);
  });
});
