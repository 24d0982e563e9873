/**
 * One seeded simulation run: a fault phase (partitions, crashes and restarts that lose what
 * was not persisted, a lossy, duplicating, reordering network, slow disks) while clients
 * propose unique values at the leader, then a healed phase (everyone up and connected, no
 * faults, no new proposals) that must converge: one leader that everyone follows, every node
 * has applied the same log to its end, every acknowledged value is in it, and the cluster goes
 * quiet (no entries resent, no elections). The Checker runs after every step.
 *
 * Some seeds add observers (learners: they replicate, never vote or campaign, count toward no
 * quorum) and now and then ask a leader to hand leadership to another voter (a transfer, Raft's
 * TimeoutNow); the invariants are the same, and an observer must never lead or stand.
 *
 * Some seeds change the membership during the fault phase, mixed with the crashes and
 * partitions: spare members (running, outside the configuration) are added as learners,
 * learners promoted, members removed (a leader itself included) — each through the leader's
 * proposeConfChange, which may refuse. Convergence then concerns the members of the final
 * configuration; the invariants are unchanged.
 */
import { isMember, membersOf } from '../../src/core/consensus/cluster-config.ts';
import type { ConfChange } from '../../src/core/consensus/conf-change.ts';
import type { Prng } from '../support/prng.ts';
import { Checker } from './checkers.ts';
import { SimCluster, streamOf, type CrashPoint, type SimNode } from './cluster.ts';
import { NO_FAULTS, type NetworkFaults } from './network.ts';

export const ELECTION_TICKS = 10;
const HEARTBEAT_TICKS = 2;
const FAULT_TICKS = 300;
const CONVERGE_TICKS_MAX = 30 * ELECTION_TICKS;
const QUIET_TICKS = 3 * ELECTION_TICKS;
const TRACE_LINES_MAX = 60;
const LOG_MATCHING_EVERY_TICKS = 10;
/** Longest a message is held (a stuck buffer). */
const LONG_DELAY_TICKS_MAX = 6 * ELECTION_TICKS;
/** The last tick a transfer is asked: its messages (sent within an election timeout) land before the heal. */
const TRANSFERS_UNTIL_TICK = FAULT_TICKS - LONG_DELAY_TICKS_MAX - 2 * ELECTION_TICKS;

export interface RunSummary {
  readonly seed: number;
  readonly size: number;
  readonly observers: number;
  /** Leadership transfers asked for, and those that moved leadership to their target. */
  readonly transfers: { readonly asked: number; readonly done: number };
  /** Membership changes asked for, and those the leader took (appended). */
  readonly changes: { readonly asked: number; readonly taken: number };
  readonly faults: NetworkFaults;
  readonly lastIndex: number;
  readonly acked: number;
  readonly committed: number;
  readonly abandoned: number;
  readonly convergeTicks: number;
}

export class SimulationFailure extends Error {
  constructor(readonly seed: number, message: string, readonly trace: readonly string[]) {
    super(message);
  }
}

interface Run {
  readonly seed: number;
  readonly cluster: SimCluster;
  readonly checker: Checker;
  readonly faults: Prng;
  readonly rates: FaultRates;
  readonly clients: Prng;
  readonly trace: string[];
  /** Each node's last traced role@term. */
  readonly roles: Map<number, string>;
  /** Faults are injected in the first phase of a faulty run only; clients propose in the first phase. */
  readonly faulty: boolean;
  phase: 'faults' | 'healed';
  nextValue: number;
  /** Chance per tick that a leader is asked to hand leadership over. */
  readonly transferRate: number;
  /** Transfers in flight: target → the term asked in. */
  readonly transferring: Map<number, number>;
  transfers: { asked: number; done: number };
  /** Chance per tick that a leader is asked for a membership change. */
  readonly changeRate: number;
  readonly changes: { asked: number; taken: number };
}

/** `faulty: false` runs the same schedule without any fault: a check of the harness itself. */
export function runSimulation(seed: number, { faulty = true } = {}): RunSummary {
  const setup = streamOf(seed, 0);
  const size = setup.pick([3, 3, 5]);
  const maxEntriesPerMessage = setup.pick([1, 4, 64]);
  const trace: string[] = [];
  const checker = new Checker();
  // Drawn from their own stream: every earlier seed keeps its schedule of the other picks.
  const shape = streamOf(seed, 4);
  const observers = shape.pick([0, 0, 1, 2]);
  const transferRate = shape.pick([0, 0.01, 0.05]);
  const membership = streamOf(seed, 5);
  const changeRate = membership.pick([0, 0, 0.02, 0.05]);
  const spares = changeRate === 0 ? 0 : membership.pick([1, 2]);
  const cluster = new SimCluster(
    { seed, size, observers, spares, electionTicks: ELECTION_TICKS, heartbeatTicks: HEARTBEAT_TICKS, maxEntriesPerMessage },
    {
      onApply: (node, entry) => checker.onApply(node, entry),
      onTrace: (line) => {
        trace.push(line);
        if (trace.length > TRACE_LINES_MAX) trace.shift();
      },
    },
  );
  const faults: NetworkFaults = {
    dropRate: setup.pick([0, 0.02, 0.1, 0.3]), duplicateRate: setup.pick([0, 0.05, 0.2]), delayTicksMax: setup.pick([0, 2, 8]),
    longDelayRate: setup.pick([0, 0.01, 0.05]), longDelayTicksMax: LONG_DELAY_TICKS_MAX,
  };
  const run: Run = {
    seed, cluster, checker, faults: streamOf(seed, 2), rates: pickRates(setup), clients: streamOf(seed, 3), trace, roles: new Map(), faulty,
    phase: 'faults', nextValue: 0, transferRate, transferring: new Map(), transfers: { asked: 0, done: 0 },
    changeRate, changes: { asked: 0, taken: 0 },
  };
  try {
    cluster.network.faults = faulty ? faults : NO_FAULTS;
    for (let t = 0; t < FAULT_TICKS; t++) step(run);
    const convergeTicks = heal(run);
    checker.checkLogMatching(cluster);
    const counts = checker.checkFinal(cluster.leaders()[0]!.applied);
    return { seed, size, observers, transfers: run.transfers, changes: run.changes, faults, lastIndex: cluster.leaders()[0]!.applied.length, ...counts, convergeTicks };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new SimulationFailure(seed, `t${cluster.now}: ${message}`, trace);
  }
}

/** One tick of the whole world. */
function step(run: Run): void {
  const { cluster } = run;
  const faulty = run.faulty && run.phase === 'faults';
  cluster.now++;
  if (faulty) injectFaults(run);
  cluster.deliver();
  cluster.tick();
  if (run.phase === 'faults') {
    propose(run);
    transfer(run);
    changeMembership(run);
  }
  for (const node of cluster.up()) {
    // A slow disk: the Ready is persisted ticks later (and lost if the node crashes first).
    const diskTicks = faulty && run.faults.chance(0.15) ? 1 + run.faults.int(3) : 0;
    const crashPoint: CrashPoint = faulty && run.faults.chance(0.002) ? run.faults.pick(['before-persist', 'after-persist'] as const) : undefined;
    cluster.handleReady(node, diskTicks, crashPoint);
  }
  traceRoles(run);
  run.checker.afterStep(cluster);
  if (cluster.now % LOG_MATCHING_EVERY_TICKS === 0) run.checker.checkLogMatching(cluster);
}

/** How often each fault strikes per tick, chosen per seed. */
interface FaultRates {
  readonly partition: number;
  readonly crash: number;
  readonly restart: number;
  /** Chance that a crash or an isolation targets a leader (the nemesis prefers leaders). */
  readonly leaderBias: number;
}

function pickRates(setup: Prng): FaultRates {
  return {
    partition: setup.pick([0.005, 0.02, 0.05]), crash: setup.pick([0.005, 0.01, 0.03]),
    restart: setup.pick([0.03, 0.1, 0.3]), leaderBias: setup.pick([0, 0.5, 0.9]),
  };
}

/** A node to strike: a leader when the nemesis aims for one, else any node in `among`. */
function victim(run: Run, among: readonly SimNode[]): SimNode | undefined {
  const leaders = run.cluster.leaders();
  if (leaders.length > 0 && run.faults.chance(run.rates.leaderBias)) return run.faults.pick(leaders);
  return among.length > 0 ? run.faults.pick(among) : undefined;
}

function injectFaults(run: Run): void {
  const { cluster, faults, rates } = run;
  if (faults.chance(rates.partition)) {
    const isolated = victim(run, cluster.nodes)!.id;
    const split = faults.chance(0.3);
    cluster.network.partition(cluster.ids, (id) => (split ? faults.int(2) : Number(id === isolated)));
    run.trace.push(`t${cluster.now} partition ${split ? 'split' : `isolating n${isolated}`}`);
  }
  if (cluster.network.partitioned && faults.chance(0.03)) {
    cluster.network.heal();
    run.trace.push(`t${cluster.now} heal network`);
  }
  if (faults.chance(rates.crash)) {
    const node = victim(run, cluster.up());
    if (node) cluster.crash(node.id, 'fault');
  }
  const down = cluster.down();
  if (down.length > 0 && faults.chance(rates.restart)) cluster.restart(faults.pick(down).id, faults.chance(0.5));
}

/** Clients propose a unique value at a random leader. */
function propose(run: Run): void {
  const leaders = run.cluster.leaders();
  if (leaders.length === 0 || !run.clients.chance(0.3)) return;
  const node = run.clients.pick(leaders);
  const value = `v${run.nextValue++}`;
  const result = node.raft!.propose(value);
  if (result.ok) run.checker.propose(value, node.id, result.term, result.index);
}

/**
 * Now and then a leader is asked to hand leadership to another voter (or to "the most caught-up",
 * 0); a transfer counts as done once its target leads in a later term.
 */
function transfer(run: Run): void {
  const { cluster } = run;
  for (const node of cluster.leaders()) {
    const [target, term] = [...run.transferring].find(([to]) => to === node.id) ?? [];
    if (target !== undefined && node.raft!.status().term > term!) {
      run.transfers.done++;
      run.transferring.delete(target);
    }
  }
  const leaders = cluster.leaders();
  // A MsgTimeoutNow held in a stuck buffer still moves leadership when it arrives, after the
  // leader gave the transfer up (safe, and so in etcd-raft too); the quiet check after healing
  // wants an idle cluster to keep its leader, so no transfer is asked for near the end.
  if (cluster.now > TRANSFERS_UNTIL_TICK) return;
  if (leaders.length === 0 || !run.clients.chance(run.transferRate)) return;
  const leader = run.clients.pick(leaders);
  const to = run.clients.pick([0, ...leader.raft!.clusterConfig().voters.filter((id) => id !== leader.id)]);
  const { term } = leader.raft!.status();
  leader.raft!.transferLeader(to);
  const target = to === 0 ? leader.raft!.status().transferee : to;
  run.transfers.asked++;
  if (target !== 0) run.transferring.set(target, term);
  run.trace.push(`t${cluster.now} n${leader.id} asked to transfer leadership to ${to === 0 ? `the most caught-up (n${target})` : `n${to}`}`);
}

/**
 * Now and then a leader is asked for a membership change: add a member outside its
 * configuration as a learner, promote a learner, or remove a member (itself included). The
 * leader refuses what would break its rules (membership.ts); what it takes is traced.
 */
function changeMembership(run: Run): void {
  const { cluster } = run;
  if (cluster.now > TRANSFERS_UNTIL_TICK || run.changeRate === 0) return;
  const leaders = cluster.leaders();
  if (leaders.length === 0 || !run.clients.chance(run.changeRate)) return;
  const leader = run.clients.pick(leaders);
  const config = leader.raft!.clusterConfig();
  const outside = cluster.ids.filter((id) => !isMember(config, id));
  const options: ConfChange[] = [
    ...outside.map((id): ConfChange => ({ type: 'addLearner', id })),
    ...config.learners.map((id): ConfChange => ({ type: 'promote', id })),
    ...membersOf(config).map((id): ConfChange => ({ type: 'remove', id })),
  ];
  const change = run.clients.pick(options);
  run.changes.asked++;
  const result = leader.raft!.proposeConfChange(change);
  if (result.ok) run.changes.taken++;
  run.trace.push(`t${cluster.now} n${leader.id} asked to ${change.type} n${change.id}: ${result.ok ? `appended at ${result.index}` : result.code}`);
}

/** The members of the leader's configuration (every node when there is no single leader). */
function membersNow(cluster: SimCluster): SimNode[] {
  const leaders = cluster.leaders();
  if (leaders.length !== 1) return cluster.nodes;
  const config = leaders[0]!.raft!.clusterConfig();
  return cluster.nodes.filter((node) => isMember(config, node.id));
}

function traceRoles(run: Run): void {
  const { roles } = run;
  for (const node of run.cluster.up()) {
    const s = node.raft!.status();
    const key = `${s.role}@${s.term}`;
    if (roles.get(node.id) === key) continue;
    roles.set(node.id, key);
    run.trace.push(`t${run.cluster.now} n${node.id} ${s.role} term=${s.term} last=${s.lastIndex} commit=${s.commitIndex}`);
  }
  if (run.trace.length > TRACE_LINES_MAX) run.trace.splice(0, run.trace.length - TRACE_LINES_MAX);
}

/** Heals everything and ticks until the cluster converges; then checks that it stays quiet. */
function heal(run: Run): number {
  const { cluster } = run;
  run.phase = 'healed';
  cluster.network.heal();
  cluster.network.faults = NO_FAULTS;
  for (const node of cluster.down()) cluster.restart(node.id, run.faults.chance(0.5));
  run.trace.push(`t${cluster.now} healed`);
  for (let t = 0; t < CONVERGE_TICKS_MAX; t++) {
    if (converged(cluster) === 'yes') {
      checkQuiet(run);
      return t;
    }
    step(run);
  }
  throw new Error(`no convergence within ${CONVERGE_TICKS_MAX} ticks of healing: ${converged(cluster)}`);
}

/** 'yes', or why not. */
function converged(cluster: SimCluster): string {
  const leaders = cluster.leaders();
  if (leaders.length !== 1) return `${leaders.length} leaders`;
  const leader = leaders[0]!.raft!.status();
  // A change the leader has appended but not committed is not settled either.
  if (leaders[0]!.raft!.configAt(leader.commitIndex) !== leaders[0]!.raft!.clusterConfig()) return 'a membership change is uncommitted';
  for (const node of membersNow(cluster)) {
    const s = node.raft!.status();
    const desc = `n${s.id} ${s.role} term=${s.term} leader=${s.leader} commit=${s.commitIndex} applied=${s.appliedIndex} last=${s.lastIndex}`;
    if (s.term !== leader.term || s.leader !== leader.id) return `${desc} does not follow n${leader.id} (term ${leader.term})`;
    if (s.lastIndex !== leader.lastIndex || s.appliedIndex !== leader.lastIndex || node.applied.length !== leader.lastIndex) {
      const progress = JSON.stringify([...leaders[0]!.raft!.followers()]);
      return `${desc}; leader n${leader.id} last=${leader.lastIndex} commit=${leader.commitIndex}, progress ${progress}`;
    }
  }
  return 'yes';
}

/** A converged cluster with no proposals sends no entries and holds no elections. */
function checkQuiet(run: Run): void {
  const { cluster } = run;
  // Let messages still in flight from the fault phase (delayed, duplicated) play out first.
  for (let t = 0; t < ELECTION_TICKS; t++) step(run);
  const leader = cluster.leaders()[0]!.raft!.status();
  const sentBefore = cluster.network.sentWithEntries;
  for (let t = 0; t < QUIET_TICKS; t++) step(run);
  const resent = cluster.network.sentWithEntries - sentBefore;
  if (resent > 0) throw new Error(`converged cluster kept resending entries: ${resent} MsgApp with entries in ${QUIET_TICKS} ticks`);
  const now = cluster.leaders()[0]?.raft!.status();
  if (now?.id !== leader.id || now.term !== leader.term) throw new Error(`converged cluster changed leader: n${leader.id}@${leader.term} → ${now ? `n${now.id}@${now.term}` : 'none'}`);
  const logs = membersNow(cluster).map((n) => JSON.stringify(n.applied));
  if (new Set(logs).size !== 1) throw new Error('converged nodes applied different logs');
}
