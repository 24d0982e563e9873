/**
 * The interface of the replication core, in the shape of etcd's raft library: the host feeds it
 * ticks, messages and proposals, and takes back a Ready: state and entries to persist, messages
 * to send (most only after persisting), committed entries to apply in order, and the member's
 * role when it changed. No I/O, no clocks.
 *
 * Durability is the host's word: entries count as durable here (toward the leader's own quorum
 * vote, and as `committed` on any member) only once `advance` reports their Ready persisted,
 * as etcd-raft's leader acknowledges its own append only after it is stable.
 */

import type { ClusterConfig } from './cluster-config.ts';
import type { ConfChange } from './conf-change.ts';
import type { ConfChangeResult } from './membership.ts';
import type { RaftMessage } from './messages.ts';

export type { RaftMessage };

export interface Entry {
  readonly term: number;
  readonly index: number;
  /** Opaque to consensus: the host's encoded transaction; '' for a leader's empty entry. */
  readonly data: string;
}

/** What must be durable before any message that depends on it is sent. */
export interface HardState {
  readonly term: number;
  /** The member voted for in `term`, 0 for none. */
  readonly vote: number;
  readonly commit: number;
}

export type Role = 'leader' | 'follower' | 'candidate' | 'precandidate';

/** A read index granted (ReadIndex): once `index` is applied, a read sees every write acknowledged before it began. */
export interface ReadState {
  readonly context: string;
  readonly index: number;
}

/** Who this member is and whom it follows (etcd-raft's SoftState): volatile, never persisted. */
export interface SoftState {
  readonly role: Role;
  /** The leader known in `term`, 0 for none. */
  readonly leader: number;
  readonly term: number;
}

export interface Ready {
  /** Present when role, leader or term changed since the last Ready. */
  readonly softState?: SoftState | undefined;
  /**
   * Present when the configuration in force changed since the last Ready (a change appended,
   * or truncated away, or a checkpoint's installed): the host dials new members, drops removed ones.
   */
  readonly config?: ClusterConfig | undefined;
  /** Persist (with `entries`, in one storage transaction) when present. */
  readonly hardState: HardState | undefined;
  /** Append to the stable log, replacing any conflicting suffix. */
  readonly entries: readonly Entry[];
  /** Send after `hardState` and `entries` are durable. */
  readonly messages: readonly RaftMessage[];
  /**
   * Send at once, while `hardState` and `entries` are still being persisted (Raft thesis §10.2.1):
   * a leader's appends and heartbeats, which claim nothing about its own disk (its entries count
   * toward the quorum only after `advance`), in a term already durable.
   */
  readonly messagesBeforePersist: readonly RaftMessage[];
  /** Apply in order; each is durable on a quorum and on this member (it may be applied before this Ready is persisted). */
  readonly committed: readonly Entry[];
  /**
   * Set when the log was replaced by a checkpoint received from the leader: the host makes its
   * stable log start after (index, term) and its tree the checkpoint's, before the rest.
   */
  readonly snapshot?: { readonly index: number; readonly term: number } | undefined;
  /** Reads whose index is confirmed: serve each once that index is applied. */
  readonly readStates: readonly ReadState[];
}

export type ProposeResult =
  | { readonly ok: true; readonly term: number; readonly index: number }
  /** `transferring`: this member leads but is handing leadership over; proposals wait for the next leader. */
  | { readonly ok: false; readonly leader: number; readonly transferring?: true };

export interface Status {
  readonly id: number;
  readonly role: Role;
  readonly term: number;
  readonly leader: number;
  readonly commitIndex: number;
  readonly lastIndex: number;
  readonly appliedIndex: number;
  /** A checkpoint from the leader the host has yet to install (appliedIndex already counts it); 0 when none. */
  readonly pendingSnapshot: number;
  /** On a leader handing leadership over: the member it hands it to; 0 otherwise. */
  readonly transferee: number;
  /** A learner (observer): replicates and serves, never votes or campaigns. */
  readonly learner: boolean;
}

/** The stable log as the core reads it (etcd-raft's Storage): synchronous, host-owned. */
export interface StableLog {
  firstIndex(): number;
  lastIndex(): number;
  /** The term of the entry at `index`; for firstIndex() - 1, the checkpoint's term. */
  term(index: number): number;
  /** Entries in [lo, hi), at most `maxEntries` of them. */
  entries(lo: number, hi: number, maxEntries: number): Entry[];
}

/**
 * What a host persists the log in: the stable log the core reads, plus the writes of a Ready
 * (one atomic, durable step) and compaction behind a checkpoint. SQLite in production
 * (src/storage/log-store.ts); memory in the simulation.
 */
export interface LogStore extends StableLog {
  hardState(): HardState;
  /**
   * Persists a Ready's hard state and entries atomically, replacing any conflicting suffix.
   * Durable on return, unless the store has `sync`: then only once `sync` reports it.
   */
  append(entries: readonly Entry[], hardState: HardState | undefined): void;
  /**
   * Makes everything written so far durable, off the caller's thread, and calls `done` (with the
   * error, if the disk failed). A store without it is durable when `append` returns.
   */
  sync?(done: (error: Error | null) => void): void;
  /** What `sync` does, on the caller's thread (recovery, when nothing else may run meanwhile). */
  syncNow?(): void;
  /** Drops entries through `index` (of `term`), which a checkpoint now holds. */
  compact(index: number, term: number): void;
  /**
   * Deletes what `compact` dropped but left stored, up to `maxEntries` indexes of it; returns how
   * many indexes that covered, 0 once none are left. A store without it deletes at `compact`.
   */
  pruneCompacted?(maxEntries: number): number;
  /** Drops the whole log: it restarts after a checkpoint at (index, term) from the leader. */
  installSnapshot(index: number, term: number): void;
  /** Entries held: lastIndex - firstIndex + 1. */
  size(): number;
}

export interface Consensus {
  tick(): void;
  step(message: RaftMessage): void;
  propose(data: string): ProposeResult;
  /**
   * On the leader: appends a membership change (one at a time, refused when it would lose the
   * quorum or the learner to promote lags; see membership.ts). It takes effect at once.
   */
  proposeConfChange(change: ConfChange): ConfChangeResult;
  /**
   * Asks for a read index for `context` (unique per request): it comes back in a later Ready's
   * readStates once the leader confirmed it still leads. False when no leader is known; a
   * request lost with a leader change never comes back (the host bounds the wait).
   */
  readIndex(context: string): boolean;
  /**
   * Hands leadership to voter `to` (Raft thesis §3.10; 0: the leader's most caught-up voter): a
   * leader stops taking proposals, brings `to` up to date and tells it to campaign at once; a
   * follower forwards the request to its leader. The leader gives up after an election timeout and
   * takes proposals again. False when no leader is known; a learner or unknown `to` is ignored
   * (the caller checks).
   */
  transferLeader(to: number): boolean;
  hasReady(): boolean;
  ready(): Ready;
  /**
   * A Ready of committed entries to apply and nothing else (no entries to write, no messages, no
   * state): what a host applies and answers at once when a sync ends, leaving the entries proposed
   * meanwhile to the next full Ready, a turn later, so the requests read in that turn share their
   * sync (group commit). Advanced like any Ready.
   */
  committedReady(): Ready;
  /** Tells the core that the last Ready was persisted (its entries are durable now), sent and applied. */
  advance(ready: Ready): void;
  status(): Status;
}
