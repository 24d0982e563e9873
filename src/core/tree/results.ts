/** What applying a transaction produces: a result for the waiting request and watch events. */
import type { Acl } from '../acl/acl.ts';
import type { ZkError } from '../errors.ts';
import type { Delivery } from '../watch/watch-registry.ts';
import type { Stat } from './znode.ts';

export type OpResult =
  | { readonly type: 'create'; readonly path: string; readonly stat: Stat }
  | { readonly type: 'setData'; readonly path: string; readonly stat: Stat }
  | { readonly type: 'delete'; readonly path: string }
  | { readonly type: 'check'; readonly path: string }
  | { readonly type: 'setACL'; readonly path: string; readonly stat: Stat };

export type WriteResult =
  | { readonly ok: true; readonly results: readonly OpResult[] }
  | { readonly ok: false; readonly failedOp: number; readonly error: ZkError };

export type EventType =
  | 'NodeCreated'
  | 'NodeDeleted'
  | 'NodeDataChanged'
  | 'NodeChildrenChanged'
  | 'DataWatchRemoved'
  | 'ChildWatchRemoved';

export interface TreeEvent {
  readonly type: EventType;
  readonly path: string;
  readonly zxid: number;
  /**
   * The ACL of the node the event is about, as it was at the change (a deleted node's last one):
   * a recursive watcher hears of a descendant only with READ on it. Absent on watch-removal events.
   */
  readonly acl?: Acl;
}

export type SessionResult =
  | { readonly ok: true; readonly sessionId: number }
  | { readonly ok: false; readonly error: ZkError };

/** A session that ended in this txn: its watchers get the txn's events, then the end. */
export interface SessionEnd {
  readonly sessionId: number;
  readonly reason: 'closed' | 'expired';
  /** Kept so the ended session's stream can still be read to its end. */
  readonly tokenHash: string;
}

/** A watched read as of its transaction (the node's data and Stat, or its children), or why not. */
export type WatchResult =
  | { readonly ok: true; readonly watch: true; readonly stat?: Stat; readonly data?: Uint8Array; readonly children?: readonly string[] }
  | { readonly ok: false; readonly watch: true; readonly error: ZkError };

export interface ApplyOutput {
  /** Present for client txns; absent for server txns (reap, noop). */
  readonly result?: WriteResult | SessionResult | WatchResult;
  readonly events: readonly TreeEvent[];
  /** Which session gets which of the events (and watch-removal events), in order. */
  readonly deliveries?: readonly Delivery[];
  readonly sessionEnd?: SessionEnd;
  /**
   * Set when the txn was a retry of a request id already answered: `result` is that first answer
   * and this the zxid it was applied at (the retry changed nothing).
   */
  readonly firstZxid?: number;
  /**
   * Quota limits this txn's writes passed (src/core/tree/quota.ts), in order: what the node logs,
   * as ZooKeeper 3.6's DataTree did. Absent when none was.
   */
  readonly quotaExceeded?: readonly QuotaExceeded[];
}

/** A create or setData that took a quota root's count or bytes past a limit. */
export interface QuotaExceeded {
  /** The quota root (`/p` for `/zookeeper/quota/p/zookeeper_limits`). */
  readonly root: string;
  readonly what: 'count' | 'bytes';
  /** The count or bytes the write would make it. */
  readonly value: number;
  /** The hard limit if one is set, else the soft one. */
  readonly limit: number;
  readonly hard: boolean;
  /** The write was refused (QUOTAEXCEEDED): a hard limit, with enforcement stamped on the txn. */
  readonly refused: boolean;
}

export function isWriteResult(result: WriteResult | SessionResult | WatchResult): result is WriteResult {
  return 'results' in result || 'failedOp' in result;
}

export function isWatchResult(result: WriteResult | SessionResult | WatchResult): result is WatchResult {
  return 'watch' in result;
}
