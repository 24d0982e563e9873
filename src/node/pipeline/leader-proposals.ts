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
import { NotCommittedError, type Committed } from '../node-host.ts';
import type { ClientTxn, ProposalOutcome, ProposalRequest, Proposer } from './proposal.ts';

/** What the leader side uses of the host (NodeHost). */
export interface LeaderHost {
  readonly tree: DataTree;
  readonly appliedZxid: number;
  status(): { readonly role: Role };
  submit(envelope: TxnEnvelope): Promise<Committed>;
}

/** The leader's session liveness (SessionManager). */
export interface SessionLiveness {
  /** The session was heard from: undefined when it is open (and now counted alive), else why not. */
  heardFrom(sessionId: number): ZkError | undefined;
}

export type LeaderLimits = Pick<Config, 'maxDataBytes' | 'tickTimeMs' | 'maxSessions' | 'maxWatchesPerSession'>;

export interface LeaderProposalsOptions {
  readonly host: LeaderHost;
  readonly sessions: SessionLiveness;
  readonly nowMs: () => number;
  readonly limits: LeaderLimits;
}

/** What a refused proposal answers. */
type Refusal = { readonly ok: false; readonly error: ZkError; readonly failedOp?: number };

const TOKEN_HASH = /^[0-9a-f]{64}$/;

/**
 * Where the next issue checks the caller's identities against the ACLs of the nodes the
 * proposal touches, in the leader's latest tree (ZooKeeper checks ACLs on the leader, in
 * PrepRequestProcessor, against its outstanding changes). Undefined: allowed.
 */
export function checkAccess(_tree: DataTree, _request: ProposalRequest): ZkError | undefined {
  return undefined;
}

export class LeaderProposals implements Proposer {
  /** Session opens proposed and not yet answered: they count against the session limit. */
  private opening = 0;

  constructor(private readonly options: LeaderProposalsOptions) {}

  /** Not async: every write takes this path, and each await layer costs a promise (BENCHMARKS.md). */
  propose(request: ProposalRequest): Promise<ProposalOutcome> {
    const { host, nowMs } = this.options;
    if (nowMs() >= request.deadlineMs) {
      return refused('CONNECTIONLOSS', 'the request\'s deadline passed before the leader took it; it was not applied');
    }
    if (host.status().role !== 'leader') return refused('CONNECTIONLOSS', 'this member is not the leader; the request was not applied');
    const denied = checkAccess(host.tree, request);
    if (denied) return Promise.resolve({ ok: false, error: denied });
    const { proposal } = request;
    if (proposal.type === 'keepalive') return Promise.resolve(this.keepalive(proposal.sessionId));
    const prepared = this.prepare(proposal.txn);
    if ('ok' in prepared) return Promise.resolve(prepared);
    if (proposal.txn.type !== 'createSession') return submit(host, prepared);
    this.opening++;
    const done = () => this.opening--;
    const submitted = submit(host, prepared);
    submitted.then(done, done);
    return submitted;
  }

  private keepalive(sessionId: number): ProposalOutcome {
    const error = this.options.sessions.heardFrom(sessionId);
    if (error) return { ok: false, error };
    return { ok: true, zxid: this.options.host.appliedZxid, result: { ok: true, sessionId } };
  }

  /** The envelope to log, stamped with the leader's clock, or why the proposal is refused. */
  private prepare(txn: ClientTxn): TxnEnvelope | Refusal {
    const timeMs = this.options.nowMs();
    const { limits, host } = this.options;
    switch (txn.type) {
      case 'write': {
        const tagError = requestTagError(txn);
        if (tagError) return refuse('BADARGUMENTS', tagError);
        if (!txn.multi && txn.ops.length !== 1) return refuse('BADARGUMENTS', 'a write that is not a multi has exactly one op');
        const prepared = prepareWrite(txn.ops, txn.multi, { timeMs, sessionId: txn.sessionId, maxDataBytes: limits.maxDataBytes, request: txn.request });
        return prepared.ok ? prepared.envelope : { ok: false, error: prepared.error, failedOp: prepared.failedOp };
      }
      case 'createSession': {
        if (negotiateTimeout(txn.timeoutMs, limits.tickTimeMs) !== txn.timeoutMs) return refuse('BADARGUMENTS', `session timeout ${txn.timeoutMs} ms is not a negotiated one`);
        if (!TOKEN_HASH.test(txn.tokenHash)) return refuse('BADARGUMENTS', 'a session\'s token hash is 64 hex digits');
        if (host.tree.sessions.size + this.opening >= limits.maxSessions) return refuse('THROTTLEDOP', `at most ${limits.maxSessions} sessions`);
        return { timeMs, txn };
      }
      case 'closeSession':
        // Expiry is the leader's own decision, never a client's proposal.
        if (txn.reason !== 'closed') return refuse('BADARGUMENTS', 'a client closes a session; only the leader expires one');
        return { timeMs, txn };
      case 'watch':
        return this.prepareWatch(txn, timeMs);
    }
  }

  private prepareWatch(txn: Extract<ClientTxn, { type: 'watch' }>, timeMs: number): TxnEnvelope | Refusal {
    const { request, sessionId } = txn;
    const invalid = pathError(request.path);
    if (invalid) return refuse('BADARGUMENTS', `invalid path: ${invalid}`, request.path);
    const max = this.options.limits.maxWatchesPerSession;
    const kind = request.op === 'addWatch' ? request.mode : request.op === 'getChildren' ? 'child' : 'data';
    const { watches } = this.options.host.tree;
    // The limit is checked here, against the leader's latest registry: a follower's lags.
    if (request.op !== 'removeWatches' && watches.count(sessionId) >= max && !watches.holds(sessionId, kind, request.path)) {
      return refuse('THROTTLEDOP', `a session holds at most ${max} watches`);
    }
    return { timeMs, txn };
  }
}

/** A request id lives in its client's namespace: a session's own, or (without one) no session's. */
function requestTagError(txn: Extract<ClientTxn, { type: 'write' }>): string | undefined {
  const client = txn.request?.client;
  if (client === undefined) return undefined;
  if (txn.sessionId !== 0) return client === `session:${txn.sessionId}` ? undefined : 'a session\'s request id must be in that session\'s namespace';
  return client.startsWith('session:') ? 'a request without a session cannot use a session\'s namespace' : undefined;
}

function refuse(code: ZkError['code'], message: string, path?: string): Refusal {
  return { ok: false, error: zkError(code, message, path) };
}

const refused = (code: ZkError['code'], message: string): Promise<ProposalOutcome> => Promise.resolve(refuse(code, message));

function submit(host: LeaderHost, envelope: TxnEnvelope): Promise<ProposalOutcome> {
  return host.submit(envelope).then(({ zxid, result }): ProposalOutcome => ({ ok: true, zxid, result }), (error: unknown) => {
    if (error instanceof NotCommittedError) return { ok: false, error: error.error };
    throw error;
  });
}
