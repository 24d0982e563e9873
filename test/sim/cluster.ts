/**
 * A cluster of Raft members in one process, each with a host loop like the real node's:
 * take a Ready, persist its hardState and entries (MemStableLog), send its messages, apply its
 * committed entries, advance. A crash drops the Raft instance and everything not persisted
 * (unstable entries, unsent messages, unpersisted votes); a restart rebuilds Raft from the
 * persisted store, either keeping the applied state (as after a checkpoint at every apply) or
 * from applied index 0, re-applying the log.
 */
import { Raft } from '../../src/core/consensus/raft.ts';
import type { RaftMessage } from '../../src/core/consensus/messages.ts';
import type { Entry, Ready, Status } from '../../src/core/consensus/types.ts';
import { MemStableLog } from '../consensus/mem-stable-log.ts';
import { Prng } from '../support/prng.ts';
import { SimNetwork } from './network.ts';

export interface ClusterOptions {
  readonly seed: number;
  /** Voters: ids 1..size. */
  readonly size: number;
  /** Learners (observers) after them: ids size+1..size+observers. */
  readonly observers?: number;
  /**
   * Members-to-be after those: running, but in no configuration until a membership change adds
   * them (as a joining member starts: empty, outside the cluster, waiting to be replicated to).
   */
  readonly spares?: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly maxEntriesPerMessage: number;
}

export interface SimNode {
  readonly id: number;
  readonly store: MemStableLog;
  /** Undefined while crashed. */
  raft: Raft | undefined;
  /** The state machine: entries applied, entry i + 1 at position i. */
  applied: Entry[];
  /** Bumped by every restart that lost the applied state (it re-applies from index 1). */
  incarnation: number;
  restarts: number;
  /** A Ready taken but not yet persisted (lost if the node crashes). */
  pending: { readonly ready: Ready; readonly doneAt: number } | undefined;
}

export interface HostEvents {
  onApply(node: SimNode, entry: Entry): void;
  onTrace(line: string): void;
}

export type CrashPoint = 'before-persist' | 'after-persist' | undefined;

/** Readies one host handles per tick at most; more would mean the core never settles. */
const READIES_PER_TICK_MAX = 8;

/** Derives an independent stream from the run's seed (one per component). */
export function streamOf(seed: number, stream: number): Prng {
  let h = Math.imul(seed ^ Math.imul(stream + 1, 0x9e3779b1), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return new Prng(h ^ (h >>> 16));
}

export class SimCluster {
  now = 0;
  readonly nodes: SimNode[];
  readonly ids: number[];
  readonly network: SimNetwork;

  constructor(private readonly options: ClusterOptions, private readonly events: HostEvents) {
    this.ids = Array.from({ length: options.size + (options.observers ?? 0) + (options.spares ?? 0) }, (_, i) => i + 1);
    this.network = new SimNetwork(streamOf(options.seed, 1));
    this.nodes = this.ids.map((id) => {
      const node: SimNode = { id, store: new MemStableLog(), raft: undefined, applied: [], incarnation: 0, restarts: 0, pending: undefined };
      node.raft = this.newRaft(node);
      return node;
    });
  }

  private newRaft(node: SimNode): Raft {
    const rng = streamOf(this.options.seed, 100 + node.id * 1000 + node.restarts);
    return new Raft({
      id: node.id, members: this.voters, learners: this.learners, log: node.store, promoteLagMax: 50, hardState: node.store.hardState(),
      appliedIndex: node.applied.length, electionTicks: this.options.electionTicks,
      heartbeatTicks: this.options.heartbeatTicks, random: () => rng.next(),
      maxEntriesPerMessage: this.options.maxEntriesPerMessage,
    });
  }

  get voters(): number[] {
    return this.ids.slice(0, this.options.size);
  }

  /** The founding learners (the configuration a restarted member replays its log over). */
  get learners(): number[] {
    return this.ids.slice(this.options.size, this.options.size + (this.options.observers ?? 0));
  }

  node(id: number): SimNode {
    const node = this.nodes[id - 1];
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  up(): SimNode[] {
    return this.nodes.filter((n) => n.raft !== undefined);
  }

  down(): SimNode[] {
    return this.nodes.filter((n) => n.raft === undefined);
  }

  status(node: SimNode): Status | undefined {
    return node.raft?.status();
  }

  leaders(): SimNode[] {
    return this.up().filter((n) => n.raft!.status().role === 'leader');
  }

  crash(id: number, why: string): void {
    const node = this.node(id);
    if (!node.raft) return;
    node.raft = undefined;
    node.pending = undefined;
    this.events.onTrace(`t${this.now} crash n${id} (${why})`);
  }

  /** Rebuilds a crashed node from its persisted store. */
  restart(id: number, keepApplied: boolean): void {
    const node = this.node(id);
    if (node.raft) return;
    node.restarts++;
    if (!keepApplied) {
      node.applied = [];
      node.incarnation++;
    }
    node.raft = this.newRaft(node);
    this.events.onTrace(`t${this.now} restart n${id} applied=${node.applied.length} last=${node.store.lastIndex()} term=${node.store.hardState().term}`);
  }

  /** Delivers the messages due now to running members. */
  deliver(): void {
    for (const message of this.network.due(this.now)) this.node(message.to).raft?.step(message);
  }

  tick(): void {
    for (const node of this.up()) node.raft!.tick();
  }

  /**
   * The host loop for one node: take a Ready (sending what may precede its persistence), persist
   * it, send its messages, apply, advance.
   * With `diskTicks` > 0 the Ready is on its way to disk for that many ticks while the node
   * keeps stepping messages and ticking (etcd-raft allows Step between Ready and Advance).
   */
  handleReady(node: SimNode, diskTicks = 0, crashPoint: CrashPoint = undefined): void {
    for (let i = 0; i < READIES_PER_TICK_MAX; i++) {
      const raft = node.raft;
      if (!raft) return;
      if (!node.pending) {
        if (!raft.hasReady()) return;
        const taken = raft.ready();
        node.pending = { ready: taken, doneAt: this.now + (i === 0 ? diskTicks : 0) };
        // A leader's appends go while its disk writes them (Raft thesis §10.2.1).
        for (const message of taken.messagesBeforePersist) this.network.send(message, this.now);
      }
      if (node.pending.doneAt > this.now) return;
      const { ready } = node.pending;
      node.pending = undefined;
      if (crashPoint === 'before-persist') return this.crash(node.id, crashPoint);
      node.store.persist(ready);
      if (crashPoint === 'after-persist') return this.crash(node.id, crashPoint);
      for (const message of ready.messages) this.network.send(message as RaftMessage, this.now);
      for (const entry of ready.committed) {
        node.applied.push(entry);
        this.events.onApply(node, entry);
      }
      raft.advance(ready);
    }
  }
}
