/**
 * Three node hosts in one process — real SQLite logs, real trees, the Raft core — joined by an
 * in-memory network the test drives by hand: the write path of a replicated cluster, before
 * any socket is involved.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OPEN_ACL } from '../../src/core/acl/acl.ts';
import { Raft } from '../../src/core/consensus/raft.ts';
import type { RaftMessage } from '../../src/core/consensus/types.ts';
import { DataTree } from '../../src/core/tree/data-tree.ts';
import { NodeHost, NotCommittedError } from '../../src/node/node-host.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { openDatabase, type SqliteDb } from '../../src/storage/database.ts';
import { SqliteLogStore } from '../../src/storage/log-store.ts';
import { CheckpointStore } from '../../src/storage/checkpoint-store.ts';
import { Checkpointer } from '../../src/node/checkpointer.ts';
import type { MemberDirectory } from '../../src/node/member-directory.ts';
import { MembershipAdmin } from '../../src/node/membership-admin.ts';
import { StoredCheckpoints } from '../../src/node/checkpoints.ts';

const IDS = [1, 2, 3];

class Cluster {
  readonly hosts = new Map<number, NodeHost>();
  readonly cores = new Map<number, Raft>();
  readonly checkpointers = new Map<number, Checkpointer>();
  readonly dbs: SqliteDb[] = [];
  private queue: RaftMessage[] = [];
  private runs: Array<() => void> = [];
  readonly cut = new Set<number>();

  constructor(readonly dir: string) {
    for (const id of IDS) {
      const db = openDatabase(join(dir, `node-${id}.db`));
      this.dbs.push(db);
      const log = new SqliteLogStore(db, { index: 0, term: 0 });
      const tree = new DataTree();
      // Deterministic timeouts: member 1 times out first.
      const consensus = new Raft({
        id, members: IDS, log, hardState: log.hardState(), appliedIndex: 0, electionTicks: 10, heartbeatTicks: 2,
        random: () => (id - 1) * 0.3,
      });
      const metrics = new Metrics({ znodeCount: () => tree.size, logEntries: () => log.size(), appliedZxid: () => tree.appliedZxid });
      const store = new CheckpointStore(db);
      const logger = createLogger('silent');
      const host: NodeHost = new NodeHost({
        consensus, log, tree, metrics, logger, maxPendingWrites: 100,
        transport: { send: (messages) => this.queue.push(...messages) },
        schedule: (run) => this.runs.push(run),
        checkpoints: new StoredCheckpoints(store, log, () => this.checkpointers.get(id)!.abandon(), () => 1),
      });
      this.hosts.set(id, host);
      this.cores.set(id, consensus);
      this.checkpointers.set(id, new Checkpointer({
        tree: () => host.tree, log, store, metrics, logger, everyEntries: 1_000_000, chunkNodes: 7, nowMs: () => 1,
      }));
    }
  }

  host(id: number): NodeHost {
    return this.hosts.get(id)!;
  }

  /** Runs scheduled loops and delivers messages until nothing is left (bounded). */
  settle(): void {
    for (let round = 0; round < 10_000 && (this.runs.length > 0 || this.queue.length > 0); round++) {
      for (const run of this.runs.splice(0)) run();
      for (const m of this.queue.splice(0)) if (!this.cut.has(m.from) && !this.cut.has(m.to)) this.host(m.to).receive(m);
    }
    expect(this.runs.length + this.queue.length, 'the cluster settles').toBe(0);
  }

  tick(times: number): void {
    for (let i = 0; i < times; i++) {
      // A cut-off member keeps its own clock: it is the network that fails, not the node.
      for (const id of IDS) this.host(id).tick();
      this.settle();
    }
  }

  leader(): number | undefined {
    return IDS.find((id) => !this.cut.has(id) && this.host(id).status().role === 'leader');
  }

  close(): void {
    for (const c of this.checkpointers.values()) void c.stop();
    for (const db of this.dbs) db.close();
  }
}

function digest(tree: DataTree): string {
  return JSON.stringify(tree.snapshot().sort((a, b) => (a.path < b.path ? -1 : 1)).map((n) => [n.path, n.czxid, n.mzxid, n.version, [...n.data]]));
}

const create = (path: string, timeMs = 1) => ({ timeMs, txn: { type: 'write' as const, ops: [{ type: 'create' as const, path, data: new Uint8Array([1]), mode: 'persistent' as const, ttlMs: -1, acl: OPEN_ACL }], multi: false, sessionId: 0, auth: [] } });

let cluster: Cluster | undefined;
afterEach(() => {
  cluster?.close();
  if (cluster) rmSync(cluster.dir, { recursive: true, force: true });
  cluster = undefined;
});

describe('replicated node hosts', () => {
  it('elect one leader, commit writes on a quorum and apply them on every member alike', async () => {
    cluster = new Cluster(mkdtempSync(join(tmpdir(), 'corral-hosts-')));
    cluster.tick(30);
    const leader = cluster.leader()!;
    expect(leader).toBeDefined();
    const writes = ['/a', '/b', '/c'].map((p) => cluster!.host(leader).submit(create(p)));
    cluster.settle();
    const results = await Promise.all(writes);
    expect(results.every((r) => r.result?.ok)).toBe(true);
    cluster.tick(3); // followers learn the commit index
    const digests = IDS.map((id) => digest(cluster!.host(id).tree));
    expect(new Set(digests).size).toBe(1);
    expect(cluster.host(leader).tree.get('/c')).toBeDefined();
  });

  it('refuses writes on a follower with CONNECTIONLOSS', async () => {
    cluster = new Cluster(mkdtempSync(join(tmpdir(), 'corral-hosts-')));
    cluster.tick(30);
    const follower = IDS.find((id) => id !== cluster!.leader())!;
    await expect(cluster.host(follower).submit(create('/x'))).rejects.toBeInstanceOf(NotCommittedError);
  });

  it('answers CONNECTIONLOSS at the first sweep past a write\'s deadline, and forgets it, while the cut-off leader still leads', async () => {
    cluster = new Cluster(mkdtempSync(join(tmpdir(), 'corral-hosts-')));
    cluster.tick(30);
    const leader = cluster.leader()!;
    cluster.cut.add(leader);
    const settled: string[] = [];
    const track = (name: string, p: Promise<unknown>) => p.then(() => settled.push(`${name} committed`), (e: unknown) => settled.push(`${name} ${e instanceof NotCommittedError ? e.error.code : 'other'}`));
    const early = track('early', cluster.host(leader).submit(create('/early'), 1000));
    const late = track('late', cluster.host(leader).submit(create('/late'), 2000));
    const unbounded = cluster.host(leader).submit(create('/unbounded'));
    cluster.settle();
    cluster.host(leader).expireOverdue(999);
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toEqual([]);
    cluster.host(leader).expireOverdue(1000);
    await early;
    expect(settled).toEqual(['early CONNECTIONLOSS']);
    expect(cluster.host(leader).status().role, 'nothing else ended it').toBe('leader');
    expect(cluster.host(leader).pendingWrites).toBe(2);
    cluster.host(leader).expireOverdue(5000);
    await late;
    expect(settled).toEqual(['early CONNECTIONLOSS', 'late CONNECTIONLOSS']);
    expect(cluster.host(leader).pendingWrites, 'a write without a deadline waits on').toBe(1);
    // Its entries may still commit: the quorum back, the unbounded write is answered.
    cluster.cut.delete(leader);
    cluster.tick(5);
    expect((await unbounded).result?.ok).toBe(true);
  });

  it('answers CONNECTIONLOSS for writes in flight when the leader is cut off, and a new leader takes over', async () => {
    cluster = new Cluster(mkdtempSync(join(tmpdir(), 'corral-hosts-')));
    cluster.tick(30);
    const old = cluster.leader()!;
    cluster.cut.add(old);
    const pending = cluster.host(old).submit(create('/lost'));
    const outcome = pending.then(() => 'committed', (e: unknown) => (e instanceof NotCommittedError ? e.error.code : 'other'));
    cluster.tick(60); // the old leader loses check-quorum; the others elect a new one
    expect(await outcome).toBe('CONNECTIONLOSS');
    const next = cluster.leader()!;
    expect(next).not.toBe(old);
    const written = cluster.host(next).submit(create('/after'));
    cluster.settle();
    expect((await written).result?.ok).toBe(true);
    cluster.cut.delete(old);
    cluster.tick(30);
    const digests = IDS.map((id) => digest(cluster!.host(id).tree));
    expect(new Set(digests).size, 'the old leader catches up and drops its uncommitted entry').toBe(1);
    expect(cluster.host(old).tree.get('/lost')).toBeUndefined();
  });
});

describe('a follower too far behind', () => {
  it('gets the leader\'s checkpoint instead of the compacted log, keeps it durably and follows from there', async () => {
    cluster = new Cluster(mkdtempSync(join(tmpdir(), 'corral-hosts-')));
    cluster.tick(30);
    const leader = cluster.leader()!;
    const behind = IDS.find((id) => id !== leader)!;
    cluster.cut.add(behind);
    const writes = Array.from({ length: 40 }, (_, i) => cluster!.host(leader).submit(create(`/n${i}`)));
    cluster.settle();
    await Promise.all(writes);
    // The other two checkpoint and drop their logs behind it.
    for (const id of IDS.filter((i) => i !== behind)) expect(await cluster.checkpointers.get(id)!.checkpointNow()).toBe(true);
    const checkpointIndex = cluster.host(leader).status().appliedIndex;
    cluster.cut.delete(behind);
    cluster.tick(40);
    const digests = IDS.map((id) => digest(cluster!.host(id).tree));
    expect(new Set(digests).size).toBe(1);
    expect(cluster.host(behind).tree.get('/n39')).toBeDefined();
    // It is now the follower's own checkpoint, next to a log that starts after it.
    const db = cluster.dbs[behind - 1]!;
    expect(new CheckpointStore(db).current()).toMatchObject({ index: checkpointIndex });
    // And it keeps following the log: a later write arrives one by one.
    const later = cluster.host(leader).submit(create('/later'));
    cluster.settle();
    await later;
    cluster.tick(3);
    expect(cluster.host(behind).tree.get('/later')).toBeDefined();
    // Restarted from its file, it has the same tree (checkpoint + log replay).
    const store = new CheckpointStore(db);
    const meta = store.latest()!;
    const log = new SqliteLogStore(db, { index: meta.index, term: meta.term });
    expect(log.firstIndex()).toBe(checkpointIndex + 1);
    const restored = new DataTree(store.nodes(meta), meta.zxid, store.sessions(meta));
    expect(restored.get('/n39')).toBeDefined();
    expect(log.lastIndex()).toBe(cluster.host(behind).status().lastIndex);
  });
});

describe('request ids across a checkpoint install and a leader change', () => {
  const tagged = (id: string) => {
    const envelope = create('/once-', 1);
    const op = { ...envelope.txn.ops[0]!, mode: 'persistent_sequential' as const };
    return { timeMs: 1, txn: { ...envelope.txn, ops: [op], request: { client: 'alice', id } } };
  };

  it('answers a retry with the first result on a follower that installed the checkpoint, under a new leader', async () => {
    cluster = new Cluster(mkdtempSync(join(tmpdir(), 'corral-hosts-')));
    cluster.tick(30);
    const leader = cluster.leader()!;
    const behind = IDS.find((id) => id !== leader)!;
    cluster.cut.add(behind);
    const firstWrite = cluster.host(leader).submit(tagged('r-1'));
    const writes = Array.from({ length: 40 }, (_, i) => cluster!.host(leader).submit(create(`/n${i}`)));
    cluster.settle();
    const first = await firstWrite;
    await Promise.all(writes);
    expect(first.result).toMatchObject({ ok: true, results: [{ path: '/once-0000000000' }] });
    for (const id of IDS.filter((i) => i !== behind)) expect(await cluster.checkpointers.get(id)!.checkpointNow()).toBe(true);
    cluster.cut.delete(behind);
    cluster.tick(40);
    // The follower never applied the first attempt: it has its answer from the checkpoint.
    expect(cluster.host(behind).tree.requests.get('alice', 'r-1')).toMatchObject({ zxid: first.zxid, result: first.result });
    cluster.cut.add(leader);
    cluster.tick(60);
    const next = cluster.leader()!;
    expect(next).not.toBe(leader);
    const seen: unknown[] = [];
    cluster.host(behind).setAppliers([{
      applied: (output, _zxid, envelope) => {
        if (envelope.txn.type === 'write' && envelope.txn.request?.id === 'r-1') seen.push({ zxid: output.firstZxid, result: output.result, events: output.events });
      },
    }]);
    const retry = cluster.host(next).submit(tagged('r-1'));
    cluster.settle();
    expect(await retry).toEqual(first);
    cluster.tick(3);
    expect(seen).toEqual([{ zxid: first.zxid, result: first.result, events: [] }]);
    for (const id of IDS.filter((i) => i !== leader)) {
      expect(cluster.host(id).tree.childNames('/').filter((name) => name.startsWith('once-'))).toEqual(['once-0000000000']);
    }
    // Restarted from its file, the follower still has the answer.
    const store = new CheckpointStore(cluster.dbs[behind - 1]!);
    expect(store.requests(store.latest()!)).toEqual([expect.objectContaining({ client: 'alice', id: 'r-1', zxid: first.zxid, result: first.result })]);
  });
});

describe('a membership change on a leader cut off from its quorum (no ticks: check-quorum never deposes it)', () => {
  const learner = { id: 4, client: '127.0.0.1:1', peer: '127.0.0.1:2' };

  function cutLeader() {
    cluster = new Cluster(mkdtempSync(join(tmpdir(), 'corral-hosts-')));
    cluster.tick(30);
    const leader = cluster.leader()!;
    cluster.cut.add(leader);
    return leader;
  }

  it('answers OPERATIONTIMEOUT once the host\'s bound runs out, and forgets the waiter', async () => {
    const leader = cutLeader();
    const host = cluster!.host(leader);
    const changed = host.changeMembership({ type: 'addLearner', id: 4, address: { client: learner.client, peer: learner.peer } }, 100);
    cluster!.settle();
    const error = await changed.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(NotCommittedError);
    expect((error as NotCommittedError).error).toMatchObject({ code: 'OPERATIONTIMEOUT', message: expect.stringMatching(/did not commit within 100 ms; it may still commit/) });
    expect(host.pendingWrites).toBe(0);
  }, 10_000);

  it('answers an operator\'s add within its deadline with OPERATIONTIMEOUT', async () => {
    const leader = cutLeader();
    const admin = new MembershipAdmin({
      raft: cluster!.cores.get(leader)!, host: cluster!.host(leader), directory: { addressOf: () => undefined } as unknown as MemberDirectory,
      logger: createLogger('silent'), nowMs: () => Date.now(), retryMs: 10, quorumGraceMs: 100, clustered: true,
    });
    const started = Date.now();
    const answer = admin.add(learner, false, 200);
    cluster!.settle();
    expect(await answer).toMatchObject({ code: 'OPERATIONTIMEOUT' });
    expect(Date.now() - started).toBeLessThan(2000);
  }, 10_000);
});
