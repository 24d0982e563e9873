/**
 * Deterministic simulation of the REAL node code (test/sim/node-simulation.ts): NodeHost, the
 * Raft core, MemLogStore, DataTree, the SessionManager (opens, keepalives, closes, the leader's
 * expiries, replicated watches and their outboxes), ReadIndex reads at any node and the Reaper,
 * 3 or 5 hosts in one process under seeded faults, then healed. SIM_SEEDS=n runs n seeds
 * (default 1000); SIM_SEED=s replays one (with its trace); SIM_SEED_BASE shifts the range.
 */
import { describe, expect, it } from 'vitest';
import { NodeSimulationFailure, runNodeSimulation, type NodeRunSummary } from './node-simulation.ts';
import { kindOf, seeds } from './seeds.ts';

/** A seed with stale leaders, ReadIndex reads answered, watches fired and checkpoints installed. */
const REPLAYED_SEED = 6;

function replay(seed: number): string {
  return `SIM_SEED=${seed} npx vitest run test/sim/node.sim.test.ts`;
}

function summarize(runs: number, summaries: readonly NodeRunSummary[]): string {
  type Counted = 'acked' | 'operations' | 'entries' | 'crashes' | 'reads' | 'linearizableReads' | 'watchedReads' | 'checkpoints' | 'installs' |
    'opened' | 'expired' | 'expiredLive' | 'deaths' | 'oneShotSet' | 'oneShotFired' | 'removed' | 'deliveries' | 'outboxes' | 'lostReported' | 'bounded' | 'requestIds' | 'repeatedIds';
  const total = (key: Counted) => summaries.reduce((n, s) => n + s[key], 0);
  const barriers = (key: 'asked' | 'answered', of: 'all' | 'followers' | 'cutOff') => summaries.reduce((n, s) => n + s.barriers[key][of], 0);
  const forwarded = (key: keyof NodeRunSummary['forwarding']) => summaries.reduce((n, s) => n + s.forwarding[key], 0);
  const inconclusive = summaries.filter((s) => s.inconclusive).map((s) => s.seed);
  return `node simulation: ${runs} seeds, ${summaries.length} passed; ${total('entries')} log entries, ` +
    `${total('acked')} acknowledged requests, ${total('operations')} operations (${total('reads')} leader reads, ` +
    `${total('linearizableReads')} ReadIndex reads at any node, ${total('watchedReads')} watched reads) checked ` +
    `(read barriers: ${barriers('asked', 'all')} asked, ${barriers('answered', 'all')} answered, ${barriers('answered', 'followers')} of them ` +
    `at followers; ${barriers('asked', 'cutOff')} asked at nodes cut off from a quorum, ${barriers('answered', 'cutOff')} answered) ` +
    `for linearizability, ${total('requestIds')} request ids applied once (${total('repeatedIds')} retries or reuses answered from the table), ${total('crashes')} crashes, ${total('checkpoints')} checkpoints taken and ` +
    `${total('installs')} installed from a leader; ${total('opened')} sessions opened, ${total('expired')} expired by a leader ` +
    `(${total('expiredLive')} of them while a live client held them), ${total('deaths')} clients died; ` +
    `${total('oneShotSet')} one-shot watches set, ${total('oneShotFired')} fired, ${total('removed')} removals, ` +
    `${total('deliveries')} deliveries checked against the watch model, ${total('outboxes')} outboxes compared ` +
    `(${total('bounded')} past their bound, ${total('lostReported')} reporting events lost to a restart or an install); ` +
    `${forwarded('forwarded')} requests forwarded by a follower as proposals (${forwarded('answered')} answered, ${forwarded('lost')} lost: ` +
    `CONNECTIONLOSS), ${forwarded('served')} taken by a leader, ${forwarded('duplicates')} duplicate deliveries recognized; ` +
    `${summaries.filter((s) => s.observers > 0).length} seeds with observers, ${summaries.reduce((n, s) => n + s.transfers, 0)} leadership transfers asked, ` +
    `${summaries.reduce((n, s) => n + s.changes.asked, 0)} membership changes asked (${summaries.reduce((n, s) => n + s.changes.taken, 0)} taken)` +
    (inconclusive.length > 0 ? `; linearizability inconclusive (search bound) for seeds ${inconclusive.join(', ')}` : '');
}

describe('node simulation', () => {
  const runSeeds = seeds();
  // About 25 ms a seed; raised SIM_SEEDS get a proportionally longer bound.
  const timeout = 60_000 + runSeeds.length * 200;
  it('keeps hosts, trees and sessions consistent and linearizable, and converges after healing, for every seed', { timeout }, async () => {
    const failures = new Map<string, { seeds: number[]; first: NodeSimulationFailure }>();
    const summaries: NodeRunSummary[] = [];
    for (const seed of runSeeds) {
      try {
        summaries.push(await runNodeSimulation(seed));
      } catch (error) {
        if (!(error instanceof NodeSimulationFailure)) throw error;
        const kind = kindOf(error.message);
        const entry = failures.get(kind) ?? { seeds: [], first: error };
        entry.seeds.push(seed);
        failures.set(kind, entry);
      }
    }
    const report = [...failures.values()].map(({ seeds: failed, first }) => [
      `${failed.length} seed(s) failed: ${first.message}`,
      `  replay: ${replay(first.seed)}${failed.length > 1 ? `   (also seeds ${failed.slice(1, 8).join(', ')})` : ''}`,
      ...(process.env['SIM_SEED'] !== undefined ? first.trace.map((line) => `    ${line}`) : []),
    ].join('\n'));
    if (report.length > 0) console.error(report.join('\n'));
    console.log(summarize(runSeeds.length, summaries));
    expect(report).toEqual([]);
  });

  // Seeds that once failed, kept as regression tests.
  const regressions = [
    // NodeHost misses a check-quorum step-down: Raft.checkQuorum() → becomeFollower(term, 0) changes
    // neither the hard state nor sends anything, so hasReady() is false, the host handles no Ready
    // and noticeRole() never runs (now the core reports it: a role change alone is a Ready's softState). n3, isolated, steps down at t147 and its host keeps 4 writes
    // unanswered (no CONNECTIONLOSS) and its onRoleChange listeners untold for 19 ticks, until
    // its next campaign produces a Ready. About 8% of seeds hit it.
    { seed: 12, symptom: 'a host that stopped leading keeps its writes in flight and tells no listener' },
    { seed: 30, symptom: 'the same, after a partition split leaves leader n2 in the minority' },
    // A MsgSnap delayed in the network reaches n2 after it had acknowledged entries past the
    // checkpoint; n2 replaced its whole log with the checkpoint and lost entries the leader
    // counted in its quorum (match 170, log 167). Now a checkpoint whose last entry the log
    // already holds only advances the commit index, as etcd-raft does.
    { seed: 48, symptom: 'a late checkpoint truncates entries a follower acknowledged' },
    // A restarted member reused read context "2.1"; the leader's late answer to the read its
    // previous incarnation asked released the new read with a stale index. Contexts now carry a
    // per-incarnation nonce.
    { seed: 23292, symptom: 'a leader\'s answer to a read from before a restart releases a read asked after it' },
    // n1's core wins the election of term 2 at t84 while a slow disk holds its host loop (and so
    // the onRoleChange listeners) until t88; at t85 its SessionManager's expiry round, seeing the
    // core lead, expired a session on the deadlines it kept as a follower (due t47), before the
    // fresh full timeout a new leader grants. Now a round first grants it for an ungranted term.
    { seed: 166, symptom: 'a new leader expires a session before granting it a fresh timeout' },
    // n1 restarted from its checkpoint at 329: session 4294967334 (created at 38) had 11 events,
    // n1's outbox holds the last one; a stream opened there without Last-Event-ID got just that
    // one, not an overflow (cursorAfter ignored what the restart lost). Fixed in 690bb30.
    { seed: 3, symptom: 'a first reader of a restarted host\'s outbox is served a silent gap' },
    // Client c5 reused request id r0 for the very delete it had sent under it before; the
    // request-id table rightly answered the first NONODE (and its zxid), but the history took the
    // reuse for a new delete, after a create, and found it not linearizable. Retries are now
    // grouped by id and operation, not by txn object (node-history.ts). Found once observers
    // changed the schedules.
    { seed: 1334, symptom: 'a reused id for the same operation, answered from the request table, is checked as a new operation' },
    // n2, the lone voter left after two removals, crashed at t188 and was restarted while healing
    // at t200, where it led again at once (term 3); the checkers first saw it lead at t201's first
    // event, so its session expiry at t220, a whole 20-tick timeout after it began leading, looked
    // a tick early. The checkers now look right after a restart. (A checker's error, not the node's.)
    { seed: 202015, symptom: 'a lone voter leading from its restart is seen to lead a tick late' },
    // Client c1's open, asked at n3 at t196 and forwarded to the leader n1 before the heal, was
    // held by the network until t244, within the proposal's deadline, and applied at t246 after
    // the client had given up on it (as ZooKeeper may apply a request its client gave up on). Its
    // 4 s timeout expires it at t286, after the run's end at t279, where the final check wanted
    // every unheld session gone. It now asks that of sessions whose expiry is due; one that is not
    // must be tracked by the leader. (A checker's error, not the node's.)
    { seed: 701126, symptom: 'an open applied late, after its client gave up, is not yet due to expire at the end' },
  ] as const;
  it.each(regressions)('replays seed $seed without failure ($symptom)', async ({ seed }) => {
    await expect(runNodeSimulation(seed)).resolves.toBeDefined();
  });

  it('replays a seed exactly: the same trace and the same counts twice', async () => {
    const runOnce = async () => {
      const trace: string[] = [];
      const summary = await runNodeSimulation(REPLAYED_SEED, { onTrace: (line) => trace.push(line) });
      return { summary, trace };
    };
    const first = await runOnce();
    expect(first.summary.barriers.answered.all).toBeGreaterThan(0);
    expect(first.summary.deliveries).toBeGreaterThan(0);
    expect(await runOnce()).toEqual(first);
  });

  it('forwards proposals from followers through leader changes, crashes, drops and duplicates', async () => {
    const counts = { forwarded: 0, answered: 0, lost: 0, served: 0, duplicates: 0 };
    for (let seed = 1; seed <= 20; seed++) {
      const { forwarding } = await runNodeSimulation(seed);
      for (const key of Object.keys(counts) as Array<keyof typeof counts>) counts[key] += forwarding[key];
    }
    expect(counts.answered).toBeGreaterThan(0);
    expect(counts.lost).toBeGreaterThan(0);
    // A duplicated delivery is recognized, never proposed twice (the final checks find no request logged twice).
    expect(counts.duplicates).toBeGreaterThan(0);
    expect(counts.answered + counts.lost).toBeLessThanOrEqual(counts.forwarded);
  });

  it('runs observers and leadership transfers among its seeds, observers answering read barriers', async () => {
    const summaries: NodeRunSummary[] = [];
    for (let seed = 1; seed <= 30; seed++) summaries.push(await runNodeSimulation(seed));
    expect(summaries.filter((s) => s.observers > 0).length).toBeGreaterThan(0);
    expect(summaries.reduce((n, s) => n + s.transfers, 0)).toBeGreaterThan(0);
  });

  it('changes the membership among its seeds (removals, re-additions, promotions), with the same checks', async () => {
    const summaries: NodeRunSummary[] = [];
    for (let seed = 1; seed <= 30; seed++) summaries.push(await runNodeSimulation(seed));
    expect(summaries.reduce((n, s) => n + s.changes.taken, 0)).toBeGreaterThan(5);
  });

  it('commits, applies and converges without any fault (a check of the harness itself)', async () => {
    const summary = await runNodeSimulation(1, { faulty: false });
    expect(summary.acked).toBeGreaterThan(0);
    // Without faults every forwarded proposal is answered.
    expect(summary.forwarding.forwarded).toBeGreaterThan(0);
    expect(summary.forwarding.lost).toBe(0);
    expect(summary.crashes).toBe(0);
  });
});
