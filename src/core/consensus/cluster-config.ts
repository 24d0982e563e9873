/**
 * Who the cluster is (etcd-raft's ProgressTracker Config): the voters, whose majority decides
 * everything (commit, elections, ReadIndex, check-quorum), and the learners (ZooKeeper's
 * observers), which get the log like any follower but never vote, never campaign and count
 * toward no quorum. A later membership change replaces the whole value through the log (a
 * learner promoted is moved from one list to the other); nothing here mutates it.
 *
 * Invariants: at least one voter; no member in both lists; no member twice.
 */
import { assert } from '../errors.ts';

export interface ClusterConfig {
  readonly voters: readonly number[];
  readonly learners: readonly number[];
}

export function clusterConfig(voters: readonly number[], learners: readonly number[] = []): ClusterConfig {
  assert(voters.length > 0, 'a cluster needs at least one voter');
  const all = [...voters, ...learners];
  assert(new Set(all).size === all.length, `members listed twice or both voter and learner: voters ${voters.join(',')}, learners ${learners.join(',')}`);
  return { voters: [...voters], learners: [...learners] };
}

/** Votes a majority of the voters needs. */
export function quorumOf(config: ClusterConfig): number {
  return Math.floor(config.voters.length / 2) + 1;
}

export function isVoter(config: ClusterConfig, id: number): boolean {
  return config.voters.includes(id);
}

export function isMember(config: ClusterConfig, id: number): boolean {
  return config.voters.includes(id) || config.learners.includes(id);
}

/** Everyone but `self`: who gets the leader's appends and heartbeats. */
export function peersOf(config: ClusterConfig, self: number): number[] {
  return [...config.voters, ...config.learners].filter((m) => m !== self);
}

/** Voters but `self`: who a candidate asks for votes. */
export function votingPeersOf(config: ClusterConfig, self: number): number[] {
  return config.voters.filter((m) => m !== self);
}

/**
 * The largest index a majority of the voters has reached, given each voter's match (`matchOf`);
 * a learner's match never counts.
 */
export function committedIndex(config: ClusterConfig, matchOf: (voter: number) => number): number {
  const sorted = config.voters.map(matchOf).sort((a, b) => b - a);
  return sorted[quorumOf(config) - 1]!;
}

/** An election's outcome from the answers so far; only voters' answers count. */
export function voteResult(config: ClusterConfig, votes: ReadonlyMap<number, boolean>): 'won' | 'lost' | 'pending' {
  let granted = 0;
  let rejected = 0;
  for (const voter of config.voters) {
    const vote = votes.get(voter);
    if (vote === true) granted++;
    else if (vote === false) rejected++;
  }
  const quorum = quorumOf(config);
  if (granted >= quorum) return 'won';
  return rejected >= quorum ? 'lost' : 'pending';
}
