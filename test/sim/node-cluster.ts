/**
 * Several REAL node hosts in one process (src/node/node-host.ts around the Raft core, a
 * MemLogStore, a DataTree), driven by a seeded scheduler: each host's `schedule` pushes its loop
 * into this cluster's queue, its transport sends into the seeded network (test/sim/network.ts),
 * and the simulated clock advances in ticks. Within a tick the due messages and the queued host
 * loops run in a seeded interleaving, one event at a time; the history clock (`time`) counts
 * events, so every call and return of the workload gets its own instant.
 *
 * A crash drops the host (consensus, tree, queued loop, waiters; closing it ends the waits of its
 * reads) and every message in flight to it; what the host appended to its MemLogStore stays (an
 * append is the durable step). A crash may also strike inside the host's loop, just before or
 * just after it persists a Ready (the store throws; the host fails its waiters and stops, as a
 * dying process would). A restart
 * rebuilds the host from that store: a new DataTree, Raft from applied index 0 and the store's
 * hard state, then host.drain() replays the committed log through the host loop.
 *
 * Each host incarnation also runs the leader's real duties: the Reaper (src/node/reaper.ts), once
 * a tick, proposes container and TTL cleanup; a SessionManager (src/node/session-manager.ts)
 * opens, keeps alive and closes sessions, and its expiry rounds (on SimTimers, fired once a tick
 * after the consensus ticks) turn a session's silence into an expiry transaction on the leader.
 * Simulated time is `tick × MS_PER_TICK` ms for both; session tokens come from the seed's stream.
 * Each incarnation also has the real Pipeline (node-forwarding.ts): a request at a follower is
 * forwarded to the leader as a proposal over the simulated network, its answer comes back there.
 * A node's consensus clock may stall (its host neither ticks nor notices a lost quorum) while the
 * rest of the world goes on.
 */
import { defaultConfig, type Config } from '../../src/config.ts';
import type { RaftMessage } from '../../src/core/consensus/messages.ts';
import { Raft } from '../../src/core/consensus/raft.ts';
import type { ClusterConfig } from '../../src/core/consensus/cluster-config.ts';
import type { Entry, HardState, Role } from '../../src/core/consensus/types.ts';
import { DataTree } from '../../src/core/tree/data-tree.ts';
import type { ApplyOutput } from '../../src/core/tree/results.ts';
import { epochOf, indexOf } from '../../src/core/consensus/zxid.ts';
import type { TxnEnvelope } from '../../src/core/tree/txn.ts';
import type { CheckpointImage, CheckpointSource } from '../../src/node/checkpoints.ts';
import type { Applier } from '../../src/node/applier.ts';
import { NodeHost } from '../../src/node/node-host.ts';
import { Reaper } from '../../src/node/reaper.ts';
import { SessionManager } from '../../src/node/session-manager.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { MemLogStore } from '../../src/storage/mem-log-store.ts';
import { Prng } from '../support/prng.ts';
import { SimNetwork } from './network.ts';
import { SimTimers, SimTokens } from './node-timers.ts';
import { isForwardFrame, SimForwarding, type SimPeerMessage } from './node-forwarding.ts';
import type { Pipeline } from '../../src/node/pipeline/pipeline.ts';

/** Simulated milliseconds per tick: the hosts' clock (session deadlines, TTLs, txn times). */
export const MS_PER_TICK = 100;
/**
 * ZooKeeper's tickTime for the sessions: timeouts are negotiated into [2, 20] × 1000 ms, that is
 * 20 to 200 ticks, two election timeouts at the least.
 */
export const SESSION_TICK_TIME_MS = 1000;
/**
 * A request's deadline (its proposal's, forwarded or not): 50 ticks, past a client's patience
 * (a late answer still counts) and within the ticks a converged cluster runs, so every request
 * at a member that never crashed is answered by the end.
 */
export const PROPOSAL_TIMEOUT_MS = 50 * MS_PER_TICK;

export interface NodeClusterOptions {
  readonly seed: number;
  /** Voters: ids 1..size. */
  readonly size: number;
  /** Observers (the core's learners) after them: ids size+1..size+observers. */
  readonly observers?: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly maxEntriesPerMessage: number;
  readonly maxCommittedPerReady: number;
  readonly maxPendingWrites: number;
  /** Take a checkpoint and compact the log once it holds this many entries (0: never). */
  readonly checkpointEvery: number;
  /** Sessions a host holds (tree plus opens in flight) before opens get THROTTLEDOP. */
  readonly maxSessions: number;
  /** Events a session's outbox keeps (small, so that busy sessions overflow). */
  readonly outboxEventsMax: number;
}

export type CrashPoint = 'before-persist' | 'after-persist' | undefined;

/** Thrown by an armed store: the host dies inside its loop, before or right after persisting a Ready. */
class CrashSignal extends Error {}

/** The durable log, which can be armed to kill its host at the next append. */
export class SimLogStore extends MemLogStore {
  crashPoint: CrashPoint;

  override append(entries: readonly Entry[], hardState: HardState | undefined): void {
    const point = this.crashPoint;
    this.crashPoint = undefined;
    if (point === 'before-persist') throw new CrashSignal(point);
    super.append(entries, hardState);
    if (point === 'after-persist') throw new CrashSignal(point);
  }
}

export interface SimNode {
  readonly id: number;
  /** Survives crashes: the durable log and hard state. */
  readonly store: SimLogStore;
  /** Survives crashes: the latest checkpoint (the log starts right after it). */
  checkpoint: CheckpointImage | undefined;
  /** Survives crashes: the cluster configuration as of `checkpoint` (membership changes compacted into it). */
  checkpointConfig: ClusterConfig | undefined;
  /** The incarnation's consensus core (undefined while crashed): its configuration, for checkpoints and the harness. */
  consensus: Raft | undefined;
  /** Undefined while crashed. */
  host: NodeHost | undefined;
  /** The leader's cleanup duty (container and TTL nodes), run by the host's incarnation. */
  reaper: Reaper | undefined;
  /** Sessions (opens, keepalives, closes, the leader's expiries) of the host's incarnation. */
  sessions: SessionManager | undefined;
  /** The incarnation's timers (session expiry rounds); dropped, pending and all, by a crash. */
  timers: SimTimers | undefined;
  /** The incarnation's pipeline: where its clients' requests go, forwarded to the leader from a follower. */
  pipeline: Pipeline | undefined;
  /** Bumped by every crash and restart: loops and messages of an older one are dropped. */
  incarnation: number;
  restarts: number;
  /** A slow disk: the node's loop does not run before this tick (it still steps and ticks). */
  slowUntil: number;
  /**
   * A stalled clock (a GC pause, a suspended VM): the node's consensus does not tick before this
   * tick, so a leader cut off meanwhile does not notice it lost its quorum (its check-quorum is
   * late) while the others elect a new one. Its loop still runs, messages still arrive.
   */
  clockStalledUntil: number;
  /** The last role the host told its onRoleChange listeners (where leader duties start and stop). */
  toldRole: Role;
  /** The tick of the host's last change to leader: where it granted every session a fresh timeout. */
  leaderSinceTick: number;
  /** The tick its host incarnation was built (0 for the first). */
  bootTick: number;
}

export interface ClusterHooks {
  /** A host applied a transaction (its onApplied listener). */
  onApplied(node: SimNode, output: ApplyOutput, zxid: number, envelope: TxnEnvelope): void;
  /** A host replaced its tree with the leader's checkpoint. */
  onCheckpointInstalled(node: SimNode, zxid: number): void;
  /** A host's loop just ran (reads are taken here). */
  afterRun(node: SimNode): void;
  /** After every event (cheap invariants). */
  afterEvent(): void;
  /** A host was rebuilt from its store (before it replays). */
  onRestart(node: SimNode): void;
  trace(line: string): void;
}

interface ScheduledRun {
  readonly node: SimNode;
  readonly incarnation: number;
  readonly run: () => void;
}

/** Events (deliveries and host loops) in one tick, at most: past it the tick is a livelock. */
const EVENTS_PER_TICK_MAX = 20_000;

const LOGGER = createLogger('silent');
let metrics: Metrics | undefined;

/** One registry for every simulated host: the host only counts and times, nobody scrapes. */
function sharedMetrics(): Metrics {
  metrics ??= new Metrics({ znodeCount: () => 0, logEntries: () => 0, appliedZxid: () => 0 });
  return metrics;
}

/** Derives an independent stream from the run's seed (one per component). */
export function streamOf(seed: number, stream: number): Prng {
  let h = Math.imul(seed ^ Math.imul(stream + 1, 0x9e3779b1), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return new Prng(h ^ (h >>> 16));
}

/** An error raised by a host itself (its loop threw: a broken invariant in src/). */
export class HostFailure extends Error {
  override readonly name = 'HostFailure';
}

export class NodeCluster {
  /** The simulated clock, in consensus ticks. */
  tick = 0;
  /** The history clock: one unit per event. */
  time = 0;
  readonly nodes: SimNode[];
  readonly ids: number[];
  readonly network: SimNetwork<SimPeerMessage>;
  /** Proposals forwarded over the network, and every incarnation's pipeline. */
  readonly forwarding: SimForwarding;
  /** Every host's session tokens: one stream, so the workload can tell which token an open got. */
  readonly tokens: SimTokens;
  private readonly sessionConfig: Config;
  private runs: ScheduledRun[] = [];
  /** The target's incarnation when each message was sent: a crash loses what was in flight to it. */
  private readonly sentTo = new WeakMap<SimPeerMessage, number>();
  private readonly order: Prng;
  events = 0;
  crashes = 0;
  /** Checkpoints installed from a leader, and taken (the log compacted behind them). */
  installs = 0;
  checkpoints = 0;

  constructor(readonly options: NodeClusterOptions, private readonly hooks: ClusterHooks) {
    this.ids = Array.from({ length: options.size + (options.observers ?? 0) }, (_, i) => i + 1);
    this.network = new SimNetwork<SimPeerMessage>(streamOf(options.seed, 1));
    this.order = streamOf(options.seed, 4);
    this.tokens = new SimTokens(streamOf(options.seed, 5));
    this.sessionConfig = defaultConfig({
      tickTimeMs: SESSION_TICK_TIME_MS, maxSessions: options.maxSessions, maxWatchesPerSession: 16, outboxEventsMax: options.outboxEventsMax,
      maxPendingWrites: options.maxPendingWrites,
    });
    this.forwarding = new SimForwarding({
      send: (message) => this.send([message]), nowMs: () => this.tick * MS_PER_TICK, limits: this.sessionConfig, logger: LOGGER, rng: streamOf(options.seed, 9),
    });
    this.nodes = this.ids.map((id) => ({
      id, store: new SimLogStore(), checkpoint: undefined, checkpointConfig: undefined, consensus: undefined, host: undefined, reaper: undefined, sessions: undefined, timers: undefined, pipeline: undefined,
      incarnation: 0, restarts: 0, slowUntil: 0, clockStalledUntil: 0, toldRole: 'follower' as Role, leaderSinceTick: 0, bootTick: 0,
    }));
    for (const node of this.nodes) this.boot(node);
  }

  /** The members that vote (the rest are observers). */
  get voters(): number[] {
    return this.ids.slice(0, this.options.size);
  }

  private boot(node: SimNode): void {
    const rng = streamOf(this.options.seed, 100 + node.id * 1000 + node.restarts);
    const o = this.options;
    const image = node.checkpoint;
    // The configuration the log starts from: the checkpoint's (membership changes behind it), else the founders'.
    const base = node.checkpointConfig;
    const consensus = new Raft({
      id: node.id, members: base?.voters ?? this.voters, learners: base?.learners ?? this.ids.slice(o.size), log: node.store,
      hardState: node.store.hardState(), appliedIndex: image?.index ?? 0, promoteLagMax: 50,
      electionTicks: o.electionTicks, heartbeatTicks: o.heartbeatTicks, random: () => rng.next(),
      maxEntriesPerMessage: o.maxEntriesPerMessage, maxCommittedPerReady: o.maxCommittedPerReady,
    });
    const incarnation = node.incarnation;
    const host = new NodeHost({
      consensus, log: node.store, metrics: sharedMetrics(), logger: LOGGER, maxPendingWrites: o.maxPendingWrites,
      tree: image ? new DataTree(image.nodes, image.zxid, image.sessions, image.watches, image.requests) : new DataTree(),
      checkpoints: this.checkpointsOf(node),
      transport: { send: (messages) => this.send(messages) },
      schedule: (run) => this.runs.push({ node, incarnation, run }),
    });
    node.toldRole = 'follower';
    node.host = host;
    node.consensus = consensus;
    node.bootTick = this.tick;
    const nowMs = () => this.tick * MS_PER_TICK;
    node.reaper = new Reaper(host, nowMs, LOGGER);
    node.timers = new SimTimers(nowMs);
    node.sessions = new SessionManager(host, this.sessionConfig, nowMs, LOGGER, {
      timers: node.timers, newToken: () => this.tokens.next(), proposalTimeoutMs: PROPOSAL_TIMEOUT_MS,
    });
    // The same appliers as CorralNode's, in the same order, with the checkers' hooks first (the
    // simulation has no dedup, change feed or checkpointer: maybeCheckpoint stands for the last).
    const hooks: Applier = {
      applied: (output, zxid, envelope) => this.hooks.onApplied(node, output, zxid, envelope),
      checkpointInstalled: (zxid) => this.hooks.onCheckpointInstalled(node, zxid),
      roleChanged: (role) => {
        node.toldRole = role;
        if (role === 'leader') node.leaderSinceTick = this.tick;
      },
    };
    host.setAppliers([hooks, node.sessions]);
    // Following before a restart's replay (CorralNode follows after it): the replayed sessions are
    // then tracked as they are applied rather than as recovered, with the same fresh deadlines.
    node.sessions.follow();
    node.pipeline = this.forwarding.pipelineOf(node.id, host, node.sessions, node.timers);
    node.sessions.start();
  }

  /** The node's durable checkpoint, as a host sends and installs it. */
  private checkpointsOf(node: SimNode): CheckpointSource {
    return {
      load: (index) => (node.checkpoint?.index === index ? node.checkpoint : undefined),
      install: (image, config) => {
        node.checkpoint = image;
        node.checkpointConfig = config;
        node.store.installSnapshot(image.index, image.term);
        this.installs++;
        this.hooks.trace(`t${this.tick} n${node.id} installs checkpoint ${image.index}`);
      },
    };
  }

  /**
   * The production Checkpointer writes in chunks over event-loop turns; here the whole checkpoint
   * is one durable step taken between host loops, then the log is compacted behind it.
   */
  private maybeCheckpoint(node: SimNode): void {
    const host = node.host;
    const every = this.options.checkpointEvery;
    if (!host || every === 0 || node.store.size() < every) return;
    const tree = host.tree;
    const zxid = tree.appliedZxid;
    const index = indexOf(zxid);
    if (index <= node.store.firstIndex() - 1) return;
    node.checkpoint = { index, term: epochOf(zxid), zxid, nodes: tree.snapshot(), sessions: tree.sessions.all(), watches: tree.watches.all(), requests: tree.requests.all() };
    node.checkpointConfig = node.consensus!.configAt(index);
    node.store.compact(index, epochOf(zxid));
    this.checkpoints++;
  }

  node(id: number): SimNode {
    const node = this.nodes[id - 1];
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  up(): SimNode[] {
    return this.nodes.filter((n) => n.host !== undefined);
  }

  down(): SimNode[] {
    return this.nodes.filter((n) => n.host === undefined);
  }

  leaders(): SimNode[] {
    return this.up().filter((n) => n.host!.status().role === 'leader');
  }

  get queuedRuns(): number {
    return this.runs.filter((r) => r.incarnation === r.node.incarnation).length;
  }

  crash(id: number, why: string): void {
    const node = this.node(id);
    const host = node.host;
    if (!host) return;
    // What a dying process's callers see: their waits end (closing settles them at once, without awaiting).
    host.close(0).catch((error: unknown) => this.hooks.trace(`t${this.tick} n${id} close failed: ${String(error)}`));
    node.host = undefined;
    node.consensus = undefined;
    node.reaper = undefined;
    node.sessions = undefined;
    node.timers = undefined;
    // Its forwards in flight end (CONNECTIONLOSS); the answers still on the way find no one.
    node.pipeline?.close();
    node.pipeline = undefined;
    this.crashes++;
    node.store.crashPoint = undefined;
    node.incarnation++;
    node.slowUntil = 0;
    node.clockStalledUntil = 0;
    this.runs = this.runs.filter((r) => r.node !== node);
    this.hooks.trace(`t${this.tick} crash n${id} (${why}) last=${node.store.lastIndex()} ${JSON.stringify(node.store.hardState())}`);
  }

  /** Rebuilds a crashed node from its store and replays its committed log through the host loop. */
  restart(id: number): void {
    const node = this.node(id);
    if (node.host) return;
    node.incarnation++;
    node.restarts++;
    this.hooks.onRestart(node);
    this.boot(node);
    this.time++;
    this.guard(node, () => node.host!.drain());
    const s = node.host!.status();
    this.hooks.trace(`t${this.tick} restart n${id} last=${s.lastIndex} commit=${s.commitIndex} term=${s.term} applied=${s.appliedIndex}`);
    // A lone voter leads from its restart on: the checkers see it at this tick, not the next one's
    // first event (which made a leader restarted while healing look a tick younger than it is).
    this.hooks.afterEvent();
  }

  /** One consensus tick on every running host (a cut-off node keeps its own clock; a stalled one none), then leader duties. */
  tickHosts(): void {
    for (const node of this.up()) if (node.clockStalledUntil <= this.tick) this.guard(node, () => node.host!.tick());
    for (const node of this.up()) node.pipeline!.tick();
    for (const node of this.up()) node.reaper!.round();
    for (const node of this.up()) this.guard(node, () => node.timers!.fire());
  }

  private send(messages: readonly SimPeerMessage[]): void {
    for (const message of messages) {
      this.sentTo.set(message, this.node(message.to).incarnation);
      this.network.send(message, this.tick);
    }
  }

  /**
   * Runs this tick's events: the messages due now and the host loops queued, in a seeded
   * interleaving; `flush` lets settled promises' callbacks run after each event.
   */
  async settleTick(flush: () => Promise<void>): Promise<void> {
    const messages = this.network.due(this.tick);
    for (let i = 0; i < EVENTS_PER_TICK_MAX; i++) {
      const runnable = this.runs.filter((r) => r.node.slowUntil <= this.tick);
      if (messages.length === 0 && runnable.length === 0) return;
      this.time++;
      this.events++;
      if (messages.length > 0 && (runnable.length === 0 || this.order.chance(0.6))) {
        this.deliver(messages.shift()!);
      } else {
        this.execute(runnable[this.order.int(runnable.length)]!);
        await flush();
      }
      this.hooks.afterEvent();
    }
    throw new Error(`tick ${this.tick} did not settle within ${EVENTS_PER_TICK_MAX} events`);
  }

  private deliver(message: SimPeerMessage): void {
    const node = this.node(message.to);
    if (!node.host || this.sentTo.get(message) !== node.incarnation) return;
    if (isForwardFrame(message)) this.guard(node, () => this.forwarding.deliver(node.pipeline!, message));
    else this.guard(node, () => node.host!.receive(message));
  }

  private execute(scheduled: ScheduledRun): void {
    this.runs.splice(this.runs.indexOf(scheduled), 1);
    const { node } = scheduled;
    if (scheduled.incarnation !== node.incarnation || !node.host) return;
    this.guard(node, scheduled.run);
    this.maybeCheckpoint(node);
    this.hooks.afterRun(node);
  }

  /** Runs `action` on a host; anything it throws is a failure of the code under test. */
  private guard(node: SimNode, action: () => void): void {
    try {
      action();
    } catch (error) {
      if (error instanceof CrashSignal) return this.crash(node.id, `inside its loop, ${error.message}`);
      // A checker's verdict from inside a host's listener is reported as itself.
      if (error instanceof Error && error.name === 'InvariantViolation') throw error;
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new HostFailure(`n${node.id} host failed: ${message}`);
    }
  }
}
