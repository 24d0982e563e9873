/**
 * Recovery in-process: a real server on 127.0.0.1 with its SQLite file in a temp dir, closed and
 * started again on the same dir. The tree after a restart must be exactly the tree before it
 * (internal records and what the HTTP API reports), whether it comes from log replay alone, from
 * checkpoints taken mid-stream with the log truncated behind them, or from a forced checkpoint.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Znode } from '../../src/core/tree/znode.ts';
import type { CorralNode } from '../../src/node/corral-node.ts';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server.ts';
import { StorageCorruptError } from '../../src/storage/database.ts';
import { http, makeTempDir, readTree, removeDir, waitFor, znodeUrl, type NodeView } from '../support/corral-process.ts';

let dir: string;
let server: RunningServer | undefined;

beforeEach(() => {
  dir = makeTempDir('corral-recovery-');
});

afterEach(async () => {
  const running = server;
  server = undefined;
  await running?.close().catch(() => undefined);
  removeDir(dir);
});

async function start(options: ServerOptions = {}): Promise<RunningServer> {
  server = await startServer({ dataDir: dir, port: 0, host: '127.0.0.1', ...options });
  return server;
}

async function restart(options: ServerOptions = {}): Promise<RunningServer> {
  const running = server;
  server = undefined;
  await running?.close();
  return start(options);
}

/** Runs `count` tasks with at most `lanes` in flight (so writes share group commits). */
async function inLanes(count: number, lanes: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: lanes }, lane));
}

async function expectStatus(method: string, url: string, status: number, body?: string | Uint8Array | object) {
  const reply = await http(method, url, body);
  if (reply.status !== status) throw new Error(`${method} ${url}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply;
}

function binaryFor(i: number): Uint8Array {
  return Uint8Array.from({ length: 40 + (i % 13) }, (_, k) => (i * 7 + k * 13) % 256);
}

/** A few hundred writes: creates (text and binary), setData, deletes, multis, sequentials. */
async function workload(url: string, root: string, nodes = 300): Promise<void> {
  const z = (path: string) => znodeUrl(url, '/v1/znodes', path);
  await expectStatus('POST', z(root), 201, 'root');
  for (let p = 0; p < 10; p++) await expectStatus('POST', z(`${root}/p${p}`), 201, `parent ${p}`);
  const leaf = (i: number) => `${root}/p${i % 10}/n${i}`;
  await inLanes(nodes, 8, async (i) => {
    await expectStatus('POST', z(leaf(i)), 201, i % 7 === 0 ? binaryFor(i) : `value ${i}`);
  });
  await inLanes(nodes, 8, async (i) => {
    if (i % 5 !== 0) return;
    await expectStatus('PUT', `${z(leaf(i))}?version=0`, 200, `updated ${i}`);
    if (i % 10 === 0) await expectStatus('PUT', z(leaf(i)), 200, binaryFor(i + 1));
  });
  await inLanes(nodes, 8, async (i) => {
    if (i % 9 === 0) await expectStatus('DELETE', z(leaf(i)), 204);
  });
  await expectStatus('POST', `${url}/v1/multi`, 200, { ops: [
    { op: 'create', path: `${root}/multi`, data: 'made in a multi' },
    { op: 'create', path: `${root}/multi/child`, data: 'AAEC/w==', encoding: 'base64' },
    { op: 'setData', path: `${root}/p0`, data: 'set in a multi' },
    { op: 'delete', path: leaf(1) },
  ] });
  const failed = await http('POST', `${url}/v1/multi`, { ops: [
    { op: 'create', path: `${root}/never`, data: 'x' },
    { op: 'check', path: `${root}/p2`, version: 99 },
  ] });
  expect(failed.status).toBeGreaterThanOrEqual(400);
  await expectStatus('POST', z(`${root}/seq`), 201, '');
  for (let s = 0; s < 5; s++) await expectStatus('POST', `${z(`${root}/seq/job-`)}?mode=persistent_sequential`, 201, `job ${s}`);
}

function plain(node: Znode): Record<string, unknown> {
  return { ...node, data: Buffer.from(node.data).toString('hex') };
}

/** The tree's records, sorted by path, data as hex: what must survive a restart exactly. */
function records(running: RunningServer): Array<Record<string, unknown>> {
  return running.node.host.tree.snapshot().map(plain).sort((a, b) => String(a.path).localeCompare(String(b.path)));
}

async function view(running: RunningServer): Promise<Record<string, NodeView>> {
  return Object.fromEntries(await readTree(running.url));
}

function maxZxid(running: RunningServer): number {
  return Math.max(...running.node.host.tree.snapshot().map((n) => n.mzxid), running.node.host.tree.appliedZxid);
}

async function checkpointsTaken(node: CorralNode): Promise<number> {
  const metric = await node.metrics.checkpointDuration.get();
  return metric.values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
}

async function logEntries(node: CorralNode): Promise<number> {
  const metric = await node.metrics.registry.getSingleMetric('corral_log_entries')!.get();
  return metric.values[0]!.value;
}

/** Restarts on the same dir and checks the tree is identical, then that writes go on after it. */
async function expectIdenticalAfterRestart(
  options: ServerOptions = {}, beforeRestart: () => void = () => undefined,
): Promise<RunningServer> {
  const before = records(server!);
  const beforeView = await view(server!);
  const beforeZxid = maxZxid(server!);
  expect(before.length).toBeGreaterThan(100);
  beforeRestart();
  const after = await restart(options);
  expect(records(after)).toEqual(before);
  expect(await view(after)).toEqual(beforeView);

  const created = await expectStatus('POST', znodeUrl(after.url, '/v1/znodes', `/after-${Date.now()}`), 201, 'later');
  expect(Number(created.body.stat.czxid)).toBeGreaterThan(beforeZxid);
  expect(after.node.host.tree.appliedZxid).toBeGreaterThan(beforeZxid);
  return after;
}

describe('recovery after a restart on the same data dir', () => {
  it('replays the log into an identical tree and continues with larger zxids', async () => {
    const first = await start();
    await workload(first.url, '/app');
    expect(await checkpointsTaken(first.node)).toBe(0);
    await expectIdenticalAfterRestart();
  });

  it('keeps the tree identical across several restarts with writes in between', async () => {
    await start({ checkpointEveryEntries: 120 });
    let zxid = 0;
    for (let round = 0; round < 3; round++) {
      await workload(server!.url, `/round${round}`, 100);
      expect(maxZxid(server!)).toBeGreaterThan(zxid);
      zxid = maxZxid(server!);
      await expectIdenticalAfterRestart({ checkpointEveryEntries: 120 });
    }
  });

  it('recovers an identical tree from checkpoints taken mid-stream with the log truncated behind them', async () => {
    const options = { checkpointEveryEntries: 50, checkpointChunkNodes: 20 };
    const first = await start(options);
    await workload(first.url, '/app');
    const total = first.node.host.status().lastIndex;
    await waitFor(async () => (await checkpointsTaken(first.node)) >= 2, { timeoutMs: 10_000, what: 'two checkpoints' });
    expect(await logEntries(first.node)).toBeLessThan(total / 2);
    const after = await expectIdenticalAfterRestart(options);
    // Recovery started from a checkpoint: far fewer entries were left to replay than were written.
    expect(await logEntries(after.node)).toBeLessThan(total / 2);
  });

  it('recovers an identical tree from a checkpoint forced with checkpointNow, with writes after it', async () => {
    const first = await start();
    await workload(first.url, '/app');
    await first.node.checkpointer.checkpointNow();
    expect(await checkpointsTaken(first.node)).toBe(1);
    expect(await logEntries(first.node)).toBe(0);
    expect(logRowsInFile(), 'the rows behind the checkpoint are deleted once it completes').toBe(0);
    for (let i = 0; i < 20; i++) await expectStatus('PUT', znodeUrl(first.url, '/v1/znodes', '/app/p3'), 200, `after checkpoint ${i}`);
    expect(await logEntries(first.node)).toBe(20);
    await expectIdenticalAfterRestart();
  });

  it('recovers an identical tree when closed in the middle of writing a checkpoint', async () => {
    const options = { checkpointChunkNodes: 1 };
    const first = await start(options);
    await workload(first.url, '/app');
    await first.node.checkpointer.checkpointNow();
    await expectStatus('POST', znodeUrl(first.url, '/v1/znodes', '/late'), 201, 'after the complete checkpoint');
    // One node per event-loop turn: the checkpoint is still being written when close() stops it.
    let interrupted: Promise<boolean> | undefined;
    await expectIdenticalAfterRestart(options, () => {
      interrupted = first.node.checkpointer.checkpointNow();
    });
    expect(await interrupted).toBe(false);
    expect(await checkpointsTaken(first.node)).toBe(1);
  });

  it('refuses to start with StorageCorruptError when a log entry was altered in the file', async () => {
    const first = await start();
    for (let i = 0; i < 30; i++) await expectStatus('POST', znodeUrl(first.url, '/v1/znodes', `/n${i}`), 201, `value ${i}`);
    await first.close();
    server = undefined;
    alterFile(`UPDATE log_batches SET body = replace(body, '"timeMs":', '"timeMs":9') WHERE first = (SELECT max(first) FROM log_batches WHERE first < (SELECT max(first) FROM log_batches))`);
    await expect(start()).rejects.toThrow(StorageCorruptError);
  });

  it('refuses to start with StorageCorruptError when an entry is missing from the middle of the log', async () => {
    const first = await start();
    for (let i = 0; i < 30; i++) await expectStatus('POST', znodeUrl(first.url, '/v1/znodes', `/n${i}`), 201, `value ${i}`);
    await first.close();
    server = undefined;
    alterFile('DELETE FROM log_batches WHERE first = (SELECT max(first) FROM log_batches WHERE first < (SELECT max(first) FROM log_batches))');
    await expect(start()).rejects.toThrow(/gap/);
  });
});

/** Changes the closed node's file through another connection; exactly one row must change. */
function logRowsInFile(): number {
  const db = new Database(join(dir, 'corral.db'), { readonly: true });
  try {
    return (db.prepare('SELECT coalesce(sum(last - first + 1), 0) AS n FROM log_batches').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

function alterFile(sql: string): void {
  const db = new Database(join(dir, 'corral.db'));
  try {
    expect(db.prepare(sql).run().changes).toBe(1);
  } finally {
    db.close();
  }
}
