/**
 * Membership changes as log entries (Raft thesis §4.1, single-server changes): add a learner,
 * promote a learner to voter, remove a member. Each changes the voters by at most one, so any
 * majority of the old voters overlaps any majority of the new: no joint consensus is needed, as
 * long as one change is in the log uncommitted at a time (raft.ts refuses a second).
 *
 * A change entry's data is `conf:` + JSON: a transaction's data is '' or a JSON object, so the
 * two never collide, and the storage, the wire and the simulation carry it like any entry.
 * Applying a change is pure and forgiving (adding a member already there, removing one that is
 * not, promoting a voter: nothing changes), so replaying the log over a configuration that
 * already holds some of its changes (a joining member's, recovery) ends at the same place.
 */
import { clusterConfig, isMemberId, type ClusterConfig, type MemberAddress } from './cluster-config.ts';

export type ConfChange =
  | { readonly type: 'addLearner'; readonly id: number; readonly address?: MemberAddress | undefined }
  | { readonly type: 'promote'; readonly id: number }
  | { readonly type: 'remove'; readonly id: number };

export const CONF_CHANGE_PREFIX = 'conf:';

export function encodeConfChange(change: ConfChange): string {
  return CONF_CHANGE_PREFIX + JSON.stringify(change);
}

export function isConfChangeData(data: string): boolean {
  return data.startsWith(CONF_CHANGE_PREFIX);
}

function addressOf(raw: unknown): MemberAddress | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { client, peer } = raw as Record<string, unknown>;
  return typeof client === 'string' && typeof peer === 'string' ? { client, peer } : undefined;
}

/** The change an entry's data holds; undefined for any other entry (or one this version cannot read). */
export function decodeConfChange(data: string): ConfChange | undefined {
  if (!isConfChangeData(data)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(data.slice(CONF_CHANGE_PREFIX.length));
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { type, id, address } = raw as Record<string, unknown>;
  if (!isMemberId(id)) return undefined;
  if (type === 'promote' || type === 'remove') return { type, id };
  if (type === 'addLearner') return { type, id, address: addressOf(address) };
  return undefined;
}

/**
 * The configuration after `change`. Removing the last voter is the one change that cannot be
 * applied (a cluster needs a voter): it leaves the configuration as it is (raft.ts refuses it).
 */
export function applyConfChange(config: ClusterConfig, change: ConfChange): ClusterConfig {
  const { voters, learners, addresses } = config;
  const id = change.id;
  switch (change.type) {
    case 'addLearner': {
      const address = change.address ? { [String(id)]: change.address } : {};
      const known = voters.includes(id) || learners.includes(id);
      return clusterConfig(voters, known ? learners : [...learners, id], { ...addresses, ...address });
    }
    case 'promote':
      if (!learners.includes(id)) return config;
      return clusterConfig([...voters, id], learners.filter((m) => m !== id), addresses);
    case 'remove': {
      const left = voters.filter((m) => m !== id);
      if (left.length === 0) return config;
      return clusterConfig(left, learners.filter((m) => m !== id), addresses);
    }
  }
}

/** A one-line description for logs and traces. */
export function describeConfChange(change: ConfChange): string {
  return change.type === 'addLearner' ? `add learner ${change.id}` : `${change.type} ${change.id}`;
}
