/**
 * One Corral node, assembled: storage opened and recovered (checkpoint + log replay), the tree,
 * consensus, the host loop, checkpoints and the leader's cleanup duty.
 */
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { Raft } from '../core/consensus/raft.ts';
import { DataTree } from '../core/tree/data-tree.ts';
import type { Logger } from '../observability/logger.ts';
import { Metrics } from '../observability/metrics.ts';
import { CheckpointStore } from '../storage/checkpoint-store.ts';
import { openDatabase, StorageCorruptError, type SqliteDb } from '../storage/database.ts';
import { SqliteLogStore } from '../storage/log-store.ts';
import { Checkpointer } from './checkpointer.ts';
import { StoredCheckpoints } from './checkpoints.ts';
import type { Applier } from './applier.ts';
import { NodeHost } from './node-host.ts';
import { Reaper } from './reaper.ts';
import { ChangeFeed } from './change-feed.ts';
import { ChangeHistory } from '../storage/change-history.ts';
import { SessionManager } from './session-manager.ts';
import { PeerLink } from './peer-link.ts';
import { assemblePipeline } from './pipeline/assemble.ts';
import type { Pipeline } from './pipeline/pipeline.ts';
import { realTimers } from './timers.ts';

/** Ticks of silence before a follower stands for election (randomized up to twice that). */
const ELECTION_TICKS = 10;

export interface NodeDeps {
  readonly logger: Logger;
  readonly nowMs: () => number;
}

export class CorralNode {
  readonly host: NodeHost;
  readonly metrics: Metrics;
  readonly checkpointer: Checkpointer;
  readonly sessions: SessionManager;
  readonly changes: ChangeFeed;
  readonly peers: PeerLink;
  /** Orders every client request, from any member (the HTTP layer calls only pipeline.propose). */
  readonly pipeline: Pipeline;
  private readonly consensus: Raft;
  private readonly reaper: Reaper;
  private readonly db: SqliteDb;
  private readonly log: SqliteLogStore;
  private reapTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private lastLeader = 0;

  constructor(readonly config: Config, deps: NodeDeps) {
    const started = deps.nowMs();
    const file = join(config.dataDir, 'corral.db');
    this.db = openDatabase(file);
    const { checkpoints, latest, tree, log } = recoverState(this.db);
    this.log = log;
    // A single node is a cluster of one: the same Raft core, which elects itself at once.
    const members = config.members.length > 0 ? config.members.map((m) => m.id) : [config.id];
    const consensus = new Raft({
      id: config.id, members, log, hardState: log.hardState(), appliedIndex: latest?.index ?? 0,
      electionTicks: ELECTION_TICKS, heartbeatTicks: 1, random: Math.random,
    });
    this.consensus = consensus;
    this.peers = new PeerLink(config, deps.logger);
    this.metrics = new Metrics({
      znodeCount: () => this.host.tree.size, logEntries: () => log.size(), appliedZxid: () => this.host.appliedZxid,
    });
    const installing = new StoredCheckpoints(checkpoints, log, () => this.checkpointer.abandon(), deps.nowMs);
    this.host = new NodeHost({
      consensus, log, tree, metrics: this.metrics, logger: deps.logger, maxPendingWrites: config.maxPendingWrites,
      checkpoints: installing, overlapSync: true, ...(this.peers.clustered ? { transport: this.peers } : {}),
    });
    this.watchReplication();
    this.checkpointer = new Checkpointer({
      tree: () => this.host.tree, log, store: checkpoints, metrics: this.metrics, logger: deps.logger,
      everyEntries: config.checkpointEveryEntries, chunkNodes: config.checkpointChunkNodes, nowMs: deps.nowMs,
    });
    this.reaper = new Reaper(this.host, deps.nowMs, deps.logger);
    this.sessions = new SessionManager(this.host, config, deps.nowMs, deps.logger);
    let history: ChangeHistory | undefined;
    try {
      // The feed reads the history's newest row, the replay the log: a damaged file fails either.
      history = new ChangeHistory(this.db, config.historyEventsMax);
      this.changes = new ChangeFeed(this.host, history);
      // What every applied transaction goes through after the tree, in this order (ZooKeeper's
      // setupRequestProcessors); all of them run before the write's waiter is answered, so no
      // answer precedes its history row or session events (the request-id table is the tree's own
      // state, updated by the apply itself). The change history comes before the checkpointer (a
      // checkpoint started by this transaction covers events already recorded), the sessions last
      // (their events go to the outboxes once everything else saw the transaction). Role changes
      // reach them in the same order: the sessions (a new leader grants fresh timeouts), then the
      // elections metric.
      this.host.setAppliers([this.changes, this.checkpointer, this.sessions, this.electionsCounter()]);
      this.host.drain(); // replays the log behind the checkpoint
    } catch (error) {
      closeAfterFailure(() => history?.close(), () => this.log.close(), () => this.db.close());
      throw asCorruption(error);
    }
    // The replay rebuilt what derives from the log (the change history); sessions and
    // checkpoints start from the recovered tree, before any write is served.
    this.sessions.follow();
    this.checkpointer.start();
    this.pipeline = assemblePipeline({
      host: this.host, sessions: this.sessions, link: this.peers.clustered ? this.peers : undefined, limits: config,
      nowMs: deps.nowMs, timers: realTimers, logger: deps.logger,
    });
    this.sessions.useProposer(this.pipeline);
    if (this.peers.clustered) {
      this.peers.serveProposals(this.pipeline);
      this.sessions.relayTouchesTo((ids) => this.peers.sendTouches(ids));
      this.peers.onTouches((ids) => this.sessions.touchedElsewhere(ids));
    }
    deps.logger.info({
      event: 'recovered', checkpointZxid: latest?.zxid ?? 0, replayed: log.size(), znodes: tree.size,
      appliedZxid: tree.appliedZxid, ms: deps.nowMs() - started,
    }, 'node recovered');
  }

  /** Where member `id` serves clients. */
  clientAddressOf(id: number): string | undefined {
    return this.config.members.find((m) => m.id === id)?.client;
  }

  /** The term of the log entry at `index` (0 when unknown here: compacted away or not yet received). */
  termAt(index: number): number {
    return this.consensus.log.term(index) ?? 0;
  }

  /** On the leader: how many entries each follower lacks. */
  followerLag(): Map<number, number> {
    const lag = new Map<number, number>();
    const status = this.consensus.status();
    if (status.role !== 'leader') return lag;
    for (const [id, progress] of this.consensus.followers()) lag.set(id, Math.max(0, status.lastIndex - progress.match));
    return lag;
  }

  private watchReplication(): void {
    this.metrics.watchCluster({
      status: () => this.consensus.status(), followerLag: () => this.followerLag(), peersConnected: () => this.peers.peersConnected(),
    });
  }

  /** An applier counting the elections this member stands in. */
  private electionsCounter(): Applier {
    return {
      roleChanged: (role) => {
        if (role === 'candidate') this.metrics.elections.inc();
      },
    };
  }

  /** One consensus tick (heartbeats, elections), noting leader changes for the metrics. */
  private tick(): void {
    this.host.tick();
    const leader = this.consensus.status().leader;
    this.pipeline.tick();
    if (leader !== this.lastLeader) this.metrics.leaderChanges.inc();
    this.lastLeader = leader;
  }

  async start(): Promise<void> {
    await this.peers.start(this.host);
    this.tickTimer = setInterval(() => this.tick(), this.config.raftTickMs);
    this.tickTimer.unref();
    this.reapTimer = setInterval(() => this.reaper.round(), this.config.reapIntervalMs);
    this.reapTimer.unref();
    this.sessions.start();
  }

  /** Graceful stop: finish writes in flight, stop checkpointing, close the database cleanly. */
  async close(): Promise<void> {
    clearInterval(this.reapTimer);
    clearInterval(this.tickTimer);
    this.sessions.stop();
    await this.host.close(5000);
    this.pipeline.close();
    await this.peers.close();
    await this.checkpointer.stop();
    this.changes.close();
    this.log.close();
    this.db.close();
  }
}

/** Lets go of what was opened; the failure that got here is what gets reported, not one of these. */
function closeAfterFailure(...closers: Array<() => void>): void {
  for (const close of closers) {
    try {
      close();
    } catch {
      // A damaged file can fail its last writes too (the history's pending rows).
    }
  }
}

/** Any failure while reading what is on disk means the node cannot trust it: refuse to start. */
function asCorruption(error: unknown): StorageCorruptError {
  if (error instanceof StorageCorruptError) return error;
  return new StorageCorruptError(`recovery failed: ${error instanceof Error ? error.message : String(error)}`);
}

function recoverState(db: SqliteDb) {
  try {
    const checkpoints = new CheckpointStore(db);
    const latest = checkpoints.latest();
    const tree = latest
      ? new DataTree(
        checkpoints.eachNode(latest), latest.zxid, checkpoints.sessions(latest), checkpoints.watches(latest), checkpoints.requests(latest),
      )
      : new DataTree();
    const log = new SqliteLogStore(db, { index: latest?.index ?? 0, term: latest?.term ?? 0 });
    return { checkpoints, latest, tree, log };
  } catch (error) {
    db.close();
    throw asCorruption(error);
  }
}
