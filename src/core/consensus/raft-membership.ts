/**
 * Membership changes (Raft thesis §4.1; the rules in membership.ts): a change proposed on the
 * leader, in force once appended (on every member), the leader's Progress kept to the
 * configuration, and a leader that removed itself leaving once the removal commits. A layer of
 * the core (raft-state.ts).
 */
import { isVoter } from './cluster-config.ts';
import { encodeConfChange, type ConfChange } from './conf-change.ts';
import { refuseConfChange, type ConfChangeResult } from './membership.ts';
import { newProgress } from './progress.ts';
import type { Entry } from './types.ts';
import { RaftElections } from './raft-elections.ts';

export abstract class RaftMembership extends RaftElections {
  proposeConfChange(change: ConfChange): ConfChangeResult {
    const leader = this.leader;
    if (this.role !== 'leader') return { ok: false, code: 'NOTLEADER', message: 'this member is not the leader', leader };
    if (this.transferee !== 0) return { ok: false, code: 'TRANSFERRING', message: 'leadership is being transferred; retry', leader };
    if (this.log.term(this.log.committed) !== this.term) {
      return { ok: false, code: 'NOTREADY', message: 'the leader has not yet committed an entry of its term; retry', leader };
    }
    const pending = this.confs.lastChangeIndex();
    if (pending > this.log.committed) {
      return { ok: false, code: 'CHANGEPENDING', message: `an earlier membership change (entry ${pending}) is not yet committed; retry`, leader };
    }
    const refusal = refuseConfChange({
      self: this.id, config: this.config, lastIndex: this.log.lastIndex(), promoteLagMax: this.options.promoteLagMax ?? 1000,
      progressOf: (id) => {
        const progress = this.progress.get(id);
        return progress && { match: progress.match, active: this.recentlyActive(id), answering: this.answersHeartbeats(id) };
      },
    }, change);
    if (refusal) return { ok: false, ...refusal, leader };
    const index = this.appendLocal(encodeConfChange(change));
    this.appendDue = true;
    return { ok: true, term: this.term, index };
  }

  /** Entries were appended (by this leader, or from one): the configuration may have changed. */
  protected override appended(entries: readonly Entry[]): void {
    const before = this.config;
    this.confs.appended(entries);
    const after = this.config;
    if (after === before) return;
    if (this.role === 'leader') this.trackPeers();
    // A member that no longer votes stops standing; one whose election it was no longer has one.
    if (this.learner && (this.role === 'candidate' || this.role === 'precandidate')) this.becomeFollower(this.term, 0);
  }

  /** A leader replicates to exactly the members of the configuration in force. */
  protected override trackPeers(): void {
    const peers = new Set(this.peers);
    for (const [id, progress] of [...this.progress]) {
      if (peers.has(id)) continue;
      this.progress.delete(id);
      // A parting append anchored at its removal commits it there, if it holds it: then it knows it may no longer stand.
      const prevIndex = this.confs.lastChangeIndex();
      const prevTerm = this.log.term(prevIndex);
      if (progress.match > 0 && prevTerm !== undefined && prevIndex <= this.log.committed) {
        this.send({ type: 'MsgApp', from: this.id, to: id, term: this.term, prevIndex, prevTerm, entries: [], commit: this.log.committed });
      }
    }
    for (const id of peers) if (!this.progress.has(id)) this.progress.set(id, newProgress(this.log.lastIndex(), -Infinity));
    if (this.transferee !== 0 && !isVoter(this.config, this.transferee)) this.transferee = 0;
  }

  /**
   * A leader whose removal is committed hands over (MsgTimeoutNow to its most caught-up voter,
   * when that one has the whole log) and steps down; the others elect a leader among themselves.
   */
  protected override maybeLeaveAfterRemoval(): void {
    if (this.role !== 'leader' || isVoter(this.config, this.id) || this.log.committed < this.confs.lastChangeIndex()) return;
    const successor = this.mostCaughtUpVoter();
    if (successor !== 0 && this.progress.get(successor)?.match === this.log.lastIndex()) {
      this.send({ type: 'MsgTimeoutNow', from: this.id, to: successor, term: this.term });
    }
    this.becomeFollower(this.term, 0);
  }
}
