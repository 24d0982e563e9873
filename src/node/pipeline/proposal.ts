/**
 * What a member asks the leader to order: a client's request, parsed and checked, as a typed
 * proposal — never an HTTP request. A follower sends it to the leader over the peer link (etcd's
 * stepFollower forwarding MsgProp); the leader prepares it against its latest state, stamps its
 * clock, proposes it and answers `{zxid, result}`. Either way the caller gets the same outcome.
 */
import type { ZkError } from '../../core/errors.ts';
import type { ApplyOutput } from '../../core/tree/results.ts';
import type { Txn } from '../../core/tree/txn.ts';

type WithoutAuth<T> = T extends unknown ? Omit<T, 'auth'> : never;

/**
 * The transactions a client's request becomes (server cleanup and the leader's noop are the
 * leader's own), without the caller's identities: the leader stamps those from the request's.
 */
export type ClientTxn = WithoutAuth<Extract<Txn, { readonly type: 'write' | 'createSession' | 'closeSession' | 'watch' }>>;

export type Proposal =
  /** Ordered through the log; answered once applied. */
  | { readonly type: 'txn'; readonly txn: ClientTxn }
  /** A session heard from: only the leader expires sessions, so it must hear too. Not logged. */
  | { readonly type: 'keepalive'; readonly sessionId: number };

/** How long a client's request waits for its proposal by default before its outcome is unknown (503). */
export const PROPOSAL_DEADLINE_MS = 10_000;

/** A proposal with what the leader needs to judge and bound it. */
export interface ProposalRequest {
  readonly proposal: Proposal;
  /** The caller's identities (`scheme:id`, ZooKeeper's form, `ip:<address>` included): the txn's `auth`. */
  readonly identities: readonly string[];
  /** Wall-clock ms after which the caller no longer waits; the leader drops one already past it. */
  readonly deadlineMs: number;
}

export type ProposalOutcome =
  /** Applied at `zxid` (for a duplicate request id: the first attempt's zxid and result). */
  | { readonly ok: true; readonly zxid: number; readonly result: ApplyOutput['result'] }
  /**
   * Not ordered, or its outcome is unknown: CONNECTIONLOSS (no leader, leader changed, link lost,
   * deadline passed; retry, with the same request id), THROTTLEDOP (too many in flight).
   */
  | {
      readonly ok: false;
      readonly error: ZkError;
      /** For a write the leader's prepare refused: which op (a multi's answer names it). */
      readonly failedOp?: number;
    };

/** Orders proposals: on the leader directly, on a follower through the leader. */
export interface Proposer {
  propose(request: ProposalRequest): Promise<ProposalOutcome>;
}
