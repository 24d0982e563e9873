/**
 * Backup → restore → start, with real servers in this process (real HTTP, peer links and SQLite):
 * a backup taken from a live member while writes go on holds exactly the member's state at the
 * zxid it names (compared, every field of every znode and every session, with the tree as it was
 * when the backup's image was taken), and members restored from it start from that state.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { digestOf } from '../../src/auth/digest.ts';
import type { Member } from '../../src/config.ts';
import type { DataTree } from '../../src/core/tree/data-tree.ts';
import type { Znode } from '../../src/core/tree/znode.ts';
import { restoreDataDir } from '../../src/storage/backup-restore.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { freePort, waitFor } from '../support/corral-process.ts';
import { nodeDigest } from '../tree/helpers.ts';

const SUPER_DIGEST = digestOf('super', 'test');
const SUPER = { authorization: `Basic ${Buffer.from('super:test').toString('base64')}` };
const WAIT = { timeoutMs: 20_000 };

/** What must survive a backup: every znode's every field and data, and every session. */
const stateDigest = (nodes: readonly Znode[], tree: DataTree) =>
  JSON.stringify({ nodes: nodes.map(nodeDigest).sort(), sessions: tree.sessions.all().sort((a, b) => a.id - b.id) });

/** Records the state digest of `tree` each time an image of it is taken (a backup or a checkpoint), by zxid. */
function captureImages(tree: DataTree): Map<number, string> {
  const captured = new Map<number, string>();
  const snapshot = tree.snapshot.bind(tree);
  vi.spyOn(tree, 'snapshot').mockImplementation(() => {
    const nodes = snapshot();
    captured.set(tree.appliedZxid, stateDigest(nodes, tree));
    return nodes;
  });
  return captured;
}

async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream', ...headers }, signal: AbortSignal.timeout(10_000) });
}

/** Writers that create /load/<w>-<i> and set /pair/a and /pair/b together, until stopped or done; the czxid of each create acknowledged. */
function startWriters(urls: readonly string[], writers = 4, writesMax = 300): { acked: Map<string, number>; stop(): Promise<void> } {
  const acked = new Map<string, number>();
  let stopped = false;
  const write = async (url: string, name: string) => {
    const created = await post(`${url}/v1/znodes/load/${name}`, name);
    if (created.status === 201) acked.set(name, Number((await created.json() as { stat: { czxid: string } }).stat.czxid));
    else await created.body?.cancel();
    const pair = await fetch(`${url}/v1/multi`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(10_000),
      body: JSON.stringify({ ops: [{ op: 'setData', path: '/pair/a', data: name }, { op: 'setData', path: '/pair/b', data: name }] }),
    });
    await pair.body?.cancel();
  };
  const loops = Array.from({ length: writers }, async (_, w) => {
    for (let i = 0; i < writesMax && !stopped; i++) {
      await write(urls[w % urls.length]!, `${w}-${i}`).catch(() => undefined); // an unanswered write is simply not acknowledged
    }
  });
  return { acked, stop: async () => { stopped = true; await Promise.all(loops); } };
}

async function seed(url: string): Promise<void> {
  for (const path of ['load', 'pair', 'pair/a', 'pair/b', 'eph']) expect((await post(`${url}/v1/znodes/${path}`, '')).status).toBe(201);
}

/** Downloads a backup from `url` into `file`; answers the zxid it names. */
async function download(url: string, file: string): Promise<number> {
  const reply = await fetch(`${url}/v1/admin/backup`, { headers: SUPER, signal: AbortSignal.timeout(30_000) });
  expect(reply.status).toBe(200);
  writeFileSync(file, new Uint8Array(await reply.arrayBuffer()));
  return Number(reply.headers.get('zk-backup-zxid'));
}

/** Checks the restored tree is the backup's cut: the creates acknowledged by then, none after, /pair never torn. */
function expectCutAt(tree: DataTree, zxid: number, acked: ReadonlyMap<string, number>): void {
  const expected = [...acked].filter(([, czxid]) => czxid <= zxid).map(([name]) => name).sort();
  expect(tree.childNames('/load').slice().sort()).toEqual(expected);
  expect(Buffer.from(tree.get('/pair/a')!.data).toString()).toBe(Buffer.from(tree.get('/pair/b')!.data).toString());
  expect(Math.max(...tree.snapshot().map((n) => n.mzxid))).toBeLessThanOrEqual(zxid);
}

describe('backup and restore of a live node', { timeout: 120_000 }, () => {
  const servers: RunningServer[] = [];
  const dirs: string[] = [];

  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'corral-backup-e2e-'));
    dirs.push(dir);
    return dir;
  };
  const start = async (options: Parameters<typeof startServer>[0]) => {
    const server = await startServer({ port: 0, host: '127.0.0.1', superDigest: SUPER_DIGEST, tickTimeMs: 200, ...options });
    servers.push(server);
    return server;
  };
  /** Three members on `<parent>/n1..n3` (restored there or new), with fresh ports. */
  const startCluster = async (parent: string) => {
    const members: Member[] = [];
    for (let id = 1; id <= 3; id++) members.push({ id, client: `127.0.0.1:${await freePort()}`, peer: { host: '127.0.0.1', port: await freePort() } });
    return Promise.all(members.map((m) => start({
      id: m.id, members, clusterSecret: 'backup-test-cluster-secret', raftTickMs: 20, port: Number(m.client.split(':')[1]), dataDir: join(parent, `n${m.id}`),
    })));
  };

  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.all(servers.splice(0).map((s) => s.close()));
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('restores the state at the backup\'s zxid, taken under concurrent writes, into a node that starts from it', async () => {
    const dir = tempDir();
    const source = await start({ dataDir: join(dir, 'source') });
    await seed(source.url);
    const captured = captureImages(source.node.host.tree);
    const writers = startWriters([source.url]);
    await waitFor(() => writers.acked.size >= 100 || undefined, { ...WAIT, what: '100 writes before the backup' });
    const zxid = await download(source.url, join(dir, 'b.backup'));
    await writers.stop();
    expect(Math.max(...writers.acked.values()), 'some writes come after the backup\'s zxid').toBeGreaterThan(zxid);

    restoreDataDir({ file: join(dir, 'b.backup'), dataDir: join(dir, 'restored'), nowMs: Date.now });
    const restored = await start({ dataDir: join(dir, 'restored') });
    const tree = restored.node.host.tree;
    expect(stateDigest(tree.snapshot(), tree)).toBe(captured.get(zxid));
    expectCutAt(tree, zxid, writers.acked);
    const after = await post(`${restored.url}/v1/znodes/after-restore`, 'x');
    expect(after.status).toBe(201);
    expect(Number(after.headers.get('zk-zxid'))).toBeGreaterThan(zxid);
  });

  it('keeps the backup\'s sessions: one whose client goes on keeps its ephemeral, one left alone expires and loses it', async () => {
    const dir = tempDir();
    const source = await start({ dataDir: join(dir, 'source') });
    await seed(source.url);
    const open = async (name: string) => {
      const reply = await fetch(`${source.url}/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ timeoutMs: 2000 }) });
      const session = await reply.json() as { id: string; token: string };
      const headers = { 'zk-session-id': session.id, 'zk-session-token': session.token };
      expect((await post(`${source.url}/v1/znodes/eph/${name}?mode=ephemeral`, name, headers)).status).toBe(201);
      return { ...session, headers };
    };
    const kept = await open('kept');
    const left = await open('left');
    await download(source.url, join(dir, 'b.backup'));
    await source.close();
    servers.splice(servers.indexOf(source), 1);

    restoreDataDir({ file: join(dir, 'b.backup'), dataDir: join(dir, 'restored'), nowMs: Date.now });
    const restored = await start({ dataDir: join(dir, 'restored') });
    const tree = () => restored.node.host.tree;
    expect(tree().get('/eph/kept')?.ephemeralOwner).toBe(Number(kept.id));
    expect(tree().get('/eph/left')?.ephemeralOwner).toBe(Number(left.id));
    // The kept session's client carries on against the restored node with the token it had.
    const keepalive = async () => (await fetch(`${restored.url}/v1/sessions/${kept.id}/keepalive`, { method: 'POST', headers: kept.headers, signal: AbortSignal.timeout(5000) })).status;
    const statuses: number[] = [];
    // The kept session's heartbeat, as its client would send it (a third of its timeout).
    const heartbeat = setInterval(() => void keepalive().then((status) => statuses.push(status), () => statuses.push(0)), 600);
    try {
      await waitFor(() => tree().get('/eph/left') === undefined, { ...WAIT, what: 'the session left alone to expire' });
    } finally {
      clearInterval(heartbeat);
    }
    expect(tree().get('/eph/kept')).toBeDefined();
    expect(await keepalive()).toBe(200);
    expect(statuses.every((status) => status === 200)).toBe(true);
  });

  it('restores one member\'s backup into a new 3-member cluster whose members agree on its state and go on from it', async () => {
    const dir = tempDir();
    const sources = await startCluster(join(dir, 'source'));
    const leader = await waitFor(() => sources.find((s) => s.node.host.status().role === 'leader'), { ...WAIT, what: 'a leader' });
    const from = sources.find((s) => s !== leader)!;
    await seed(leader.url);
    const captured = captureImages(from.node.host.tree);
    const writers = startWriters(sources.map((s) => s.url));
    await waitFor(() => writers.acked.size >= 100 || undefined, { ...WAIT, what: '100 writes before the backup' });
    const zxid = await download(from.url, join(dir, 'b.backup'));
    await writers.stop();

    for (let id = 1; id <= 3; id++) restoreDataDir({ file: join(dir, 'b.backup'), dataDir: join(dir, `restored/n${id}`), nowMs: Date.now });
    const restored = await startCluster(join(dir, 'restored'));
    for (const server of restored) {
      const tree = server.node.host.tree;
      expect(stateDigest(tree.snapshot(), tree)).toBe(captured.get(zxid));
      expectCutAt(tree, zxid, writers.acked);
    }
    // A write through any member commits after the backup's zxid and reaches every member.
    const write = await waitFor(async () => {
      const reply = await post(`${restored[2]!.url}/v1/znodes/after-restore`, 'x');
      return reply.status === 201 ? Number(reply.headers.get('zk-zxid')) : (await reply.body?.cancel(), undefined);
    }, { ...WAIT, what: 'a write on the restored cluster' });
    expect(write).toBeGreaterThan(zxid);
    await waitFor(() => restored.every((s) => s.node.host.tree.get('/after-restore') !== undefined) || undefined, { ...WAIT, what: 'the write on every member' });
    const digests = restored.map((s) => stateDigest(s.node.host.tree.snapshot(), s.node.host.tree));
    expect(new Set(digests).size).toBe(1);
  });
});
