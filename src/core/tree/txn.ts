/**
 * Transactions: what the log carries and every replica applies. A transaction is produced by
 * prepare() from a client request (paths validated, time stamped) and is applied by
 * DataTree.apply(), which checks state (existence, versions) deterministically, so every replica
 * reaches the same result from the same log.
 */
import type { PersistentMode, RemoveType } from '../watch/watch-registry.ts';
import type { Acl } from '../acl/acl.ts';
import type { CreateMode } from './znode.ts';

export type WriteOp =
  | {
      readonly type: 'create';
      readonly path: string;
      readonly data: Uint8Array;
      readonly mode: CreateMode;
      /** -1 (NO_TTL) when the request gave none. */
      readonly ttlMs: number;
      /** As stored: `auth` entries already expanded by prepare (see fixupAcl). */
      readonly acl: Acl;
    }
  | { readonly type: 'delete'; readonly path: string; readonly version: number }
  | {
      readonly type: 'setData';
      readonly path: string;
      readonly data: Uint8Array;
      readonly version: number;
    }
  | { readonly type: 'check'; readonly path: string; readonly version: number }
  /** setACL: only on its own (ZooKeeper's multi has no setACL); `version` is checked against aversion. */
  | { readonly type: 'setACL'; readonly path: string; readonly acl: Acl; readonly version: number };

export type Txn =
  /** Client writes: one op, or a multi applied all-or-nothing. `sessionId` 0 means none. */
  | {
      readonly type: 'write';
      readonly ops: readonly WriteOp[];
      readonly multi: boolean;
      readonly sessionId: number;
      /** The caller's identities (`scheme:id`, `ip:` included): what the ACL checks at apply see. */
      readonly auth: readonly string[];
      /**
       * The client's id for this request (Zk-Request-Id), if it gave one, in its client's own
       * namespace: a retry with the same id, through any member, gets the first answer instead
       * of being applied again.
       */
      readonly request?: RequestTag;
      /**
       * Refuse a create or setData past a quota's hard limit (QUOTAEXCEEDED). Stamped by the leader
       * from its --enforce-quota, so every replica reaches the same verdict whatever its own config;
       * absent (not false) otherwise, so older log entries read the same.
       */
      readonly enforceQuota?: true;
    }
  /** Server cleanup of a container or TTL node; re-checked at apply, so a stale one is a no-op. */
  | { readonly type: 'reap'; readonly path: string; readonly czxid: number }
  /** Opens a session; its id is the zxid of this txn. The token itself never enters the log. */
  | {
      readonly type: 'createSession'; readonly timeoutMs: number; readonly tokenHash: string;
      /** The opener's identities: the session's watches deliver only what they may read. */
      readonly auth: readonly string[];
    }
  /** Ends a session (closed by its client, or expired by the leader) and deletes its ephemerals. */
  | { readonly type: 'closeSession'; readonly sessionId: number; readonly reason: SessionEndReason }
  /** Sets or removes a session's watches (a watched read reads at apply: atomic with the watch). */
  | { readonly type: 'watch'; readonly sessionId: number; readonly request: WatchRequest; readonly auth: readonly string[] }
  /** A leader's first entry of its term; changes nothing. */
  | { readonly type: 'noop' };

/**
 * A request id in the namespace of the client that sent it: `client` is `session:<id>` for a
 * request acting for a session, else the caller's principal (see src/http/caller.ts). Two clients
 * never share a namespace, so one cannot claim or read another's ids.
 */
export interface RequestTag {
  readonly client: string;
  readonly id: string;
}

export type WatchRequest =
  /** A read that sets a one-shot watch: exists and stat set a data watch even on a missing node. */
  | { readonly op: 'getData' | 'exists' | 'getChildren'; readonly path: string }
  | { readonly op: 'addWatch'; readonly path: string; readonly mode: PersistentMode }
  | { readonly op: 'removeWatches'; readonly path: string; readonly watchType: RemoveType };

export type SessionEndReason = 'closed' | 'expired';

/** What the log stores for one entry: the txn and the leader's clock when it was prepared. */
export interface TxnEnvelope {
  readonly timeMs: number;
  readonly txn: Txn;
}
