/**
 * Replication (Raft §5.3, thesis §10.2.1): the leader's appends, heartbeats and checkpoints to
 * each follower as its Progress says, log matching on the follower, the answers moving each
 * Progress, and the quorum commit of entries of the leader's term. A layer of the core (raft-state.ts).
 */
import { assert } from '../errors.ts';
import { committedIndex, isVoter } from './cluster-config.ts';
import type { AppendRequest, AppendResponse, SnapshotRequest } from './messages.ts';
import { RaftState } from './raft-state.ts';

export abstract class RaftReplication extends RaftState {
  protected bcastHeartbeat(context: string | undefined): void {
    for (const peer of this.peers) {
      const commit = Math.min(this.progress.get(peer)!.match, this.log.committed);
      this.send({ type: 'MsgHeartbeat', from: this.id, to: peer, term: this.term, commit, ...(context === undefined ? {} : { context }) });
    }
  }

  protected appendLocal(data: string): number {
    const index = this.log.lastIndex() + 1;
    this.log.append([{ term: this.term, index, data }]);
    this.maybeCommit();
    return index;
  }

  protected bcastAppend(): void {
    for (const peer of this.peers) this.sendAppend(peer);
  }

  protected sendAppend(to: number): void {
    const progress = this.progress.get(to)!;
    if (progress.pendingSnapshot > 0) return;
    const prevIndex = progress.next - 1;
    const prevTerm = this.log.term(prevIndex);
    // The entries the follower needs are gone behind a checkpoint: it gets the checkpoint.
    if (prevTerm === undefined) {
      const snapshotIndex = this.log.firstIndex() - 1;
      progress.probing = true;
      progress.pendingSnapshot = snapshotIndex;
      progress.snapshotTicks = 2 * this.options.electionTicks;
      const config = this.confs.at(snapshotIndex);
      return this.send({ type: 'MsgSnap', from: this.id, to, term: this.term, snapshotIndex, snapshotTerm: this.log.term(snapshotIndex)!, config });
    }
    const max = this.options.maxEntriesPerMessage ?? 256;
    const entries = progress.probing && progress.match < prevIndex ? [] : this.log.entries(progress.next, this.log.lastIndex() + 1, max);
    this.send({ type: 'MsgApp', from: this.id, to, term: this.term, prevIndex, prevTerm, entries, commit: this.log.committed });
    if (entries.length > 0 && !progress.probing) progress.next = entries[entries.length - 1]!.index + 1;
  }

  /**
   * Commits the highest index a quorum holds durably, if it is of the current term (Raft §5.4.2).
   * The leader's own vote is its durable index, not its last: what it appended counts once persisted.
   */
  protected maybeCommit(): void {
    const own = this.log.durableIndex();
    const index = committedIndex(this.config, (voter) => (voter === this.id ? own : this.progress.get(voter)!.match));
    if (index > this.log.committed && this.log.term(index) === this.term) {
      const committed = this.log.committed;
      this.log.commitTo(index);
      assert(this.log.committed > committed && this.log.committed <= this.log.lastIndex(), `commit moved from ${committed} to ${this.log.committed}`);
      for (const { context, from } of this.reads.takeDeferred()) this.leaderRead(context, from);
      // A removal committed: the member removed is replicated to no more.
      if (committed < this.confs.lastChangeIndex() && this.confs.lastChangeIndex() <= index) this.trackPeers();
      this.maybeLeaveAfterRemoval();
    }
  }

  protected handleAppend(message: AppendRequest): void {
    this.becomeFollower(message.term, message.from);
    if (message.prevIndex < this.log.committed) {
      // Already have (and committed) that prefix: answer with our commit point.
      return this.send({ type: 'MsgAppResp', from: this.id, to: message.from, term: this.term, index: this.log.committed, rejected: false });
    }
    const last = this.log.maybeAppend(message.prevIndex, message.prevTerm, message.commit, message.entries);
    if (last !== undefined) {
      this.send({ type: 'MsgAppResp', from: this.id, to: message.from, term: this.term, index: last, rejected: false });
    } else {
      this.send({ type: 'MsgAppResp', from: this.id, to: message.from, term: this.term, index: Math.min(message.prevIndex - 1, this.log.lastIndex()), rejected: true });
    }
  }

  /** The host installed the leader's checkpoint before stepping this: restart the log after it. */
  protected handleSnapshot(message: SnapshotRequest): void {
    this.becomeFollower(message.term, message.from);
    if (message.snapshotIndex > this.log.committed) {
      // Our log already holds the checkpoint's last entry (a late or duplicated MsgSnap): keep it,
      // since entries past it may have been acknowledged to the leader and count in its quorum.
      if (this.log.term(message.snapshotIndex) === message.snapshotTerm) this.log.commitTo(message.snapshotIndex);
      else this.restore(message);
    }
    this.send({ type: 'MsgAppResp', from: this.id, to: message.from, term: this.term, index: this.log.committed, rejected: false });
  }

  /** The log restarts after the leader's checkpoint, and the configuration with the one it held. */
  protected restore(message: SnapshotRequest): void {
    const before = this.config;
    this.log.restore(message.snapshotIndex, message.snapshotTerm);
    // From a leader of a version before membership changes: the configuration never changed.
    this.confs.restore(message.snapshotIndex, message.config ?? before);
  }

  protected handleAppendResponse(message: AppendResponse): void {
    const progress = this.role === 'leader' ? this.progress.get(message.from) : undefined;
    if (!progress) return;
    progress.recentActive = true;
    progress.heardAt = this.leaderTicks;
    // Any answer says where the follower is now: a checkpoint sent is installed or not needed.
    if (progress.pendingSnapshot > 0 && (message.rejected || message.index >= progress.pendingSnapshot)) progress.pendingSnapshot = 0;
    if (message.rejected) {
      // A late or duplicated rejection about entries the follower is known to hold says nothing new.
      if (message.index < progress.match) return;
      // Log matching failed at next-1: probe further back (the hint is the follower's last index).
      progress.next = Math.max(progress.match + 1, Math.min(progress.next - 1, message.index + 1));
      progress.probing = true;
      return this.sendAppend(message.from);
    }
    progress.next = Math.max(progress.next, message.index + 1);
    if (message.index > progress.match) {
      progress.match = message.index;
      progress.probing = false;
      if (message.from === this.transferee) this.maybeSendTimeoutNow();
      const committed = this.log.committed;
      this.maybeCommit();
      // Tell the followers at once rather than at the next heartbeat.
      if (this.log.committed > committed) {
        this.appendDue = true;
        return;
      }
    }
    if (progress.next <= this.log.lastIndex()) this.sendAppend(message.from);
  }

  protected handleHeartbeatResponse(from: number, context: string | undefined): void {
    const progress = this.role === 'leader' ? this.progress.get(from) : undefined;
    if (!progress) return;
    progress.recentActive = true;
    progress.heardAt = this.leaderTicks;
    // A learner's answer confirms nothing: the leader may have lost its voters.
    if (context !== undefined && isVoter(this.config, from)) {
      for (const read of this.reads.ack(context, from, this.quorum)) this.grantRead(read);
    }
    if (progress.match < this.log.lastIndex()) this.sendAppend(from);
  }
}
