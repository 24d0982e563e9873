/**
 * Membership changes as an operator asks for them (the admin routes, the CLI): list the members
 * with their roles and lag; add one (a learner, promoted once caught up unless asked not to);
 * promote; remove; replace (add the new one, promote it once caught up, remove the old one).
 * Each step is one single-server change through the log (the core's rules: membership.ts); a
 * step refused for a reason that passes (another change pending, a new leader, a learner still
 * catching up) is retried until the caller's deadline. Runs on the leader; elsewhere the answer
 * names the leader.
 *
 * Outcomes are values: the configuration after the change, or a ZkError with ZooKeeper's
 * reconfig codes (NEWCONFIGNOQUORUM: the change would lose the quorum or the learner lags;
 * RECONFIGINPROGRESS: another change is under way; CONNECTIONLOSS: not the leader, or leadership
 * lost before the commit; OPERATIONTIMEOUT: not committed by the caller's deadline — it may still).
 */
import { isMember, isMemberId, isVoter, membersOf, type ClusterConfig } from '../core/consensus/cluster-config.ts';
import type { ConfChange } from '../core/consensus/conf-change.ts';
import type { ConfChangeRefusal } from '../core/consensus/membership.ts';
import type { Raft } from '../core/consensus/raft.ts';
import { zkError, type ZkError } from '../core/errors.ts';
import type { Logger } from '../observability/logger.ts';
import { parseHostPort, type MemberDirectory } from './member-directory.ts';
import { NotCommittedError, type MembershipChanged, type NodeHost } from './node-host.ts';

export interface MemberInfo {
  readonly id: number;
  readonly role: 'voter' | 'learner';
  readonly leader: boolean;
  readonly self: boolean;
  readonly client: string | null;
  readonly peer: string | null;
  /** Entries behind the leader's log (as the leader sees it; null elsewhere). */
  readonly lag: number | null;
  /** Heard from within an election timeout (as the leader sees it; null elsewhere). */
  readonly active: boolean | null;
}

export interface MembersView {
  readonly self: number;
  readonly leader: number | null;
  readonly voters: readonly number[];
  readonly learners: readonly number[];
  readonly members: readonly MemberInfo[];
}

export interface NewMember {
  readonly id: number;
  readonly client: string;
  readonly peer: string;
}

/** A change done: the log index it committed at and the members after it. */
export interface ChangeDone {
  readonly index: number;
  readonly zxid: number;
  readonly members: MembersView;
}

export interface MembershipAdminDeps {
  readonly raft: Raft;
  readonly host: NodeHost;
  readonly directory: MemberDirectory;
  readonly logger: Logger;
  readonly nowMs: () => number;
  /** Between retries of a step refused for a passing reason. */
  readonly retryMs: number;
  /**
   * How long a removal refused for want of a quorum is asked again before the refusal stands (an
   * election timeout): the core counts only voters that answered its last heartbeats, and a live
   * voter whose answers a loaded machine held up is back within it; a dead one is not.
   */
  readonly quorumGraceMs: number;
  /** Whether this node has peer links (--members with others, a secret or peer TLS): without, it cannot grow. */
  readonly clustered: boolean;
}

const RETRIED = new Set(['NOTCAUGHTUP', 'CHANGEPENDING', 'NOTREADY', 'TRANSFERRING']);

export class MembershipAdmin {
  constructor(private readonly deps: MembershipAdminDeps) {}

  list(): MembersView {
    const { raft, directory } = this.deps;
    const config = raft.clusterConfig();
    const status = raft.status();
    const leading = status.role === 'leader';
    const followers = raft.followers();
    const members = membersOf(config).map((id): MemberInfo => {
      const address = directory.addressOf(id);
      const progress = followers.get(id);
      const self = id === status.id;
      return {
        id, role: isVoter(config, id) ? 'voter' : 'learner', leader: id === status.leader, self,
        client: address?.client ?? null, peer: address?.peer ?? null,
        lag: !leading ? null : self ? 0 : progress ? Math.max(0, status.lastIndex - progress.match) : null,
        active: !leading ? null : self ? true : raft.recentlyActive(id),
      };
    });
    return { self: status.id, leader: status.leader === 0 ? null : status.leader, voters: config.voters, learners: config.learners, members };
  }

  /** Adds `member` as a learner; with `promote`, makes it a voter once it caught up. */
  async add(member: NewMember, promote: boolean, timeoutMs: number): Promise<ChangeDone | ZkError> {
    const invalid = checkNewMember(member);
    if (invalid) return invalid;
    // Without peer links the leader could not reach the new member (and has nothing to send it on).
    if (!this.deps.clustered) {
      return zkError('RECONFIGDISABLED', 'this node runs without peers (no --members with other members): restart it as a cluster to add members');
    }
    const deadline = this.deps.nowMs() + timeoutMs;
    const added = await this.step({ type: 'addLearner', id: member.id, address: { client: member.client, peer: member.peer } }, deadline);
    if (!promote || 'code' in added) return added;
    return this.step({ type: 'promote', id: member.id }, deadline);
  }

  promote(id: number, timeoutMs: number): Promise<ChangeDone | ZkError> {
    return this.step({ type: 'promote', id }, this.deps.nowMs() + timeoutMs);
  }

  remove(id: number, timeoutMs: number): Promise<ChangeDone | ZkError> {
    return this.step({ type: 'remove', id }, this.deps.nowMs() + timeoutMs);
  }

  /** Replaces member `old` (typically dead) with `member`: add as learner, promote once caught up, remove `old`. */
  async replace(old: number, member: NewMember, timeoutMs: number): Promise<ChangeDone | ZkError> {
    if (!isMember(this.deps.raft.clusterConfig(), old)) return zkError('BADARGUMENTS', `member ${old} is not in the cluster`);
    if (old === member.id) return zkError('BADARGUMENTS', 'the new member needs an id of its own');
    const deadline = this.deps.nowMs() + timeoutMs;
    const joined = isMember(this.deps.raft.clusterConfig(), member.id)
      ? undefined // a replace retried after its add: go on from where it stopped
      : await this.add(member, false, timeoutMs);
    if (joined && 'code' in joined) return joined;
    if (!isVoter(this.deps.raft.clusterConfig(), member.id)) {
      const promoted = await this.step({ type: 'promote', id: member.id }, deadline);
      if ('code' in promoted) return promoted;
    }
    return this.step({ type: 'remove', id: old }, deadline);
  }

  /** One change, retried while refused for a passing reason, until `deadlineMs`. */
  private async step(change: ConfChange, deadlineMs: number): Promise<ChangeDone | ZkError> {
    const { host, logger, nowMs, retryMs, quorumGraceMs } = this.deps;
    let quorumRefusedSince: number | undefined;
    for (;;) {
      const leftMs = deadlineMs - nowMs();
      // An earlier step (a replace's add) used the time up: propose nothing that no one would wait for.
      if (leftMs <= 0) return zkError('OPERATIONTIMEOUT', `no time left for the membership change (${change.type} ${change.id}); nothing was proposed`);
      let outcome: MembershipChanged | ConfChangeRefusal;
      try {
        // The deadline bounds the wait for the commit too, not only the retries.
        outcome = await host.changeMembership(change, leftMs);
      } catch (error) {
        if (error instanceof NotCommittedError) return error.error;
        throw error;
      }
      if (outcome.ok) {
        logger.info({ event: 'membership-changed', change: change.type, member: change.id, index: outcome.index }, `membership: ${change.type} ${change.id} committed`);
        return { index: outcome.index, zxid: outcome.zxid, members: this.list() };
      }
      const now = nowMs();
      if (outcome.code === 'QUORUM' && change.type === 'remove') quorumRefusedSince ??= now;
      const passing = RETRIED.has(outcome.code) || (quorumRefusedSince !== undefined && now - quorumRefusedSince < quorumGraceMs);
      if (!passing || now + retryMs > deadlineMs) return this.refusalError(outcome);
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  }

  private refusalError(refusal: ConfChangeRefusal): ZkError {
    switch (refusal.code) {
      case 'NOTLEADER': {
        const address = refusal.leader === 0 ? undefined : this.deps.directory.addressOf(refusal.leader)?.client;
        const where = refusal.leader === 0 ? 'no leader is known' : `the leader is member ${refusal.leader}${address ? ` at ${address}` : ''}`;
        return zkError('CONNECTIONLOSS', `membership changes are made on the leader; ${where}`);
      }
      case 'TRANSFERRING':
      case 'NOTREADY':
      case 'CHANGEPENDING':
        return zkError('RECONFIGINPROGRESS', refusal.message);
      case 'NOMEMBER':
      case 'NOTLEARNER':
        return zkError('BADARGUMENTS', refusal.message);
      case 'MEMBEREXISTS':
        return zkError('NODEEXISTS', refusal.message);
      case 'NOTCAUGHTUP':
      case 'QUORUM':
        return zkError('NEWCONFIGNOQUORUM', refusal.message);
    }
  }
}

/** A new member's id and addresses are well formed (an id is a positive integer; addresses host:port). */
export function checkNewMember(member: NewMember): ZkError | undefined {
  if (!isMemberId(member.id)) return zkError('BADARGUMENTS', '"id" must be a member id (a positive integer)');
  if (!parseHostPort(member.client)) return zkError('BADARGUMENTS', `"client" must be host:port, got ${JSON.stringify(member.client)}`);
  if (!parseHostPort(member.peer)) return zkError('BADARGUMENTS', `"peer" must be host:port, got ${JSON.stringify(member.peer)}`);
  return undefined;
}

export type { ClusterConfig };
