/**
 * Messages between members of the replicated core (Raft's mechanics, Zab's guarantees).
 * Discriminated by `type`; every message carries the sender's term.
 */
import type { CheckpointImage } from '../tree/checkpoint-image.ts';
import type { ClusterConfig } from './cluster-config.ts';
import type { Entry } from './types.ts';

interface Base {
  readonly from: number;
  readonly to: number;
  readonly term: number;
}

/** A (pre-)vote request: "I have a log this up to date; will you vote for me in `term`?" */
export interface VoteRequest extends Base {
  readonly type: 'MsgVote' | 'MsgPreVote';
  readonly lastIndex: number;
  readonly lastTerm: number;
  /**
   * Set on a MsgVote of a leadership transfer (etcd's campaignTransfer): the current leader asked
   * for it, so voters grant it even while their check-quorum lease on that leader holds.
   */
  readonly transfer?: true;
}

export interface VoteResponse extends Base {
  readonly type: 'MsgVoteResp' | 'MsgPreVoteResp';
  readonly granted: boolean;
}

/** Append entries after (prevIndex, prevTerm); also carries the leader's commit index. */
export interface AppendRequest extends Base {
  readonly type: 'MsgApp';
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

export interface AppendResponse extends Base {
  readonly type: 'MsgAppResp';
  /** On success the follower's last matching index; on rejection, a hint where to probe. */
  readonly index: number;
  readonly rejected: boolean;
}

export interface Heartbeat extends Base {
  readonly type: 'MsgHeartbeat';
  readonly commit: number;
  /** Set when the heartbeat confirms leadership for a read (ReadIndex): echoed in the response. */
  readonly context?: string;
}

export interface HeartbeatResponse extends Base {
  readonly type: 'MsgHeartbeatResp';
  readonly context?: string;
}

/** A follower asks the leader for a read index (a linearizable read served by the follower). */
export interface ReadIndexRequest extends Base {
  readonly type: 'MsgReadIndex';
  readonly context: string;
}

/** The leader's commit index at the request, confirmed by a quorum still following it. */
export interface ReadIndexResponse extends Base {
  readonly type: 'MsgReadIndexResp';
  readonly context: string;
  readonly index: number;
}

/**
 * "Your next entries are compacted away: take my checkpoint at (snapshotIndex, snapshotTerm)."
 * The core carries only the position; the hosts move the checkpoint itself (the sender's host
 * attaches it, the receiver's keeps it for the install the core then asks for).
 */
export interface SnapshotRequest extends Base {
  readonly type: 'MsgSnap';
  readonly snapshotIndex: number;
  readonly snapshotTerm: number;
  /** The configuration as of the checkpoint (absent from a leader of a version before membership changes). */
  readonly config?: ClusterConfig;
  /** The checkpoint itself, attached by the sending host; never read by the core. */
  readonly checkpoint?: CheckpointImage;
}

/**
 * "Hand leadership to `transferee`" (Raft thesis §3.10, etcd's MsgTransferLeader): the host asks
 * its own core, and a follower forwards it to the leader. It carries no term (term 0): a request,
 * not a claim, it is never stale and never raises anyone's term.
 */
export interface TransferLeaderRequest extends Base {
  readonly type: 'MsgTransferLeader';
  readonly transferee: number;
}

/** The leader to the transferee, whose log now matches its own: "campaign at once, skipping pre-vote". */
export interface TimeoutNow extends Base {
  readonly type: 'MsgTimeoutNow';
}

export type RaftMessage =
  | VoteRequest | VoteResponse | AppendRequest | AppendResponse | Heartbeat | HeartbeatResponse | SnapshotRequest
  | ReadIndexRequest | ReadIndexResponse | TransferLeaderRequest | TimeoutNow;
