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
import { lockDataDir, type DataDirLock } from '../storage/data-dir-lock.ts';
import { formatMode, makePrivateDir } from '../storage/file-modes.ts';
import { SqliteLogStore } from '../storage/log-store.ts';
import { Checkpointer } from './checkpointer.ts';
import { StoredCheckpoints } from './checkpoints.ts';
import type { Applier } from './applier.ts';
import { AuditLog } from '../observability/audit-log.ts';
import { NodeHost } from './node-host.ts';
import { QuotaWarnings } from './quota-warnings.ts';
import { Reaper } from './reaper.ts';
import { ChangeFeed } from './change-feed.ts';
import { ChangeHistory } from '../storage/change-history.ts';
import { SessionManager } from './session-manager.ts';
import { PeerLink } from './peer-link.ts';
import { LeaderHandoff, type Handoff } from './leader-handoff.ts';
import type { ZkError } from '../core/errors.ts';
import { assemblePipeline } from './pipeline/assemble.ts';
import type { Pipeline } from './pipeline/pipeline.ts';
import { realTimers } from './timers.ts';
import { addressesOf, MemberDirectory } from './member-directory.ts';
import { MembershipAdmin } from './membership-admin.ts';

/** Ticks of silence before a follower stands for election (randomized up to twice that). */
const ELECTION_TICKS = 10;
/** Entries a learner may lag the leader's log by and still be promoted (about a second of busy writes). */
const PROMOTE_LAG_MAX = 1000;

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
  /** The audit log, when --audit-log names a file. */
  private readonly audit: { readonly log: AuditLog; close(): void } | undefined;
  readonly peers: PeerLink;
  /** Orders every client request, from any member (the HTTP layer calls only pipeline.propose). */
  readonly pipeline: Pipeline;
  private readonly consensus: Raft;
  private readonly reaper: Reaper;
  private readonly db: SqliteDb;
  /** Held from before the database opens until after it closes: one node per data directory. */
  private readonly dirLock: DataDirLock;
  private readonly log: SqliteLogStore;
  private reapTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private lastLeader = 0;
  private readonly handoff: LeaderHandoff;
  /** Where the other members are, kept in step with the configuration in force. */
  private readonly directory: MemberDirectory;
  /** Membership changes an operator asks for (the admin routes). */
  readonly membership: MembershipAdmin;

  private readonly logger: Logger;
  private readonly nowMs: () => number;

  constructor(readonly config: Config, deps: NodeDeps) {
    this.logger = deps.logger;
    this.nowMs = deps.nowMs;
    const started = deps.nowMs();
    const file = join(config.dataDir, 'corral.db');
    this.dirLock = openDataDir(config.dataDir, deps.logger);
    this.db = openLocked(file, this.dirLock);
    const { checkpoints, latest, tree, log } = recoverState(this.db, this.dirLock);
    this.log = log;
    // Whatever fails from here on (a peer certificate that cannot be read, a damaged log) lets go
    // of the audit file, the database and the directory's lock: a failed start leaves nothing
    // held, so a later start in this process (or another) can take the directory.
    try {
      // A single node is a cluster of one: the same Raft core, which elects itself at once.
      // Observers (--members …/observer) are the core's learners: replicated to, never counted.
      // The configuration the log starts from is the checkpoint's when it stored one (membership
      // changes since the cluster began), else --members; the log's change entries are replayed over it.
      const stored = latest ? checkpoints.config(latest) : undefined;
      const voters = stored?.voters ?? (config.members.length > 0 ? config.members.filter((m) => !m.observer).map((m) => m.id) : [config.id]);
      const learners = stored?.learners ?? config.members.filter((m) => m.observer).map((m) => m.id);
      const consensus = new Raft({
        id: config.id, members: voters, learners, addresses: stored?.addresses ?? addressesOf(config.members), log,
        hardState: log.hardState(), appliedIndex: latest?.index ?? 0, electionTicks: ELECTION_TICKS, heartbeatTicks: 1,
        random: Math.random, promoteLagMax: PROMOTE_LAG_MAX,
      });
      this.consensus = consensus;
      this.peers = new PeerLink(config, deps.logger);
      this.directory = new MemberDirectory(config, this.peers, deps.logger);
      this.metrics = new Metrics({
        znodeCount: () => this.host.tree.size, logEntries: () => log.size(), appliedZxid: () => this.host.appliedZxid,
      });
      const installing = new StoredCheckpoints(checkpoints, log, () => this.checkpointer.abandon(), deps.nowMs);
      this.host = new NodeHost({
        consensus, log, tree, metrics: this.metrics, logger: deps.logger, maxPendingWrites: config.maxPendingWrites,
        checkpoints: installing, overlapSync: true, ...(this.peers.clustered ? { transport: this.peers } : {}),
      });
      this.watchReplication();
      this.host.onConfigChange((cluster) => this.directory.update(cluster));
      this.membership = new MembershipAdmin({
        raft: consensus, host: this.host, directory: this.directory, logger: deps.logger, nowMs: deps.nowMs, retryMs: config.raftTickMs, quorumGraceMs: ELECTION_TICKS * config.raftTickMs,
        clustered: this.peers.clustered,
      });
      this.checkpointer = new Checkpointer({
        tree: () => this.host.tree, log, store: checkpoints, metrics: this.metrics, logger: deps.logger, configAt: (index) => consensus.configAt(index),
        everyEntries: config.checkpointEveryEntries, chunkNodes: config.checkpointChunkNodes, nowMs: deps.nowMs,
      });
      this.handoff = new LeaderHandoff({
        status: () => this.consensus.status(), transfer: (to) => this.host.transferLeader(to), nowMs: deps.nowMs,
        voterCount: () => this.consensus.clusterConfig().voters.length,
        roleOf: (id) => {
          const cluster = this.consensus.clusterConfig();
          if (cluster.voters.includes(id)) return 'voter';
          return cluster.learners.includes(id) ? 'observer' : undefined;
        },
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
        const audit = config.auditLog === '' ? undefined : AuditLog.toFile(config.auditLog, config.id);
        this.audit = audit;
        const quotaWarnings = new QuotaWarnings(deps.logger, deps.nowMs);
        this.host.setAppliers([
          this.changes, this.checkpointer, this.sessions, ...(audit ? [audit.log] : []), quotaWarnings, this.electionsCounter(),
        ]);
        this.host.drain(); // replays the log behind the checkpoint
        audit?.log.startServing();
      } catch (error) {
        closeAfterFailure(() => history?.close());
        throw asCorruption(error);
      }
      // The replay rebuilt what derives from the log (the change history); sessions and
      // checkpoints start from the recovered tree, before any write is served.
      this.sessions.follow();
      this.checkpointer.start();
      // Members added or removed by the log replayed (or the checkpoint) since --members was written.
      this.directory.update(consensus.clusterConfig());
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
    } catch (error) {
      closeAfterFailure(() => this.audit?.close(), () => this.log.close(), () => this.db.close(), () => this.dirLock.release());
      throw error;
    }
    deps.logger.info({
      event: 'recovered', checkpointZxid: latest?.zxid ?? 0, replayed: log.size(), znodes: tree.size,
      appliedZxid: tree.appliedZxid, ms: deps.nowMs() - started,
    }, 'node recovered');
  }

  /**
   * Hands leadership to voter `to` (undefined: the most caught-up one), from any member, and
   * waits up to `timeoutMs` for this member to see it move.
   */
  transferLeadership(to: number | undefined, timeoutMs: number): Promise<Handoff | ZkError> {
    return this.handoff.transfer(to, timeoutMs);
  }

  /** One election timeout in ms: how long a transfer may take before the leader gives it up. */
  get electionTimeoutMs(): number {
    return ELECTION_TICKS * this.config.raftTickMs;
  }

  /**
   * A leader about to stop hands leadership to its most caught-up voter it is connected to, so
   * the cluster gets a leader at once rather than after an election timeout of 503s. Bounded:
   * past two election timeouts it stops anyway (the others then elect one).
   */
  private async handOffBeforeStopping(): Promise<void> {
    const { logger } = this;
    if (this.consensus.status().role !== 'leader') return;
    const target = this.consensus.mostCaughtUpVoter();
    if (target === 0 || this.peers.peersConnected().get(target) !== true) return;
    const started = this.nowMs();
    const outcome = await this.handoff.transfer(target, 2 * this.electionTimeoutMs);
    const ms = this.nowMs() - started;
    if ('code' in outcome) logger.warn({ event: 'leader-handoff-failed', to: target, ms, code: outcome.code }, `leadership not handed over before stopping: ${outcome.message}`);
    else logger.info({ event: 'leader-handoff', to: target, leader: outcome.leader, ms }, `handed leadership to member ${outcome.leader} before stopping`);
  }

  /** Where member `id` serves clients. */
  clientAddressOf(id: number): string | undefined {
    return this.directory.addressOf(id)?.client;
  }

  /** Where the other members dial member `id` (host:port). */
  peerAddressOf(id: number): string | undefined {
    return this.directory.addressOf(id)?.peer;
  }

  /** The configuration in force: voters, learners and their addresses. */
  clusterConfig() {
    return this.consensus.clusterConfig();
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
    this.peers.watchMetrics(this.metrics.registry);
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
    this.handoff.tick();
    this.directory.tick();
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
    // While the ticks still run: the transfer needs them.
    if (this.tickTimer !== undefined) await this.handOffBeforeStopping();
    this.handoff.close();
    clearInterval(this.reapTimer);
    clearInterval(this.tickTimer);
    this.sessions.stop();
    await this.host.close(5000);
    this.pipeline.close();
    await this.peers.close();
    await this.checkpointer.stop();
    this.changes.close();
    this.audit?.close();
    this.log.close();
    this.db.close();
    this.dirLock.release();
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

/** Creates the data directory private (0700), says so when an existing one is not, and locks it. */
function openDataDir(dataDir: string, logger: Logger): DataDirLock {
  const looseMode = makePrivateDir(dataDir);
  if (looseMode !== undefined) {
    logger.warn({ event: 'data-dir-mode', dataDir, mode: formatMode(looseMode) },
      `data directory ${dataDir} is open to other users (mode ${formatMode(looseMode)}); its files are kept 0600, but chmod 700 the directory`);
  }
  return lockDataDir(dataDir);
}

/** Opens the database under the directory's lock, letting the lock go if it cannot. */
function openLocked(file: string, lock: DataDirLock): SqliteDb {
  try {
    return openDatabase(file);
  } catch (error) {
    lock.release();
    throw error;
  }
}

function recoverState(db: SqliteDb, lock: DataDirLock) {
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
    lock.release();
    throw asCorruption(error);
  }
}
