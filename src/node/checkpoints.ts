/**
 * Checkpoints moving between members: a leader whose log no longer holds what a follower needs
 * sends its latest checkpoint instead (Raft's snapshot install), and the follower keeps it as its
 * own before its log restarts after it.
 */
import type { ClusterConfig } from '../core/consensus/cluster-config.ts';
import type { LogStore } from '../core/consensus/types.ts';
import type { CheckpointImage } from '../core/tree/checkpoint-image.ts';
import type { CheckpointMeta, CheckpointStore } from '../storage/checkpoint-store.ts';

export type { CheckpointImage };

/** Where a host finds the checkpoint its log was compacted behind, and keeps one from the leader. */
export interface CheckpointSource {
  /** The checkpoint at `index`, or undefined when there is none at that position (any more). */
  load(index: number): CheckpointImage | undefined;
  /** Stores `image` (with the configuration as of it, when known) durably as the latest checkpoint and restarts the log after it, atomically. */
  install(image: CheckpointImage, config?: ClusterConfig): void;
}

/** The production source: the node's SQLite checkpoints, next to its log in the same file. */
export class StoredCheckpoints implements CheckpointSource {
  /** The last image loaded: every follower that falls behind wants the same one. */
  private cached: CheckpointImage | undefined;

  constructor(
    private readonly store: CheckpointStore,
    private readonly log: LogStore,
    private readonly beforeInstall: () => void,
    private readonly nowMs: () => number,
  ) {}

  load(index: number): CheckpointImage | undefined {
    if (this.cached?.index === index) return this.cached;
    const meta: CheckpointMeta | undefined = this.store.current();
    if (!meta || meta.index !== index) return undefined;
    this.cached = { index, term: meta.term, zxid: meta.zxid, nodes: this.store.nodes(meta), sessions: this.store.sessions(meta),
      watches: this.store.watches(meta), requests: this.store.requests(meta),
    };
    return this.cached;
  }

  install(image: CheckpointImage, config?: ClusterConfig): void {
    // A checkpoint of our own being written is older: it must not complete after this one.
    this.beforeInstall();
    this.cached = undefined;
    this.store.writeWhole(image, this.nowMs(), () => this.log.installSnapshot(image.index, image.term), config);
  }
}
