// SessionManager (src/node/session-manager.ts) on a one-member host, with its clock, timers and
// token source injected: no real timer runs, and the host loop runs only when the test says so.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config.ts';
import { Raft } from '../../src/core/consensus/raft.ts';
import type { RaftMessage } from '../../src/core/consensus/types.ts';
import { DataTree } from '../../src/core/tree/data-tree.ts';
import { NodeHost } from '../../src/node/node-host.ts';
import { SessionManager } from '../../src/node/session-manager.ts';
import type { Timers } from '../../src/node/timers.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { MemLogStore } from '../../src/storage/mem-log-store.ts';

const TICK_TIME_MS = 1000;

/** Timers on a hand-moved clock. */
class ManualTimers implements Timers {
  nowMs = 0;
  private pending: Array<{ dueMs: number; everyMs?: number; run: () => void; cancelled: boolean }> = [];

  every(ms: number, run: () => void): () => void {
    const timer = { dueMs: this.nowMs + ms, everyMs: ms, run, cancelled: false };
    this.pending.push(timer);
    return () => (timer.cancelled = true);
  }

  after(ms: number, run: () => void): () => void {
    const timer = { dueMs: this.nowMs + ms, run, cancelled: false };
    this.pending.push(timer);
    return () => (timer.cancelled = true);
  }

  advance(ms: number, settle: () => Promise<void>): Promise<void> {
    return (async () => {
      const until = this.nowMs + ms;
      for (let t = this.nowMs + 1; t <= until; t++) {
        this.nowMs = t;
        for (const timer of this.pending.filter((p) => !p.cancelled && p.dueMs <= t)) {
          if (timer.everyMs === undefined) timer.cancelled = true;
          else timer.dueMs = t + timer.everyMs;
          timer.run();
        }
        if (t % 100 === 0) await settle();
      }
    })();
  }
}

/**
 * Member 1 (with the SessionManager) and, for `members` > 1, peers it can be elected by; messages
 * wait in `queue` and host loops in `runs` until the test moves them.
 */
function setup(tree = new DataTree(), members = 1) {
  const ids = Array.from({ length: members }, (_, i) => i + 1);
  const runs: Array<{ id: number; run: () => void }> = [];
  const queue: RaftMessage[] = [];
  const hosts = ids.map((id) => {
    const log = new MemLogStore();
    // Member 1 times out first.
    const consensus = new Raft({ id, members: ids, log, hardState: log.hardState(), appliedIndex: 0, electionTicks: 2, heartbeatTicks: 1, random: () => (id - 1) * 0.5 });
    return new NodeHost({
      consensus, log, tree: id === 1 ? tree : new DataTree(), logger: createLogger('silent'), maxPendingWrites: 100,
      metrics: new Metrics({ znodeCount: () => 0, logEntries: () => 0, appliedZxid: () => 0 }),
      transport: { send: (messages) => queue.push(...messages) }, schedule: (run) => runs.push({ id, run }),
    });
  });
  const host = hosts[0]!;
  const timers = new ManualTimers();
  let issued = 0;
  const config = defaultConfig({ tickTimeMs: TICK_TIME_MS });
  const sessions = new SessionManager(host, config, () => timers.nowMs, createLogger('silent'), { timers, newToken: () => `token-${++issued}` });
  host.setAppliers([sessions]);
  sessions.follow();
  /** Runs host loops and delivers messages until idle, letting settled promises' callbacks run in between. */
  const settle = async () => {
    for (let i = 0; i < 1000 && (runs.length > 0 || queue.length > 0); i++) {
      if (runs.length > 0) runs.shift()!.run();
      else { const m = queue.shift()!; hosts[m.to - 1]!.receive(m); }
      for (let j = 0; j < 10; j++) await null;
    }
  };
  /** Elects member 1 (a cluster of one elects itself at once). */
  const lead = async () => {
    for (let i = 0; i < 10 && host.status().role !== 'leader'; i++) {
      host.tick();
      await settle();
    }
  };
  return { host, hosts, sessions, timers, settle, lead, runs, queue };
}

describe('SessionManager', () => {
  it('draws tokens from the injected source and logs only their hash', async () => {
    const { host, sessions, settle, lead } = setup();
    await lead();
    const opening = sessions.open(5000);
    await settle();
    const opened = await opening;
    if ('code' in opened) throw new Error(opened.message);
    expect(opened).toMatchObject({ token: 'token-1', timeoutMs: 5000 });
    expect(host.tree.sessions.get(opened.id)?.tokenHash).toBe(createHash('sha256').update('token-1').digest('hex'));
    expect(sessions.authenticate(opened.id, 'token-1')).toBeUndefined();
  });

  it('expires a silent session on the injected timers, and not one kept alive', async () => {
    const { host, sessions, timers, settle, lead } = setup();
    sessions.start();
    await lead();
    const [silent, kept] = await Promise.all([sessions.open(2 * TICK_TIME_MS), sessions.open(2 * TICK_TIME_MS), settle()]);
    if ('code' in silent || 'code' in kept) throw new Error('open failed');
    for (let i = 0; i < 5; i++) {
      sessions.keepalive(kept.id);
      await timers.advance(1000, settle);
    }
    expect(host.tree.sessions.get(silent.id)).toBeUndefined();
    expect(sessions.authenticate(silent.id, silent.token)?.code).toBe('SESSIONEXPIRED');
    expect(host.tree.sessions.get(kept.id)).toBeDefined();
    sessions.stop();
  });

  it('grants fresh timeouts before expiring anything when the core leads before the host loop has told it', async () => {
    // A session recovered from disk, last heard from long ago; the node is not yet leading.
    const tree = new DataTree(undefined, 0, [{ id: 7, timeoutMs: 2 * TICK_TIME_MS, tokenHash: 'ab', auth: [] }]);
    const { host, hosts, sessions, timers, settle, runs, queue } = setup(tree, 2);
    sessions.start();
    await timers.advance(5000, async () => {});
    expect(host.status().role).toBe('follower');
    // Campaign and collect the vote, but leave member 1's loop (which tells the listeners) unrun.
    for (let i = 0; i < 100 && host.status().role !== 'leader'; i++) {
      if (i % 10 === 0) host.tick();
      if (runs.length > 0) runs.shift()!.run();
      else if (queue.length > 0) { const m = queue.shift()!; hosts[m.to - 1]!.receive(m); }
    }
    expect(host.status().role).toBe('leader');
    expect(runs.some((r) => r.id === 1)).toBe(true);
    await timers.advance(1000, async () => {});
    expect(host.pendingWrites).toBe(0);
    await settle();
    expect(host.tree.sessions.get(7)).toBeDefined();
    await timers.advance(2000, settle);
    expect(host.tree.sessions.get(7)).toBeUndefined();
    sessions.stop();
  });
});
