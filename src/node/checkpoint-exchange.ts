/**
 * Checkpoints between a host and the other members (Raft's snapshot install): the leader's host
 * attaches its checkpoint to each MsgSnap the core sends; a follower's host keeps the one that
 * came with a MsgSnap the core took, with the configuration it carried, until the core says to
 * install it, then stores it durably (the log restarting after it). The host does the rest (its
 * tree, its waiting writes).
 */
import type { ClusterConfig } from '../core/consensus/cluster-config.ts';
import type { RaftMessage, SnapshotRequest } from '../core/consensus/messages.ts';
import type { Consensus } from '../core/consensus/types.ts';
import { assert } from '../core/errors.ts';
import type { CheckpointImage } from '../core/tree/checkpoint-image.ts';
import type { Logger } from '../observability/logger.ts';
import type { CheckpointSource } from './checkpoints.ts';

export class CheckpointExchange {
  /** The checkpoint that came with the last MsgSnap the core took, until it says to install it. */
  private received: CheckpointImage | undefined;
  /** The configuration as of `received`, which the MsgSnap carried. */
  private receivedConfig: ClusterConfig | undefined;

  constructor(private readonly checkpoints: CheckpointSource | undefined, private readonly logger: Logger) {}

  /** Steps a MsgSnap into `consensus`, keeping its checkpoint if taken; one without its checkpoint is dropped (the leader sends again). */
  receive(message: SnapshotRequest, consensus: Consensus): void {
    const image = message.checkpoint;
    if (image?.index !== message.snapshotIndex || image.term !== message.snapshotTerm) return;
    consensus.step(message);
    if (consensus.status().pendingSnapshot === message.snapshotIndex) {
      this.received = image;
      this.receivedConfig = message.config;
    }
  }

  /** Attaches the checkpoint to each MsgSnap; one that cannot be loaded is not sent (the core sends again). */
  attach(messages: readonly RaftMessage[]): RaftMessage[] {
    const out: RaftMessage[] = [];
    for (const message of messages) {
      if (message.type !== 'MsgSnap') {
        out.push(message);
        continue;
      }
      const checkpoint = this.checkpoints?.load(message.snapshotIndex);
      if (checkpoint) out.push({ ...message, checkpoint });
      else this.logger.warn({ event: 'checkpoint-missing', index: message.snapshotIndex, to: message.to }, 'no checkpoint to send');
    }
    return out;
  }

  /** The core restarted its log after the checkpoint at `index`: stores it durably (with its configuration) and returns it. */
  install(index: number): CheckpointImage {
    const image = this.received;
    assert(image !== undefined && image.index === index, `told to install checkpoint ${index} but none came with the leader's message`);
    assert(this.checkpoints !== undefined, 'a checkpoint to install but nowhere to keep it');
    this.received = undefined;
    this.checkpoints.install(image, this.receivedConfig);
    return image;
  }
}
