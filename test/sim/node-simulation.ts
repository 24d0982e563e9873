/**
 * One seeded run of the node simulation: 3 or 5 real node hosts (node-cluster.ts) under a
 * fault phase — partitions, stale leaders (cut off, with a stalled clock), crashes and restarts,
 * slow disks, a lossy, duplicating, reordering network — while clients (node-workload.ts) send
 * requests, set and remove watches, keep their sessions alive and now and then die, and readers
 * read through ReadIndex at any node, then a healed phase (everyone up and connected, no faults,
 * no new requests; live clients still send keepalives) that must converge: one leader everyone
 * follows, every host applied the whole log. It then runs on, converged, long enough for the
 * leader to expire every session nobody keeps alive. The cheap checkers run after every event,
 * the rest at the end (node-checkers.ts). Everything is simulated: no sleeps, no real timer ever
 * fires (a read barrier's hour-long timeout does not); one seed replays exactly.
 *
 * Some seeds add observers (non-voting members: they serve reads, sessions, watches and
 * forwarded writes like any follower) and ask leaders now and then to hand leadership over
 * (NodeHost.transferLeader); the checks are the same.
 *
 * Some seeds change the membership during the fault phase (NodeHost.changeMembership, the
 * admin routes' path): members removed (voters, the leader itself, observers), removed ones
 * added back as learners, learners promoted — mixed with the crashes and partitions. The heal
 * adds every node back (as a learner at least) before convergence, so the final checks are the
 * same, over every node.
 */
import { epochOf } from '../../src/core/consensus/zxid.ts';
import { isMember, membersOf } from '../../src/core/consensus/cluster-config.ts';
import type { ConfChange } from '../../src/core/consensus/conf-change.ts';
import type { Prng } from '../support/prng.ts';
import { NO_FAULTS, type NetworkFaults } from './network.ts';
import { NodeChecker, type FinalCounts } from './node-checkers.ts';
import type { ForwardingCounts } from './node-forwarding.ts';
import { NodeCluster, streamOf, type NodeClusterOptions, type SimNode } from './node-cluster.ts';
import { Workload, type WorkloadOptions } from './node-workload.ts';

const ELECTION_TICKS = 10;
export const FAULT_TICKS = 200;
/** Longest a message is held (a stuck buffer). */
const LONG_DELAY_TICKS_MAX = 6 * ELECTION_TICKS;
/**
 * The last tick a transfer is asked: a MsgTimeoutNow held in a stuck buffer still moves
 * leadership when it lands (safe, as in etcd-raft), which must happen before the heal.
 */
const TRANSFERS_UNTIL_TICK = FAULT_TICKS - LONG_DELAY_TICKS_MAX - 2 * ELECTION_TICKS;
const CONVERGE_TICKS_MAX = 40 * ELECTION_TICKS;
/**
 * Ticks run once converged: what is in flight plays out, and the longest session timeout (40
 * ticks) plus the expiry bound of node-checkers.ts (2 election timeouts) passes.
 */
const CONVERGED_TICKS = 7 * ELECTION_TICKS;
const TRACE_LINES_MAX = 80;

export interface NodeRunSummary extends FinalCounts {
  readonly seed: number;
  readonly size: number;
  readonly observers: number;
  /** Leadership transfers asked of a leader. */
  readonly transfers: number;
  /** Membership changes asked of a leader, and those it took (appended). */
  readonly changes: { readonly asked: number; readonly taken: number };
  readonly convergeTicks: number;
  readonly events: number;
  readonly crashes: number;
  readonly reads: number;
  readonly checkpoints: number;
  readonly installs: number;
  /** Client deaths (their sessions must expire). */
  readonly deaths: number;
  /** Read barriers (ReadIndex) asked for and answered: in all, at followers, at nodes cut off from a quorum. */
  readonly barriers: { readonly asked: Tally; readonly answered: Tally };
  /** Requests forwarded from a follower to the leader as proposals, answered and lost; proposals leaders took, and duplicates they recognized. */
  readonly forwarding: ForwardingCounts;
}

interface Tally {
  readonly all: number;
  readonly followers: number;
  readonly cutOff: number;
}

export class NodeSimulationFailure extends Error {
  constructor(readonly seed: number, message: string, readonly trace: readonly string[]) {
    super(message);
  }
}

interface FaultRates {
  readonly partition: number;
  readonly crash: number;
  readonly restart: number;
  readonly slowDisk: number;
  /**
   * Chance per tick of a stale leader: the leader is cut off and its consensus clock stalls (a
   * pause with a network fault), so its check-quorum is late and it goes on taking itself for the
   * leader while the others elect a new one — the case ReadIndex exists for.
   */
  readonly staleLeader: number;
  /** Chance that a crash or an isolation targets a leader. */
  readonly leaderBias: number;
  /** Chance per tick that a leader is asked to hand leadership to another voter. */
  readonly transfer: number;
}

interface Run {
  readonly cluster: NodeCluster;
  readonly checker: NodeChecker;
  readonly workload: Workload;
  readonly faults: Prng;
  readonly rates: FaultRates;
  readonly trace: string[];
  readonly say: (line: string) => void;
  readonly roles: Map<number, string>;
  readonly faulty: boolean;
  phase: 'faults' | 'healed';
  /** The tick a stale leader's episode ends (see depose). */
  staleUntil: number;
  /** Its own stream: seeds that never transfer keep their schedules. */
  readonly transfers: Prng;
  transfersAsked: number;
  /** Its own stream and rate: seeds that never change membership keep their schedules. */
  readonly membership: Prng;
  readonly changeRate: number;
  readonly changes: { asked: number; taken: number };
  readonly onTick: ((cluster: NodeCluster) => void) | undefined;
}

export interface NodeRunOptions {
  /** false: the same schedule without any fault (a check of the harness itself). */
  readonly faulty?: boolean;
  /** Sees every trace line (a failure keeps only the last ones). */
  readonly onTrace?: (line: string) => void;
  /** Called after every tick (for debugging a seed). */
  readonly onTick?: (cluster: NodeCluster) => void;
}

/** What a seed chooses before the run: sizes, limits, how hard each fault strikes. */
interface Setup {
  readonly cluster: NodeClusterOptions;
  readonly workload: WorkloadOptions;
  readonly network: NetworkFaults;
  readonly rates: FaultRates;
}

function setupOf(seed: number): Setup {
  const s = streamOf(seed, 0);
  const base = {
    seed, size: s.pick([3, 3, 5]), electionTicks: ELECTION_TICKS, heartbeatTicks: s.pick([1, 2, 3]),
    maxEntriesPerMessage: s.pick([1, 4, 64]), maxCommittedPerReady: s.pick([1, 3, 1024]), maxPendingWrites: s.pick([8, 32, 100]),
  };
  const clients = { clients: s.pick([4, 8, 12]), rate: s.pick([0.2, 0.5, 0.9]), strayRate: s.pick([0, 0.05, 0.2]) };
  const network: NetworkFaults = {
    dropRate: s.pick([0, 0.02, 0.1, 0.3]), duplicateRate: s.pick([0, 0.05, 0.2]), delayTicksMax: s.pick([0, 2, 8]),
    longDelayRate: s.pick([0, 0.01, 0.05]), longDelayTicksMax: LONG_DELAY_TICKS_MAX,
  };
  const rates = {
    partition: s.pick([0.005, 0.02, 0.05]), crash: s.pick([0.005, 0.01, 0.03]), restart: s.pick([0.05, 0.15, 0.3]),
    slowDisk: s.pick([0, 0.02, 0.1]), leaderBias: s.pick([0, 0.5, 0.9]),
  };
  // Picked last so that the earlier picks stay as they were (the schedules differ anyway once
  // the workload sends watch requests and reads).
  const sessions = { checkpointEvery: s.pick([0, 10, 40]), maxSessions: s.pick([8, 16, 1000]) };
  const lives = { deathRate: s.pick([0, 0.001, 0.004]), pauseRate: s.pick([0, 0.002, 0.01]) };
  const watches = { watchRate: s.pick([0.1, 0.25, 0.4]), readers: { readers: s.pick([1, 2, 4]), rate: s.pick([0.1, 0.3, 0.6]) } };
  // Observers and transfers from a stream of their own: a seed without them keeps its schedule.
  const shape = streamOf(seed, 11);
  const observers = shape.pick([0, 0, 1, 2]);
  const transfer = shape.pick([0, 0.01, 0.04]);
  const cluster: NodeClusterOptions = { ...base, ...sessions, observers, outboxEventsMax: s.pick([2, 8, 64]) };
  const staleLeader = s.pick([0, 0.01, 0.03]);
  const forwarding = { forwardRate: s.pick([0.1, 0.2, 0.4]) };
  return { cluster, workload: { ...clients, ...lives, ...watches, ...forwarding }, network, rates: { ...rates, staleLeader, transfer } };
}

export async function runNodeSimulation(seed: number, { faulty = true, onTrace, onTick }: NodeRunOptions = {}): Promise<NodeRunSummary> {
  const setup = setupOf(seed);
  const trace: string[] = [];
  const say = (line: string) => {
    trace.push(line);
    onTrace?.(line);
  };
  const checker = new NodeChecker();
  // The hooks run only once the cluster is stepped, after `run` is complete.
  let run: Run | undefined;
  const cluster = new NodeCluster(setup.cluster, {
    onApplied: (node, output, zxid, envelope) => {
      checker.onApplied(node, output, zxid, envelope);
      run!.workload.onApplied(node, output, zxid, envelope);
    },
    afterRun: (node) => {
      checker.afterRun(node);
      run!.workload.afterRun(node);
    },
    afterEvent: () => {
      checker.afterEvent(cluster);
      traceRoles(run!);
    },
    onCheckpointInstalled: (node, zxid) => {
      checker.onCheckpointInstalled(node, zxid);
      run!.workload.onCheckpointInstalled(node);
    },
    onRestart: (node) => {
      checker.onRestart(node);
      run!.workload.onRestart(node);
    },
    trace: say,
  });
  const streams = { requests: streamOf(seed, 3), life: streamOf(seed, 6), watches: streamOf(seed, 7), reads: streamOf(seed, 8), retries: streamOf(seed, 9) };
  const workload = new Workload(cluster, streams, setup.workload);
  run = {
    cluster, checker, workload, faults: streamOf(seed, 2), rates: setup.rates, trace, say, roles: new Map(), faulty, phase: 'faults', staleUntil: 0, onTick,
    transfers: streamOf(seed, 12), transfersAsked: 0,
    membership: streamOf(seed, 13), changeRate: streamOf(seed, 14).pick([0, 0, 0.01, 0.03]), changes: { asked: 0, taken: 0 },
  };
  try {
    cluster.network.faults = faulty ? setup.network : NO_FAULTS;
    for (let t = 0; t < FAULT_TICKS; t++) await step(run);
    const healedTick = cluster.tick;
    const convergeTicks = await heal(run);
    const counts = checker.checkFinal(cluster, workload, { healedTick, convergedTick: healedTick + convergeTicks, electionTicks: ELECTION_TICKS });
    return { seed, size: setup.cluster.size, observers: setup.cluster.observers ?? 0, transfers: run.transfersAsked, changes: run.changes, convergeTicks, events: cluster.events, crashes: cluster.crashes,
      reads: workload.reads.filter((r) => r.kind === 'leader').length, checkpoints: cluster.checkpoints, installs: cluster.installs, deaths: workload.deaths,
      barriers: { asked: { ...workload.readers.asked }, answered: { ...workload.readers.answered } }, forwarding: cluster.forwarding.counts, ...counts };
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new NodeSimulationFailure(seed, `t${cluster.tick}: ${message}`, trace.slice(-TRACE_LINES_MAX));
  }
}

/** One tick of the whole world. */
async function step(run: Run): Promise<void> {
  const { cluster, workload } = run;
  cluster.tick++;
  if (run.faulty && run.phase === 'faults') injectFaults(run);
  if (run.phase === 'faults') workload.dieOrPause();
  if (run.phase === 'faults') askTransfer(run);
  if (run.phase === 'faults') askMembershipChange(run);
  else addEveryNodeBack(run);
  workload.sendKeepalives();
  cluster.tickHosts();
  if (run.phase === 'faults') workload.submitSome();
  await workload.flush();
  await cluster.settleTick(() => workload.flush());
  if (workload.violations.length > 0) throw new Error(workload.violations.join('; '));
  run.onTick?.(cluster);
}

/** Now and then a leader is asked to hand leadership to another voter (0: its most caught-up). */
function askTransfer(run: Run): void {
  const { cluster } = run;
  if (cluster.tick > TRANSFERS_UNTIL_TICK || run.rates.transfer === 0 || !run.transfers.chance(run.rates.transfer)) return;
  const leaders = cluster.leaders();
  if (leaders.length === 0) return;
  const leader = run.transfers.pick(leaders);
  const to = run.transfers.pick([0, ...cluster.voters.filter((id) => id !== leader.id)]);
  leader.host!.transferLeader(to);
  run.transfersAsked++;
  run.say(`t${cluster.tick} n${leader.id} asked to transfer leadership to ${to === 0 ? 'the most caught-up voter' : `n${to}`}`);
}

/**
 * Now and then a leader is asked for a membership change: remove a member (itself included), add
 * a node outside its configuration back as a learner, or promote a learner. It may refuse.
 */
function askMembershipChange(run: Run): void {
  const { cluster } = run;
  if (cluster.tick > TRANSFERS_UNTIL_TICK || run.changeRate === 0 || !run.membership.chance(run.changeRate)) return;
  const leaders = cluster.leaders();
  if (leaders.length === 0) return;
  const leader = run.membership.pick(leaders);
  const config = leader.consensus!.clusterConfig();
  const options: ConfChange[] = [
    ...cluster.ids.filter((id) => !isMember(config, id)).map((id): ConfChange => ({ type: 'addLearner', id })),
    ...config.learners.map((id): ConfChange => ({ type: 'promote', id })),
    ...membersOf(config).map((id): ConfChange => ({ type: 'remove', id })),
  ];
  changeAt(run, leader, run.membership.pick(options));
}

/** Once healed, every node outside the leader's configuration is added back (a learner): the final checks cover every node. */
function addEveryNodeBack(run: Run): void {
  const leaders = run.cluster.leaders();
  if (leaders.length !== 1) return;
  const config = leaders[0]!.consensus!.clusterConfig();
  const missing = run.cluster.ids.find((id) => !isMember(config, id));
  if (missing !== undefined) changeAt(run, leaders[0]!, { type: 'addLearner', id: missing });
}

function changeAt(run: Run, leader: SimNode, change: ConfChange): void {
  run.changes.asked++;
  const before = leader.consensus!.clusterConfig();
  leader.host!.changeMembership(change).then((outcome) => {
    if (outcome.ok) return;
    if (run.phase === 'faults') run.say(`t${run.cluster.tick} n${leader.id} refused to ${change.type} n${change.id}: ${outcome.code}`);
  }, () => undefined);
  // Taken or not is known at once (the promise settles on commit): the configuration in force moved.
  if (leader.consensus!.clusterConfig() !== before) {
    run.changes.taken++;
    run.say(`t${run.cluster.tick} n${leader.id} appended: ${change.type} n${change.id}`);
  }
}

/** A node to strike: a leader when the nemesis aims for one, else any node in `among`. */
function victim(run: Run, among: readonly SimNode[]): SimNode | undefined {
  const leaders = run.cluster.leaders();
  if (leaders.length > 0 && run.faults.chance(run.rates.leaderBias)) return run.faults.pick(leaders);
  return among.length > 0 ? run.faults.pick(among) : undefined;
}

/**
 * A stale leader: the leader is cut off and its clock stalls for 20 to 60 ticks; the network
 * stays so (no other partition, no heal) until its clock runs again. Reads at it must wait.
 */
function depose(run: Run): void {
  const { cluster, faults } = run;
  const leaders = cluster.leaders();
  if (leaders.length === 0) return;
  const leader = faults.pick(leaders);
  cluster.network.partition(cluster.ids, (id) => Number(id === leader.id));
  leader.clockStalledUntil = cluster.tick + 20 + faults.int(41);
  run.staleUntil = leader.clockStalledUntil;
  run.say(`t${cluster.tick} partition isolating leader n${leader.id}, its clock stalled until t${leader.clockStalledUntil}`);
}

function injectFaults(run: Run): void {
  const { cluster, faults, rates } = run;
  if (cluster.tick >= run.staleUntil && faults.chance(rates.staleLeader)) depose(run);
  // During a stale leader's episode the network stays as it is.
  const calm = cluster.tick >= run.staleUntil;
  if (calm && faults.chance(rates.partition)) {
    const isolated = victim(run, cluster.nodes)!.id;
    const split = faults.chance(0.3);
    cluster.network.partition(cluster.ids, (id) => (split ? faults.int(2) : Number(id === isolated)));
    run.say(`t${cluster.tick} partition ${split ? 'split' : `isolating n${isolated}`}`);
  }
  if (calm && cluster.network.partitioned && faults.chance(0.05)) {
    cluster.network.heal();
    run.say(`t${cluster.tick} heal network`);
  }
  // Mostly a minority down at once, so that the cluster gets work done; now and then more.
  const minority = Math.floor((cluster.voters.length - 1) / 2);
  if (faults.chance(rates.crash) && (cluster.down().length < minority || faults.chance(0.1))) {
    const node = victim(run, cluster.up());
    if (node) cluster.crash(node.id, 'fault');
  }
  if (faults.chance(rates.crash / 2)) {
    // Arms a crash inside the victim's next loop that persists something.
    const node = victim(run, cluster.up());
    if (node && (cluster.down().length < minority || faults.chance(0.1))) node.store.crashPoint = faults.pick(['before-persist', 'after-persist'] as const);
  }
  const down = cluster.down();
  if (down.length > 0 && faults.chance(rates.restart)) cluster.restart(faults.pick(down).id);
  for (const node of cluster.up()) {
    if (faults.chance(rates.slowDisk)) node.slowUntil = cluster.tick + 1 + faults.int(4);
  }
}

/** Heals everything and ticks until the cluster converges, then a little longer, converged still. */
async function heal(run: Run): Promise<number> {
  const { cluster } = run;
  run.phase = 'healed';
  run.workload.heal();
  cluster.network.heal();
  cluster.network.faults = NO_FAULTS;
  for (const node of cluster.down()) cluster.restart(node.id);
  for (const node of cluster.nodes) {
    node.slowUntil = 0;
    node.clockStalledUntil = 0;
    node.store.crashPoint = undefined;
  }
  run.say(`t${cluster.tick} healed`);
  for (let t = 0; t < CONVERGE_TICKS_MAX; t++) {
    if (converged(cluster) === 'yes') {
      // Let what is still in flight from the fault phase (long delays, duplicates) play out.
      for (let i = 0; i < CONVERGED_TICKS; i++) await step(run);
      const still = converged(cluster);
      if (still !== 'yes') throw new Error(`converged, then diverged again: ${still}`);
      return t;
    }
    await step(run);
  }
  throw new Error(`no convergence within ${CONVERGE_TICKS_MAX} ticks of healing: ${converged(cluster)}`);
}

/** 'yes', or why not. */
function converged(cluster: NodeCluster): string {
  const leaders = cluster.leaders();
  if (leaders.length !== 1) return `${leaders.length} leaders`;
  const leaderHost = leaders[0]!.host!;
  const leader = leaderHost.status();
  if (epochOf(leaderHost.appliedZxid) !== leader.term) return `leader n${leader.id} has not applied an entry of its term ${leader.term}`;
  const config = leaders[0]!.consensus!.clusterConfig();
  const outside = cluster.ids.filter((id) => !isMember(config, id));
  if (outside.length > 0) return `n${outside.join(', n')} not yet added back`;
  if (config !== leaders[0]!.consensus!.configAt(leader.commitIndex)) return 'a membership change is uncommitted';
  for (const node of cluster.nodes) {
    const s = node.host!.status();
    const desc = `n${s.id} ${s.role} term=${s.term} leader=${s.leader} commit=${s.commitIndex} applied=${s.appliedIndex} last=${s.lastIndex}`;
    if (s.term !== leader.term || s.leader !== leader.id) return `${desc} does not follow n${leader.id} (term ${leader.term})`;
    if (s.lastIndex !== leader.lastIndex || s.appliedIndex !== leader.lastIndex) return `${desc}; leader last=${leader.lastIndex}`;
  }
  if (cluster.queuedRuns > 0) return `${cluster.queuedRuns} host loops queued`;
  return 'yes';
}

function traceRoles(run: Run): void {
  for (const node of run.cluster.up()) {
    const s = node.host!.status();
    const key = `${s.role}@${s.term}`;
    if (run.roles.get(node.id) === key) continue;
    run.roles.set(node.id, key);
    run.say(`t${run.cluster.tick} n${node.id} ${s.role} term=${s.term} last=${s.lastIndex} commit=${s.commitIndex}`);
  }
  if (run.trace.length > 4 * TRACE_LINES_MAX) run.trace.splice(0, run.trace.length - TRACE_LINES_MAX);
}
