/**
 * Who the cluster is (etcd-raft's ProgressTracker Config): the voters, whose majority decides
 * everything (commit, elections, ReadIndex, check-quorum), and the learners (ZooKeeper's
 * observers), which get the log like any follower but never vote, never campaign and count
 * toward no quorum. A later membership change replaces the whole value through the log (a
 * learner promoted is moved from one list to the other); nothing here mutates it. Each member may
 * carry its addresses (where clients and peers reach it): opaque to consensus, they ride along so
 * that every member learns a new one's from the log (conf-change.ts).
 *
 * Invariants: at least one voter; no member in both lists; no member twice.
 */
import { assert } from '../errors.ts';

/** Where a member serves clients (host:port) and where the other members dial it (host:port). */
export interface MemberAddress {
  readonly client: string;
  readonly peer: string;
}

export interface ClusterConfig {
  readonly voters: readonly number[];
  readonly learners: readonly number[];
  /** Addresses by member id (as a decimal string); a member may have none (a test's, or a founder's before any change). */
  readonly addresses: Readonly<Record<string, MemberAddress>>;
}

export function clusterConfig(
  voters: readonly number[], learners: readonly number[] = [], addresses: Readonly<Record<string, MemberAddress>> = {},
): ClusterConfig {
  assert(voters.length > 0, 'a cluster needs at least one voter');
  const all = [...voters, ...learners];
  assert(new Set(all).size === all.length, `members listed twice or both voter and learner: voters ${voters.join(',')}, learners ${learners.join(',')}`);
  const kept: Record<string, MemberAddress> = {};
  for (const id of all) {
    const address = addresses[String(id)];
    if (address) kept[String(id)] = { client: address.client, peer: address.peer };
  }
  return { voters: [...voters], learners: [...learners], addresses: kept };
}

/** A member id: a positive safe integer. */
export function isMemberId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

/** A member id written in decimal (a URL segment, a CLI argument), or undefined when `text` is not one. */
export function parseMemberId(text: string): number | undefined {
  if (!/^[1-9]\d{0,15}$/.test(text)) return undefined;
  const id = Number(text);
  return isMemberId(id) ? id : undefined;
}

/** Every member, voters first. */
export function membersOf(config: ClusterConfig): number[] {
  return [...config.voters, ...config.learners];
}

export function sameConfig(a: ClusterConfig, b: ClusterConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
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
  // Sorted by insertion, largest first: voters are a handful, and sort() with a comparator cost
  // ~130 ns a call against ~20 (the leader computes this for every acknowledgement).
  const voters = config.voters;
  const sorted = new Array<number>(voters.length);
  for (let i = 0; i < voters.length; i++) {
    const match = matchOf(voters[i]!);
    let at = i;
    for (; at > 0 && sorted[at - 1]! < match; at--) sorted[at] = sorted[at - 1]!;
    sorted[at] = match;
  }
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
