/**
 * A served node syncs its log off the event loop (NodeHost with overlapSync): while one batch
 * is being made durable, requests keep arriving and form the next batch, and nothing of a
 * batch — answers, applied changes, messages — happens before its sync reports. The log store
 * here hands each sync to the test, which completes it when it chooses.
 */
import { describe, expect, it } from 'vitest';
import { OPEN_ACL } from '../../src/core/acl/acl.ts';
import { Raft } from '../../src/core/consensus/raft.ts';
import type { RaftMessage } from '../../src/core/consensus/types.ts';
import { DataTree } from '../../src/core/tree/data-tree.ts';
import { prepareWrite } from '../../src/core/tree/prepare.ts';
import { NodeHost, NotCommittedError, type Committed } from '../../src/node/node-host.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { MemLogStore } from '../../src/storage/mem-log-store.ts';

class ManualSyncLog extends MemLogStore {
  readonly pending: Array<(error: Error | null) => void> = [];
  /** Entries appended when each sync was asked for. */
  readonly appendedAtSync: number[] = [];
  /** What each sync would make durable beyond the commit index: the last entry, term and vote. */
  readonly syncedStates: string[] = [];

  sync(done: (error: Error | null) => void): void {
    this.appendedAtSync.push(this.lastIndex());
    const { term, vote } = this.hardState();
    this.syncedStates.push(`${this.lastIndex()}/${term}/${vote}`);
    this.pending.push(done);
  }

  syncNow(): void {
    throw new Error('a served host must not sync on the loop');
  }
}

function singleNode() {
  const log = new ManualSyncLog();
  const tree = new DataTree();
  const runs: Array<() => void> = [];
  const host = new NodeHost({
    consensus: new Raft({ id: 1, members: [1], log, hardState: log.hardState(), appliedIndex: 0, electionTicks: 10, heartbeatTicks: 1, random: () => 0.5 }),
    log, tree, metrics: new Metrics({ znodeCount: () => tree.size, logEntries: () => log.size(), appliedZxid: () => tree.appliedZxid }),
    logger: createLogger('silent'), maxPendingWrites: 1000, overlapSync: true, schedule: (run) => runs.push(run),
  });
  /** Runs the scheduled loop turns (bounded). */
  const turn = (): void => {
    for (let i = 0; i < 100 && runs.length > 0; i++) for (const run of runs.splice(0)) run();
  };
  const create = (path: string): Promise<Committed> => {
    const prepared = prepareWrite([{ type: 'create', path, data: new Uint8Array(0), mode: 'persistent', ttlMs: -1, acl: OPEN_ACL }], false,
      { timeMs: 1, sessionId: 0, maxDataBytes: 1024, auth: [] });
    if (!prepared.ok) throw new Error(prepared.error.message);
    return host.submit(prepared.envelope);
  };
  /** Completes the oldest sync and runs what it let go. */
  const completeSync = (error: Error | null = null): void => {
    const done = log.pending.shift();
    expect(done, 'a sync was asked for').toBeDefined();
    done!(error);
    turn();
  };
  /** Completes syncs until none is asked for (bounded). */
  const settle = (): void => {
    turn();
    for (let i = 0; i < 100 && log.pending.length > 0; i++) completeSync();
  };
  return { host, log, tree, turn, create, completeSync, settle };
}

const createEnvelope = (path: string) => {
  const prepared = prepareWrite([{ type: 'create', path, data: new Uint8Array(0), mode: 'persistent', ttlMs: -1, acl: OPEN_ACL }], false,
    { timeMs: 1, sessionId: 0, maxDataBytes: 1024, auth: [] });
  if (!prepared.ok) throw new Error(prepared.error.message);
  return prepared.envelope;
};

/** Three served hosts on a hand-driven network; every sync waits until the test completes it. */
function threeMembers() {
  const ids = [1, 2, 3];
  const logs = new Map<number, ManualSyncLog>();
  const hosts = new Map<number, NodeHost>();
  const runs: Array<() => void> = [];
  let inFlight: RaftMessage[] = [];
  for (const id of ids) {
    const log = new ManualSyncLog();
    const tree = new DataTree();
    logs.set(id, log);
    hosts.set(id, new NodeHost({
      consensus: new Raft({ id, members: ids, log, hardState: log.hardState(), appliedIndex: 0, electionTicks: 10, heartbeatTicks: 2, random: () => (id - 1) * 0.3 }),
      log, tree, metrics: new Metrics({ znodeCount: () => tree.size, logEntries: () => log.size(), appliedZxid: () => tree.appliedZxid }),
      logger: createLogger('silent'), maxPendingWrites: 1000, overlapSync: true, schedule: (run) => runs.push(run),
      transport: { send: (messages) => inFlight.push(...messages) },
    }));
  }
  const turn = (): void => {
    for (let i = 0; i < 100 && runs.length > 0; i++) for (const run of runs.splice(0)) run();
  };
  /** Delivers what is in flight (to `only` members, if given), then runs the loops. */
  const deliver = (only?: readonly number[]): void => {
    const now = inFlight;
    inFlight = [];
    for (const m of now) {
      if (only && !only.includes(m.to)) inFlight.push(m);
      else hosts.get(m.to)!.receive(m);
    }
    turn();
  };
  const completeSyncs = (of: readonly number[] = ids): void => {
    for (const id of of) for (const done of logs.get(id)!.pending.splice(0)) done(null);
    turn();
  };
  /** Runs, delivers and syncs until nothing moves (bounded). */
  const settle = (): void => {
    for (let i = 0; i < 200 && (runs.length > 0 || inFlight.length > 0 || ids.some((id) => logs.get(id)!.pending.length > 0)); i++) {
      turn();
      completeSyncs();
      deliver();
    }
  };
  const tick = (times: number): void => {
    for (let i = 0; i < times; i++) {
      for (const host of hosts.values()) host.tick();
      settle();
    }
  };
  const leader = () => ids.find((id) => hosts.get(id)!.status().role === 'leader');
  return { ids, logs, hosts, turn, deliver, completeSyncs, settle, tick, leader };
}

/**
 * Three members with a leader, and a write at `path` durable on all of them: the followers'
 * acknowledgements are in flight to the leader, not yet delivered.
 */
function writeAckedByFollowers(path: string) {
  const c = threeMembers();
  c.tick(30);
  const leader = c.leader()!;
  const followers = c.ids.filter((id) => id !== leader);
  const host = c.hosts.get(leader)!;
  const write = host.submit(createEnvelope(path));
  c.turn();
  c.completeSyncs([leader]); // durable on the leader: its appends go out
  c.deliver(followers);
  c.completeSyncs(followers); // durable on the followers: their acks go out
  return { c, leader, followers, host, write };
}

const settled = async (promise: Promise<unknown>): Promise<boolean> => {
  let done = false;
  void promise.then(() => (done = true), () => (done = true));
  for (let i = 0; i < 10; i++) await Promise.resolve();
  return done;
};

describe('a host that syncs its log off the loop', () => {
  it('answers and applies a write only after its batch is durable', async () => {
    const n = singleNode();
    n.settle(); // the node elects itself and commits its first entry
    const write = n.create('/a');
    n.turn();
    expect(n.log.pending.length).toBe(1);
    expect(await settled(write)).toBe(false);
    expect(n.tree.get('/a')).toBeUndefined();
    n.settle();
    expect((await write).result).toMatchObject({ ok: true });
    expect(n.tree.get('/a')).toBeDefined();
  });

  it('batches the writes that arrive while a sync is under way, and syncs one batch at a time', async () => {
    const n = singleNode();
    n.settle();
    const first = n.create('/first');
    n.turn();
    expect(n.log.pending.length).toBe(1);
    const during = Array.from({ length: 20 }, (_, i) => n.create(`/during-${i}`));
    n.turn();
    expect(n.log.pending.length, 'no second sync while the first is under way').toBe(1);
    const before = n.log.appendedAtSync.length;
    n.completeSync();
    // The first write waits for its own sync only, not for the next batch's.
    expect(await settled(first)).toBe(true);
    expect(n.log.pending.length).toBe(1);
    // The twenty wait together in the next batch: one more append and sync for all of them.
    expect(n.log.appendedAtSync.length).toBe(before + 1);
    expect(n.log.appendedAtSync.at(-1)! - n.log.appendedAtSync.at(-2)!).toBeGreaterThanOrEqual(20);
    n.settle();
    expect((await first).result).toMatchObject({ ok: true });
    for (const write of await Promise.all(during)) expect(write.result).toMatchObject({ ok: true });
  });

  it('answers a batch as its sync reports, and writes what came meanwhile a turn later, with the requests of that turn', async () => {
    const n = singleNode();
    n.settle();
    const first = n.create('/first');
    n.turn();
    const during = Array.from({ length: 5 }, (_, i) => n.create(`/during-${i}`));
    const appendsBefore = n.log.appendedAtSync.length;
    n.log.pending.shift()!(null); // the sync reports; the loop has not turned yet
    expect(await settled(first), 'answered in the sync\'s own callback').toBe(true);
    expect(n.tree.get('/first')).toBeDefined();
    expect(n.log.appendedAtSync.length, 'the next batch is not written in the callback').toBe(appendsBefore);
    const late = Array.from({ length: 3 }, (_, i) => n.create(`/late-${i}`)); // read in the turn's I/O phase
    n.turn();
    expect(n.log.appendedAtSync.length, 'one sync for the writes of both moments').toBe(appendsBefore + 1);
    expect(n.log.appendedAtSync.at(-1)! - n.log.appendedAtSync.at(-2)!).toBe(8);
    n.settle();
    for (const write of await Promise.all([...during, ...late])) expect(write.result).toMatchObject({ ok: true });
  });

  it('fails every write in flight when the disk fails, and stops', async () => {
    const n = singleNode();
    n.settle();
    const write = n.create('/doomed');
    const failed = write.catch((error: unknown) => error);
    n.turn();
    expect(() => n.completeSync(new Error('EIO'))).toThrow('EIO');
    const error = await failed;
    expect(error).toBeInstanceOf(NotCommittedError);
    expect((error as NotCommittedError).error.code).toBe('CONNECTIONLOSS');
    expect(n.tree.get('/doomed')).toBeUndefined();
  });

  it('does not sync a Ready that only moves the commit index (a follower learning its writes committed)', async () => {
    const c = threeMembers();
    c.tick(30);
    const leader = c.leader()!;
    expect(leader).toBeDefined();
    const writes = ['/a', '/b', '/c'].map((path) => c.hosts.get(leader)!.submit(createEnvelope(path)));
    c.settle();
    c.tick(5); // heartbeats carry the commit index to the followers
    for (const write of await Promise.all(writes)) expect(write.result).toMatchObject({ ok: true });
    for (const id of c.ids) {
      expect(c.hosts.get(id)!.tree.get('/c'), `member ${id} applied the writes`).toBeDefined();
      const states = c.logs.get(id)!.syncedStates;
      // Every sync made something new durable: an entry, a term or a vote — never the commit index alone.
      expect(new Set(states).size, `member ${id} synced ${states.join(', ')}`).toBe(states.length);
    }
  });

  it('on a leader, applies what followers confirmed without waiting for the sync of newer proposals', async () => {
    const { c, leader, followers, host, write: first } = writeAckedByFollowers('/first');
    const second = host.submit(createEnvelope('/second'));
    c.deliver([leader]); // the acks commit /first; the next Ready also carries /second, to be synced
    expect(c.logs.get(leader)!.pending.length, 'the sync of /second is under way').toBe(1);
    expect(await settled(first)).toBe(true);
    expect(host.tree.get('/first')).toBeDefined();
    expect(await settled(second)).toBe(false);
    c.settle();
    expect((await second).result).toMatchObject({ ok: true });
  });

  it('tells the followers what committed while the leader syncs a newer batch, not after that sync', async () => {
    const { c, leader, followers, host, write: a } = writeAckedByFollowers('/a');
    const b = host.submit(createEnvelope('/b'));
    c.turn(); // the leader syncs /b's batch
    c.deliver([leader]); // the acks commit /a while /b's sync is under way
    const later = host.submit(createEnvelope('/c'));
    c.completeSyncs([leader]); // /b's append goes out; /a is applied; /c's batch starts its sync
    expect(await settled(a)).toBe(true);
    expect(c.logs.get(leader)!.pending.length, 'the sync of /c is under way').toBe(1);
    c.deliver(followers);
    c.completeSyncs(followers);
    for (const id of followers) expect(c.hosts.get(id)!.tree.get('/a'), `member ${id} applied /a`).toBeDefined();
    expect(c.logs.get(leader)!.pending.length, 'the sync of /c is still under way').toBe(1);
    c.settle();
    for (const write of await Promise.all([b, later])) expect(write.result).toMatchObject({ ok: true });
    for (const id of c.ids) expect(c.hosts.get(id)!.tree.get('/c'), `member ${id} applied /c`).toBeDefined();
  });
});
