/**
 * The leader's side of the pipeline: judges a proposal — its own member's or one a follower
 * forwarded — against the leader's latest state, stamps the leader's clock, orders it through
 * the log and answers `{zxid, result}`. A proposal from a peer is hostile input (a bug, version
 * skew, a compromised member): everything the log will carry is checked again here, whatever
 * the follower checked, since the follower checked against a tree that lags.
 *
 * A keepalive is answered without the log: only the leader expires sessions, so it is the one
 * that must hear; the answer's zxid is what the leader has applied.
 */
import type { Config } from '../../config.ts';
import type { Role } from '../../core/consensus/types.ts';
import { zkError, type ZkError } from '../../core/errors.ts';
import { negotiateTimeout } from '../../core/session/session-tracker.ts';
import type { DataTree } from '../../core/tree/data-tree.ts';
import { pathError } from '../../core/tree/path.ts';
import { prepareWrite } from '../../core/tree/prepare.ts';
import type { TxnEnvelope } from '../../core/tree/txn.ts';
import type { WatchKind, WatchRegistry } from '../../core/watch/watch-registry.ts';
import { throttled } from '../../http/limits/refusal.ts';
import { NotCommittedError, type Committed } from '../node-host.ts';
import type { ClientTxn, ProposalOutcome, ProposalRequest, Proposer } from './proposal.ts';

/** What the leader side uses of the host (NodeHost). */
export interface LeaderHost {
  readonly tree: DataTree;
  readonly appliedZxid: number;
  status(): { readonly role: Role };
  submit(envelope: TxnEnvelope, deadlineMs?: number): Promise<Committed>;
  expireOverdue(nowMs: number): void;
}

/** The leader's side as the pipeline uses it. */
export interface LeaderSide extends Proposer {
  /** Ends the proposals past their deadline; called each consensus tick. */
  expireOverdue(): void;
}

/** The leader's session liveness (SessionManager). */
export interface SessionLiveness {
  /** The session was heard from: undefined when it is open (and now counted alive), else why not. */
  heardFrom(sessionId: number): ZkError | undefined;
}

/** `enforceQuota` (--enforce-quota) is stamped on every write this leader logs; absent means off. */
export type LeaderLimits = Pick<Config, 'maxDataBytes' | 'tickTimeMs' | 'maxSessions' | 'maxWatchesPerSession'> & Partial<Pick<Config, 'enforceQuota'>>;

export interface LeaderProposalsOptions {
  readonly host: LeaderHost;
  readonly sessions: SessionLiveness;
  readonly nowMs: () => number;
  readonly limits: LeaderLimits;
}

/** What a refused proposal answers. */
type Refusal = { readonly ok: false; readonly error: ZkError; readonly failedOp?: number };

const TOKEN_HASH = /^[0-9a-f]{64}$/;


export class LeaderProposals implements LeaderSide {
  /** Session opens proposed and not yet answered: they count against the session limit. */
  private opening = 0;
  private readonly watchesInFlight = new WatchesInFlight();

  constructor(private readonly options: LeaderProposalsOptions) {}

  /** Each consensus tick: this leader's own proposals past their deadline end (NodeHost.expireOverdue). */
  expireOverdue(): void {
    this.options.host.expireOverdue(this.options.nowMs());
  }

  /** Not async: every write takes this path, and each await layer costs a promise (BENCHMARKS.md). */
  propose(request: ProposalRequest): Promise<ProposalOutcome> {
    const { host, nowMs } = this.options;
    // One clock read serves the deadline check and the entry's time stamp.
    const now = nowMs();
    if (now >= request.deadlineMs) {
      return refused('CONNECTIONLOSS', 'the request\'s deadline passed before the leader took it; it was not applied');
    }
    if (host.status().role !== 'leader') return refused('CONNECTIONLOSS', 'this member is not the leader; the request was not applied');
    const { proposal } = request;
    if (proposal.type === 'keepalive') return Promise.resolve(this.keepalive(proposal.sessionId));
    const prepared = this.prepare(proposal.txn, request.identities, now);
    if ('ok' in prepared) return Promise.resolve(prepared);
    if (proposal.txn.type === 'watch') return this.submitWatch(proposal.txn, prepared, request.deadlineMs);
    if (proposal.txn.type !== 'createSession') return submit(host, prepared, request.deadlineMs);
    this.opening++;
    const done = () => this.opening--;
    const submitted = submit(host, prepared, request.deadlineMs);
    submitted.then(done, done);
    return submitted;
  }

  private keepalive(sessionId: number): ProposalOutcome {
    const error = this.options.sessions.heardFrom(sessionId);
    if (error) return { ok: false, error };
    return { ok: true, zxid: this.options.host.appliedZxid, result: { ok: true, sessionId } };
  }

  /**
   * The envelope to log, stamped with the leader's clock and the caller's identities, or why the
   * proposal is refused. ACLs are checked where the txn applies (src/core/tree/ops.ts), against
   * the state every earlier entry left: the same verdict on every replica.
   */
  private prepare(txn: ClientTxn, auth: readonly string[], timeMs: number): TxnEnvelope | Refusal {
    const { limits, host } = this.options;
    switch (txn.type) {
      case 'write': {
        const tagError = requestTagError(txn, auth);
        if (tagError) return refuse('BADARGUMENTS', tagError);
        if (!txn.multi && txn.ops.length !== 1) return refuse('BADARGUMENTS', 'a write that is not a multi has exactly one op');
        const prepared = prepareWrite(txn.ops, txn.multi, { timeMs, sessionId: txn.sessionId, maxDataBytes: limits.maxDataBytes, request: txn.request, auth });
        if (!prepared.ok) return { ok: false, error: prepared.error, failedOp: prepared.failedOp };
        // The leader's setting, not the proposer's: quota checks run at apply, on every replica alike.
        const { envelope } = prepared;
        return limits.enforceQuota === true && envelope.txn.type === 'write' ? { ...envelope, txn: { ...envelope.txn, enforceQuota: true } } : envelope;
      }
      case 'createSession': {
        if (negotiateTimeout(txn.timeoutMs, limits.tickTimeMs) !== txn.timeoutMs) return refuse('BADARGUMENTS', `session timeout ${txn.timeoutMs} ms is not a negotiated one`);
        if (!TOKEN_HASH.test(txn.tokenHash)) return refuse('BADARGUMENTS', 'a session\'s token hash is 64 hex digits');
        if (host.tree.sessions.size + this.opening >= limits.maxSessions) return refuse('THROTTLEDOP', `at most ${limits.maxSessions} sessions`);
        return { timeMs, txn: { ...txn, auth } };
      }
      case 'closeSession':
        // Expiry is the leader's own decision, never a client's proposal.
        if (txn.reason !== 'closed') return refuse('BADARGUMENTS', 'a client closes a session; only the leader expires one');
        return { timeMs, txn };
      case 'watch':
        return this.prepareWatch(txn, timeMs, auth);
    }
  }

  private prepareWatch(txn: Extract<ClientTxn, { type: 'watch' }>, timeMs: number, auth: readonly string[]): TxnEnvelope | Refusal {
    const { request } = txn;
    const invalid = pathError(request.path);
    if (invalid) return refuse('BADARGUMENTS', `invalid path: ${invalid}`, request.path);
    return { timeMs, txn: { ...txn, auth } };
  }

  /**
   * The per-session watch limit, checked here against the leader's latest registry (a follower's
   * lags) plus the watches proposed and not yet answered: the check and the reservation are one
   * synchronous step, so a burst of concurrent registrations cannot all pass it.
   */
  private submitWatch(txn: Extract<ClientTxn, { type: 'watch' }>, envelope: TxnEnvelope, deadlineMs: number): Promise<ProposalOutcome> {
    const { request, sessionId } = txn;
    if (request.op === 'removeWatches') return submit(this.options.host, envelope, deadlineMs);
    const kind: WatchKind = request.op === 'addWatch' ? request.mode : request.op === 'getChildren' ? 'child' : 'data';
    const max = this.options.limits.maxWatchesPerSession;
    const release = this.watchesInFlight.reserve(this.options.host.tree.watches, sessionId, kind, request.path, max);
    if (release === undefined) return Promise.resolve({ ok: false, error: throttled('watches_per_session', `a session holds at most ${max} watches`) });
    const submitted = submit(this.options.host, envelope, deadlineMs);
    submitted.then(release, release);
    return submitted;
  }
}

/** What the in-flight count reads of the watch registry. */
type HeldWatches = Pick<WatchRegistry, 'count' | 'holds'>;

/**
 * Watches proposed and not yet answered, per session, by kind and path. A watch counts once:
 * not again while it is held or already in flight, and an in-flight one the registry already
 * holds (applied, not yet answered) is not counted twice.
 */
class WatchesInFlight {
  private readonly bySession = new Map<number, Map<string, { readonly kind: WatchKind; readonly path: string; refs: number }>>();

  /** Reserves the watch, or undefined when the session would pass `max`; the release is idempotent. */
  reserve(held: HeldWatches, sessionId: number, kind: WatchKind, path: string, max: number): (() => void) | undefined {
    const key = `${kind} ${path}`;
    let mine = this.bySession.get(sessionId);
    let entry = mine?.get(key);
    if (entry === undefined && !held.holds(sessionId, kind, path)) {
      let pending = 0;
      for (const w of mine?.values() ?? []) if (!held.holds(sessionId, w.kind, w.path)) pending++;
      if (held.count(sessionId) + pending >= max) return undefined;
    }
    if (mine === undefined) this.bySession.set(sessionId, (mine = new Map()));
    if (entry === undefined) mine.set(key, (entry = { kind, path, refs: 0 }));
    entry.refs++;
    const reserved = entry;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--reserved.refs > 0) return;
      mine.delete(key);
      if (mine.size === 0) this.bySession.delete(sessionId);
    };
  }
}

/** A request id lives in its client's namespace: a session's own, or (without one) one of the caller's identities. */
function requestTagError(txn: Extract<ClientTxn, { type: 'write' }>, auth: readonly string[]): string | undefined {
  const client = txn.request?.client;
  if (client === undefined) return undefined;
  if (txn.sessionId !== 0) return client === `session:${txn.sessionId}` ? undefined : 'a session\'s request id must be in that session\'s namespace';
  return auth.includes(client) ? undefined : 'a request id must be in the namespace of one of the caller\'s identities';
}

function refuse(code: ZkError['code'], message: string, path?: string): Refusal {
  return { ok: false, error: zkError(code, message, path) };
}

const refused = (code: ZkError['code'], message: string): Promise<ProposalOutcome> => Promise.resolve(refuse(code, message));

function submit(host: LeaderHost, envelope: TxnEnvelope, deadlineMs: number): Promise<ProposalOutcome> {
  return host.submit(envelope, deadlineMs).then(({ zxid, result }): ProposalOutcome => ({ ok: true, zxid, result }), (error: unknown) => {
    if (error instanceof NotCommittedError) return { ok: false, error: error.error };
    throw error;
  });
}
