/**
 * Checkpoints between a host and the other members (Raft's snapshot install): the leader's host
 * attaches its checkpoint to each MsgSnap the core sends; a follower's host keeps the one that
 * came with a MsgSnap the core took, with the configuration it carried, until the core says to
 * install it, then stores it durably (the log restarting after it). The host does the rest (its
 * tree, its waiting writes).
 *
 * A MsgSnap comes from another member's port: its configuration is checked before the core sees
 * it (the core asserts its invariants and would die on a malformed one; a stored bad one would
 * come back at every restart).
 */
import { clusterConfig, isMemberId, type ClusterConfig, type MemberAddress } from '../core/consensus/cluster-config.ts';
import type { RaftMessage, SnapshotRequest } from '../core/consensus/messages.ts';
import type { Consensus } from '../core/consensus/types.ts';
import { assert } from '../core/errors.ts';
import type { CheckpointImage } from '../core/tree/checkpoint-image.ts';
import type { Logger } from '../observability/logger.ts';
import type { CheckpointSource } from './checkpoints.ts';
import { parseHostPort } from './member-directory.ts';

/** Members a configuration from a peer may name: far more than any cluster, far fewer than a flood. */
export const PEER_CONFIG_MEMBERS_MAX = 1000;
/** A host:port: a DNS name's 253 characters, brackets, a colon and a port. */
const ADDRESS_CHARS_MAX = 262;

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
    const config = message.config === undefined ? undefined : configFromPeer(message.config);
    if (message.config !== undefined && config === undefined) {
      this.logger.warn({ event: 'checkpoint-config-invalid', from: message.from, index: message.snapshotIndex }, 'dropped a checkpoint whose configuration is malformed');
      return;
    }
    // The checked copy, not the peer's object: nothing unchecked rides along into the core or the disk.
    const checked: SnapshotRequest = config === undefined ? message : { ...message, config };
    consensus.step(checked);
    if (consensus.status().pendingSnapshot === message.snapshotIndex) {
      this.received = image;
      this.receivedConfig = config;
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

/**
 * A configuration from another member, rebuilt from checked parts, or undefined when it is not
 * one: ids positive integers, at least one voter, no member twice, at most
 * PEER_CONFIG_MEMBERS_MAX members, each address (if any) of a member and with host:port client and peer.
 */
export function configFromPeer(raw: unknown): ClusterConfig | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { voters, learners, addresses } = raw as Record<string, unknown>;
  if (!Array.isArray(voters) || !Array.isArray(learners) || voters.length === 0) return undefined;
  if (voters.length + learners.length > PEER_CONFIG_MEMBERS_MAX) return undefined;
  const members = [...voters, ...learners] as unknown[];
  if (!members.every(isMemberId) || new Set(members).size !== members.length) return undefined;
  if (typeof addresses !== 'object' || addresses === null || Array.isArray(addresses)) return undefined;
  const entries = Object.entries(addresses as Record<string, unknown>);
  if (entries.length > members.length) return undefined;
  const kept: Record<string, MemberAddress> = {};
  for (const [key, value] of entries) {
    if (!members.includes(Number(key)) || String(Number(key)) !== key) return undefined;
    const address = addressOf(value);
    if (!address) return undefined;
    kept[key] = address;
  }
  return clusterConfig(voters as number[], learners as number[], kept);
}

function addressOf(raw: unknown): MemberAddress | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { client, peer } = raw as Record<string, unknown>;
  const isAddress = (v: unknown): v is string =>
    typeof v === 'string' && v.length <= ADDRESS_CHARS_MAX && v.trim() === v && parseHostPort(v) !== undefined;
  return isAddress(client) && isAddress(peer) ? { client, peer } : undefined;
}
