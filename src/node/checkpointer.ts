/**
 * Takes checkpoints of the tree once the log has grown past a threshold, then truncates the log
 * behind them. The snapshot is a copy of node references (records are immutable), so taking it
 * costs one pass over a Map; writing it to SQLite is spread over event-loop turns in chunks, so
 * writes keep committing meanwhile; so is deleting the log rows behind it.
 */
import { epochOf, indexOf } from '../core/consensus/zxid.ts';
import type { DataTree } from '../core/tree/data-tree.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { CheckpointStore } from '../storage/checkpoint-store.ts';
import type { LogStore } from '../core/consensus/types.ts';
import type { ClusterConfig } from '../core/consensus/cluster-config.ts';
import type { Applier } from './applier.ts';

export interface CheckpointerOptions {
  /** The host's tree now (a checkpoint from the leader replaces it). */
  readonly tree: () => DataTree;
  readonly log: LogStore;
  readonly store: CheckpointStore;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Start a checkpoint once the log holds this many entries. */
  readonly everyEntries: number;
  /** Nodes per SQLite transaction while writing one. */
  readonly chunkNodes: number;
  readonly nowMs: () => number;
  /** The cluster configuration as of a log index, stored with the checkpoint taken there. */
  readonly configAt?: (index: number) => ClusterConfig;
}

/** Log entries behind a checkpoint whose rows are deleted per turn (a few ms of the loop). */
const LOG_ENTRIES_PER_PRUNE = 2000;

const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class Checkpointer implements Applier {
  private running: Promise<void> | undefined;
  /** Checkpoints are due only once the node recovered (a replayed log is about to be applied anyway). */
  private started = false;
  private stopped = false;
  private currentGen = 0;
  /** Bumped when a checkpoint from the leader replaces ours: one being written is then abandoned. */
  private epoch = 0;

  constructor(private readonly options: CheckpointerOptions) {}

  /** From now on a checkpoint starts whenever one is due (after the replay of recovery). */
  start(): void {
    this.started = true;
  }

  /** An Applier of the host: after each transaction, starts a checkpoint when one is due. */
  applied(): void {
    this.maybeStart();
  }

  /** Starts a checkpoint when one is due. */
  maybeStart(): void {
    if (!this.started || this.running || this.stopped || this.options.log.size() < this.options.everyEntries) return;
    this.running = this.take().then(() => undefined).finally(() => (this.running = undefined));
  }

  /** Takes a checkpoint now (on demand, and in tests); resolves true once it is complete. */
  async checkpointNow(): Promise<boolean> {
    // Loop: another caller may have started one while this one waited.
    while (this.running) await this.running;
    const taking = this.take();
    this.running = taking.then(() => undefined).finally(() => (this.running = undefined));
    return taking;
  }

  /** A newer checkpoint (from the leader) is being installed: drop the one being written, if any. */
  abandon(): void {
    this.epoch++;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running?.catch(() => undefined);
  }

  /** Returns false when stopped before completing (the partial checkpoint is dropped at the next start). */
  private async take(): Promise<boolean> {
    const { log, store, chunkNodes, logger } = this.options;
    const tree = this.options.tree();
    const stop = this.options.metrics.checkpointDuration.startTimer();
    const zxid = tree.appliedZxid;
    const nodes = tree.snapshot();
    const index = indexOf(zxid);
    const term = epochOf(zxid);
    const epoch = this.epoch;
    const config = this.options.configAt?.(index);
    const gen = store.begin({ index, term, zxid, nodeCount: nodes.length }, tree.sessions.all(), this.options.nowMs(), tree.watches.all(), tree.requests.all(), config);
    for (let i = 0; i < nodes.length; i += chunkNodes) {
      if (this.stopped || epoch !== this.epoch) return false;
      store.writeChunk(gen, nodes.slice(i, i + chunkNodes));
      await yieldTurn();
    }
    if (this.stopped || epoch !== this.epoch) return false;
    store.complete(gen, () => log.compact(index, term));
    this.currentGen = gen;
    const seconds = stop();
    logger.info({ event: 'checkpoint', zxid, index, nodes: nodes.length, seconds }, 'checkpoint complete');
    while (!this.stopped && store.pruneChunk(this.currentGen, chunkNodes) > 0) await yieldTurn();
    while (!this.stopped && (log.pruneCompacted?.(LOG_ENTRIES_PER_PRUNE) ?? 0) > 0) await yieldTurn();
    return true;
  }
}
