/**
 * A served node syncs its log off the event loop (NodeHost with overlapSync): while one batch
 * is being made durable, requests keep arriving and form the next batch, and nothing of a
 * batch — answers, applied changes, messages — happens before its sync reports. The log store
 * here hands each sync to the test, which completes it when it chooses.
 */
import { describe, expect, it } from 'vitest';
import { Raft } from '../../src/core/consensus/raft.ts';
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

  sync(done: (error: Error | null) => void): void {
    this.appendedAtSync.push(this.lastIndex());
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
    const prepared = prepareWrite([{ type: 'create', path, data: new Uint8Array(0), mode: 'persistent', ttlMs: -1 }], false,
      { timeMs: 1, sessionId: 0, maxDataBytes: 1024 });
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
    // The twenty wait together in the next batch: one more append and sync for all of them.
    expect(n.log.appendedAtSync.length).toBe(before + 1);
    expect(n.log.appendedAtSync.at(-1)! - n.log.appendedAtSync.at(-2)!).toBeGreaterThanOrEqual(20);
    n.settle();
    expect((await first).result).toMatchObject({ ok: true });
    for (const write of await Promise.all(during)) expect(write.result).toMatchObject({ ok: true });
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
});
