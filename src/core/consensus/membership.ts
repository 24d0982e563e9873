/**
 * The leader's rules for a membership change (Raft thesis §4.1–4.2.1, etcd-raft's confchange
 * checks), as a pure function of its view of the cluster:
 * - one change at a time: none while an earlier one is in the log uncommitted;
 * - none before the leader has committed an entry of its own term (the thesis' bug fix: a new
 *   leader may not yet know of a change an old leader appended, and two overlapping changes by
 *   different leaders could lose the majority overlap);
 * - a change must leave a quorum of voters that the leader has heard from lately (so removing a
 *   voter, or adding one that would raise the quorum, never wedges the cluster); for a removal,
 *   "lately" is the last two heartbeats, not an election timeout: a voter that died a moment ago
 *   must not make up the quorum of the configuration that drops a live one (docs/operations.md
 *   says what is left of that race);
 * - a learner is promoted only once it holds the log to within `promoteLagMax` entries of the
 *   leader's, so the new voter does not hold commits back while it catches up.
 */
import { isMember, isVoter, quorumOf, type ClusterConfig } from './cluster-config.ts';
import { applyConfChange, type ConfChange } from './conf-change.ts';

export type ConfChangeCode =
  | 'NOTLEADER' | 'TRANSFERRING' | 'NOTREADY' | 'CHANGEPENDING' | 'NOMEMBER' | 'MEMBEREXISTS' | 'NOTLEARNER' | 'NOTCAUGHTUP' | 'QUORUM';

export interface ConfChangeRefusal {
  readonly ok: false;
  readonly code: ConfChangeCode;
  readonly message: string;
  /** The leader known (0: none), for the caller to send the operator there. */
  readonly leader: number;
}

export type ConfChangeResult = { readonly ok: true; readonly term: number; readonly index: number } | ConfChangeRefusal;

/** What the leader knows of each member for the checks. */
export interface LeaderView {
  readonly self: number;
  readonly config: ClusterConfig;
  readonly lastIndex: number;
  /**
   * A member's known match, whether it answered within the last election timeout (`active`) and
   * whether it answered one of the last two heartbeats (`answering`); undefined when not tracked.
   */
  progressOf(id: number): { readonly match: number; readonly active: boolean; readonly answering: boolean } | undefined;
  readonly promoteLagMax: number;
}

type Refusal = Omit<ConfChangeRefusal, 'ok' | 'leader'>;

/** Why `change` may not be proposed now (undefined: it may), given no other change is pending. */
export function refuseConfChange(view: LeaderView, change: ConfChange): Refusal | undefined {
  const { config, self } = view;
  const id = change.id;
  switch (change.type) {
    case 'addLearner':
      if (isMember(config, id)) return { code: 'MEMBEREXISTS', message: `member ${id} is already in the cluster` };
      return undefined; // a learner counts toward no quorum
    case 'promote': {
      if (!isMember(config, id)) return { code: 'NOMEMBER', message: `member ${id} is not in the cluster` };
      if (!config.learners.includes(id)) return { code: 'NOTLEARNER', message: `member ${id} already votes` };
      const progress = view.progressOf(id);
      const lag = progress ? view.lastIndex - progress.match : Infinity;
      if (!progress?.active || lag > view.promoteLagMax) {
        const why = !progress?.active ? 'has not answered lately' : `lags ${lag} entries behind the leader (at most ${view.promoteLagMax})`;
        return { code: 'NOTCAUGHTUP', message: `learner ${id} ${why}: it is promoted once caught up` };
      }
      return quorumRefusal(view, applyConfChange(config, change), `promoting ${id}`, undefined, 'active');
    }
    case 'remove': {
      if (!isMember(config, id)) return { code: 'NOMEMBER', message: `member ${id} is not in the cluster` };
      if (isVoter(config, id) && config.voters.length === 1) return { code: 'QUORUM', message: `member ${id} is the last voter` };
      if (!isVoter(config, id)) return undefined;
      // A promotion adds a live voter (checked above) and raises the quorum by one at most, so it
      // cannot lose a quorum that was there; a removal can, so only voters answering now count.
      return quorumRefusal(view, applyConfChange(config, change), `removing ${id}`, id === self ? 'itself' : undefined, 'answering');
    }
  }
}

/**
 * The change must leave at least a quorum of the new voters that answered lately, by `lately`
 * (the leader counts if it stays).
 */
function quorumRefusal(view: LeaderView, next: ClusterConfig, what: string, leaving: string | undefined, lately: 'active' | 'answering'): Refusal | undefined {
  const live = next.voters.filter((id) => id === view.self || view.progressOf(id)?.[lately] === true);
  const needed = quorumOf(next);
  if (live.length >= needed) return undefined;
  const note = leaving ? ` (the leader is removing ${leaving})` : '';
  const counted = lately === 'active' ? '' : '; only voters that answered one of the last two heartbeats count';
  return {
    code: 'QUORUM',
    message: `${what} would leave ${live.length} recently active voter(s) (${live.join(', ') || 'none'}) of ${next.voters.length}, fewer than the quorum of ${needed}${note}${counted}`,
  };
}
