/**
 * Sessions on this node: opening and closing them through the log, token checks, liveness
 * (the leader's tracker turns silence into an expiry transaction), watches, and each session's
 * outbox of events. Applied transactions drive it: events are routed to outboxes synchronously
 * in the apply step, so an event is queued before any response that reflects its change.
 * Time, timers and tokens are injected (nowMs, SessionManagerOptions), so the node simulation
 * runs this very code on its simulated clock. Opens, closes, watches and explicit keepalives go
 * through the Proposer (the node's Pipeline, set with useProposer), so they work from any member;
 * only the leader's own expiries go straight to host.submit.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.ts';
import { zkError, type ZkError } from '../core/errors.ts';
import { decimal } from '../core/decimal.ts';
import { OldestFirst } from '../core/oldest-first.ts';
import type { SessionTable } from '../core/session/session-table.ts';
import { negotiateTimeout, SessionTracker } from '../core/session/session-tracker.ts';
import { isWatchResult, type ApplyOutput, type SessionEnd, type WatchResult } from '../core/tree/results.ts';
import type { SessionEndReason, WatchRequest } from '../core/tree/txn.ts';
import type { Logger } from '../observability/logger.ts';
import type { Role } from '../core/consensus/types.ts';
import type { DataTree } from '../core/tree/data-tree.ts';
import type { Applier } from './applier.ts';
import type { Committed, NodeHost } from './node-host.ts';
import { Outbox } from './outbox.ts';
import { LeaderProposals } from './pipeline/leader-proposals.ts';
import { PROPOSAL_DEADLINE_MS, type ClientTxn, type ProposalRequest, type Proposer } from './pipeline/proposal.ts';
import { realTimers, type Timers } from './timers.ts';
import { limitKeyOf } from '../http/limits/caller-key.ts';
import { KeyedSlots, type Release } from '../http/limits/keyed-slots.ts';
import { throttled } from '../http/limits/refusal.ts';

const ENDED_REMEMBERED_MAX = 10_000;
const EXPIRIES_PER_ROUND_MAX = 1000;
const ENDED_OUTBOX_KEPT_MS = 60_000;

export interface OpenedSession {
  readonly id: number;
  readonly timeoutMs: number;
  readonly token: string;
}

export interface SessionManagerOptions {
  /** Runs the expiry rounds and forgets ended sessions' outboxes; real unref'd timers by default. */
  readonly timers?: Timers;
  /** A new session's secret: unguessable and never repeated. 32 random bytes by default. */
  readonly newToken?: () => string;
  /** How long a request waits for its proposal when its caller gives no deadline; 10 s by default. */
  readonly proposalTimeoutMs?: number;
}

/** Who asks, and until when they wait: the proposal's identities and deadline. */
export interface CallerContext {
  readonly identities?: readonly string[];
  readonly deadlineMs?: number;
}

const randomToken = () => randomBytes(32).toString('base64url');
/** What the log keeps of a token (hex of this digest): never the token itself. */
export const hashToken = (token: string) => createHash('sha256').update(token).digest();

export class SessionManager implements Applier {
  private readonly tracker = new SessionTracker();
  private readonly outboxes = new Map<number, Outbox>();
  /** Recently ended sessions: why (410 rather than 404), and their token hash for reading the end. */
  private readonly ended = new Map<number, { reason: SessionEndReason; tokenHash: string }>();
  private readonly oldestEnded = new OldestFirst(this.ended);
  private readonly closing = new Set<number>();
  /**
   * Opens in flight from this member, by token hash → the opener's limit key: counted against
   * the limits from before the proposal until the session is tracked (released in `applied`, or
   * by the open itself when it fails), so a session is never counted twice or not at all.
   */
  private readonly opening = new Map<string, Release>();
  private readonly openingByCaller = new KeyedSlots({ total: 0, perKey: 0 });
  /** Open sessions by their opener's limit key (limitKeyOf), and each session's place there. */
  private readonly sessionsByCaller = new KeyedSlots({ total: 0, perKey: 0 });
  private readonly callerOf = new Map<number, Release>();
  private readonly touched = new Set<number>();
  private relay: ((sessionIds: number[]) => void) | undefined;
  /** The term whose leadership granted every session a fresh timeout: expiries are decided in it only. */
  private grantedTerm: number | undefined;
  private readonly timers: Timers;
  private readonly newToken: () => string;
  private readonly proposalTimeoutMs: number;
  /** Orders this manager's txns: the node's Pipeline once set, this member's own leader side until then. */
  private proposer: Proposer;
  private cancelRounds: (() => void) | undefined;
  /** Following the tree (`follow`): until then applied transactions are a replay it ignores. */
  private following = false;

  constructor(
    private readonly host: NodeHost,
    private readonly config: Config,
    private readonly nowMs: () => number,
    private readonly logger: Logger,
    options: SessionManagerOptions = {},
  ) {
    this.timers = options.timers ?? realTimers;
    this.newToken = options.newToken ?? randomToken;
    this.proposalTimeoutMs = options.proposalTimeoutMs ?? PROPOSAL_DEADLINE_MS;
    this.proposer = new LeaderProposals({ host, sessions: this, nowMs, limits: config });
  }

  /**
   * Starts following the host's tree as it is now: its sessions are recovered ones (from disk, or
   * a replay this manager did not follow), each with a fresh full timeout, as a new ZooKeeper
   * leader grants, and streams that lost their in-memory events. Once, before any write is served.
   */
  follow(): void {
    if (this.following) return;
    this.following = true;
    for (const s of this.host.tree.sessions.all()) this.track(s.id, s.timeoutMs, this.host.appliedZxid);
  }

  start(): void {
    const everyMs = Math.max(10, Math.floor(this.config.tickTimeMs / 2));
    this.cancelRounds?.();
    this.cancelRounds = this.timers.every(everyMs, () => this.expireRound());
  }

  stop(): void {
    this.cancelRounds?.();
    this.cancelRounds = undefined;
    for (const outbox of this.outboxes.values()) outbox.wakeAll();
  }

  get size(): number {
    return this.host.tree.sessions.size;
  }

  /** From now on, opens, closes, watches and keepalives are ordered by `proposer` (the node's Pipeline). */
  useProposer(proposer: Proposer): void {
    this.proposer = proposer;
  }

  /**
   * Opens a session, within the node's limit and the caller's (maxSessionsPerCaller, by the
   * caller's strongest identity, else its address). Opens in flight count too, or a burst of
   * them would all pass the check; the check and the count are one synchronous step. The counts
   * are of sessions in the replicated table, so they hold across members, except for opens in
   * flight at once on different members.
   */
  async open(requestedTimeoutMs: number, caller: CallerContext = {}): Promise<OpenedSession | ZkError> {
    const { maxSessions, maxSessionsPerCaller } = this.config;
    if (this.size + this.opening.size >= maxSessions) return throttled('sessions', `at most ${maxSessions} sessions`);
    const key = limitKeyOf(caller.identities ?? []);
    const mine = this.sessionsByCaller.heldBy(key) + this.openingByCaller.heldBy(key);
    if (maxSessionsPerCaller > 0 && mine >= maxSessionsPerCaller) {
      return throttled('sessions_per_caller', `at most ${maxSessionsPerCaller} sessions per caller (${key.slice(0, key.indexOf(':'))} identity)`);
    }
    const token = this.newToken();
    const tokenHash = hashToken(token).toString('hex');
    this.opening.set(tokenHash, this.openingByCaller.count(key));
    try {
      return await this.openCounted(requestedTimeoutMs, token, tokenHash, caller);
    } finally {
      this.opened(tokenHash);
    }
  }

  /** The open of `tokenHash` no longer counts as in flight (its session is tracked, or it failed). */
  private opened(tokenHash: string): void {
    const release = this.opening.get(tokenHash);
    if (release === undefined) return;
    this.opening.delete(tokenHash);
    release();
  }

  /** Open sessions of the caller with limit key `key` (limitKeyOf). */
  sessionsOfCaller(key: string): number {
    return this.sessionsByCaller.heldBy(key);
  }

  private async openCounted(requestedTimeoutMs: number, token: string, tokenHash: string, caller: CallerContext): Promise<OpenedSession | ZkError> {
    const timeoutMs = negotiateTimeout(requestedTimeoutMs, this.config.tickTimeMs);
    const committed = await this.submit({ type: 'createSession', timeoutMs, tokenHash }, caller);
    if ('code' in committed) return committed;
    const { result } = committed;
    if (!result || !('sessionId' in result)) return zkError('SYSTEMERROR', 'createSession gave no session');
    return { id: result.sessionId, timeoutMs, token };
  }

  /** Orders a session txn through the proposer; one that could not be ordered (no leader, full queue) is its error. */
  private async submit(txn: ClientTxn, caller: CallerContext): Promise<Committed | ZkError> {
    const outcome = await this.proposer.propose(this.requestOf({ type: 'txn', txn }, caller));
    return outcome.ok ? { zxid: outcome.zxid, result: outcome.result } : outcome.error;
  }

  private requestOf(proposal: ProposalRequest['proposal'], caller: CallerContext): ProposalRequest {
    return { proposal, identities: caller.identities ?? [], deadlineMs: caller.deadlineMs ?? this.nowMs() + this.proposalTimeoutMs };
  }

  /**
   * An explicit keepalive (the keepalive route): counted here, and by the leader, the only one
   * that expires sessions, through the proposer; answers the leader's applied zxid, or
   * SESSIONEXPIRED / UNKNOWNSESSION when the leader no longer has the session.
   */
  async keepaliveRequest(id: number, caller: CallerContext = {}): Promise<{ readonly zxid: number } | ZkError> {
    this.tracker.touch(id, this.nowMs());
    const outcome = await this.proposer.propose(this.requestOf({ type: 'keepalive', sessionId: id }, caller));
    return outcome.ok ? { zxid: outcome.zxid } : outcome.error;
  }

  /** On the leader, a keepalive proposal: the session was heard from, if it is open. */
  heardFrom(id: number): ZkError | undefined {
    if (!this.host.tree.sessions.get(id)) {
      const ended = this.ended.get(id);
      return ended ? zkError('SESSIONEXPIRED', `session ${id} has ${ended.reason}`) : zkError('UNKNOWNSESSION', `session ${id} is not known`);
    }
    this.tracker.touch(id, this.nowMs());
    return undefined;
  }

  /**
   * Whether `token` lets a request act for session `id`: undefined when it does. With
   * `readEnd`, an ended session's stream may still be read for a while (its last events and the
   * end), so a client that was away, a browser's EventSource included, learns how it ended.
   */
  /**
   * Whether a request may act for session `id`: the right token and (`identities` given: a request
   * rather than the event stream) every identity the session was opened with, so a stolen token
   * alone does not act as its owner (403 NOAUTH).
   */
  authenticate(id: number, token: string | undefined, readEnd = false, identities?: readonly string[]): ZkError | undefined {
    const ended = this.ended.get(id);
    const hash = this.host.tree.sessions.get(id)?.tokenHash ?? (readEnd && this.outboxes.has(id) ? ended?.tokenHash : undefined);
    if (!hash) {
      return ended
        ? zkError('SESSIONEXPIRED', `session ${id} has ${ended.reason}`)
        : zkError('UNKNOWNSESSION', `session ${id} is not known`);
    }
    const expected = Buffer.from(hash, 'hex');
    const given = hashToken(token ?? '');
    if (token === undefined || expected.length !== given.length || !timingSafeEqual(expected, given)) {
      return zkError('AUTHFAILED', `wrong or missing token for session ${id}`);
    }
    const opener = this.host.tree.sessions.get(id)?.auth;
    if (identities === undefined || opener === undefined) return undefined;
    for (const identity of opener) {
      if (isProven(identity) && !identities.includes(identity)) {
        return zkError('NOAUTH', `session ${id} was opened with identities this request does not carry; send the same credentials`);
      }
    }
    return undefined;
  }

  timeoutOf(id: number): number {
    return this.host.tree.sessions.get(id)?.timeoutMs ?? 0;
  }

  /** The session was heard from here (a request, a keepalive, its open stream). */
  keepalive(id: number): void {
    this.tracker.touch(id, this.nowMs());
    if (this.relay !== undefined && this.host.status().role !== 'leader') this.touched.add(id);
  }

  /**
   * Where a follower sends the sessions it heard from, once per expiry round, so the leader (the
   * only one that expires sessions) counts a client whose stream or requests go to this node.
   */
  relayTouchesTo(relay: (sessionIds: number[]) => void): void {
    this.relay = relay;
  }

  /** On the leader: sessions a follower heard from. */
  touchedElsewhere(sessionIds: readonly number[]): void {
    const now = this.nowMs();
    for (const id of sessionIds) if (this.host.tree.sessions.get(id)) this.tracker.touch(id, now);
  }

  /** Closes the session through the log; resolves once its ephemerals are gone. */
  async close(id: number, caller: CallerContext = {}): Promise<ZkError | undefined> {
    const committed = await this.submit({ type: 'closeSession', sessionId: id, reason: 'closed' }, caller);
    if ('code' in committed) return committed;
    return committed.result && !committed.result.ok ? committed.result.error : undefined;
  }

  outbox(id: number): Outbox | undefined {
    return this.outboxes.get(id);
  }

  /**
   * Sets or removes watches through the log (watches are replicated, so any node can serve the
   * session's stream): a watched read answers as of its transaction, atomically with its watch;
   * removal events go on the session's stream. The per-session limit is the leader's check
   * (leader-proposals.ts), against its latest registry.
   */
  async watch(id: number, request: WatchRequest, caller: CallerContext = {}): Promise<WatchResult | ZkError> {
    const committed = await this.watchCommitted(id, request, caller);
    return 'code' in committed ? committed : committed.result;
  }

  /** As watch, with the zxid the watch was applied at (a follower's answer carries it in Zk-Zxid). */
  async watchCommitted(id: number, request: WatchRequest, caller: CallerContext = {}): Promise<{ readonly zxid: number; readonly result: WatchResult } | ZkError> {
    const committed = await this.submit({ type: 'watch', sessionId: id, request }, caller);
    if ('code' in committed) return committed;
    const { result } = committed;
    if (!result || !isWatchResult(result)) return zkError('SYSTEMERROR', 'a watch txn gave no watch result');
    return { zxid: committed.zxid, result };
  }

  /**
   * `recoveredAt`: the session comes back from disk after a restart. Its watches and undelivered
   * events lived in memory and are gone, so its stream reports an overflow up to that zxid.
   */
  private track(id: number, timeoutMs: number, recoveredAt?: number): void {
    this.tracker.add(id, timeoutMs, this.nowMs());
    const record = this.host.tree.sessions.get(id);
    if (record && !this.callerOf.has(id)) {
      this.callerOf.set(id, this.sessionsByCaller.count(limitKeyOf(record.auth)));
      this.opened(record.tokenHash);
    }
    const outbox = new Outbox(this.config.outboxEventsMax);
    if (recoveredAt !== undefined) outbox.markLostThrough(recoveredAt);
    this.outboxes.set(id, outbox);
  }


  /** An Applier of the host: tracks opened sessions, routes watch events, ends closed sessions. */
  applied(output: ApplyOutput, zxid: number): void {
    if (!this.following) return;
    if (output.result && 'sessionId' in output.result && output.result.ok && !output.sessionEnd) {
      const record = this.host.tree.sessions.get(output.result.sessionId);
      if (record) this.track(record.id, record.timeoutMs);
    }
    for (const { sessionId, event } of output.deliveries ?? []) {
      this.outboxes.get(sessionId)?.push(zxid, 'watch', { type: event.type, path: event.path, zxid: decimal(zxid) });
    }
    if (output.sessionEnd) this.end(output.sessionEnd, zxid);
  }

  /** After the close's own events: the final session event, then forget the session. */
  private end({ sessionId, reason, tokenHash }: SessionEnd, zxid: number): void {
    const outbox = this.outboxes.get(sessionId);
    outbox?.push(zxid, 'session', { state: reason, zxid: decimal(zxid) });
    if (outbox) outbox.ended = true;
    this.tracker.remove(sessionId);
    this.forgetCaller(sessionId);
    this.ended.set(sessionId, { reason, tokenHash });
    if (this.ended.size > ENDED_REMEMBERED_MAX) this.oldestEnded.take();
    // Keep the outbox a while so a stream that reconnects can still read the end.
    this.timers.after(ENDED_OUTBOX_KEPT_MS, () => this.outboxes.delete(sessionId));
    this.logger.info({ event: 'session-ended', sessionId, reason, zxid }, 'session ended');
  }

  private forgetCaller(sessionId: number): void {
    const release = this.callerOf.get(sessionId);
    if (release === undefined) return;
    this.callerOf.delete(sessionId);
    release();
  }

  /**
   * The tree jumped to the leader's checkpoint at `zxid`: sessions that ended meanwhile end here
   * too, new ones are tracked, and every stream learns that events up to `zxid` were lost.
   */
  checkpointInstalled(zxid: number, previous: DataTree): void {
    if (this.following) this.skipped(zxid, previous.sessions);
  }

  /** Only the leader expires sessions; a new leader first grants every one a fresh full timeout. */
  roleChanged(role: Role, term: number): void {
    if (role === 'leader') this.grantFreshTimeouts(term);
  }

  private skipped(zxid: number, before: SessionTable): void {
    const sessions = this.host.tree.sessions;
    for (const [id, outbox] of this.outboxes) {
      if (outbox.ended) continue;
      if (sessions.get(id)) outbox.markLostThrough(zxid);
      else this.end({ sessionId: id, reason: 'expired', tokenHash: before.get(id)?.tokenHash ?? '' }, zxid);
    }
    for (const s of sessions.all()) if (!this.outboxes.has(s.id)) this.track(s.id, s.timeoutMs, zxid);
  }

  private grantFreshTimeouts(term: number): void {
    this.grantedTerm = term;
    for (const s of this.host.tree.sessions.all()) this.tracker.add(s.id, s.timeoutMs, this.nowMs());
  }

  private expireRound(): void {
    const { role, term } = this.host.status();
    if (role !== 'leader') {
      if (this.touched.size > 0) this.relay?.([...this.touched]);
      this.touched.clear();
      return;
    }
    // The core can lead before the host loop has told the listeners (the node simulation's slow
    // disks hold it for ticks: seed 166), or lead again in a later term with no role change seen
    // between. Either way the deadlines are not fresh ones of this term: grant them first.
    if (term !== this.grantedTerm) return this.grantFreshTimeouts(term);
    for (const id of this.tracker.expired(this.nowMs(), EXPIRIES_PER_ROUND_MAX)) {
      if (this.closing.has(id)) continue;
      this.closing.add(id);
      this.host
        .submit({ timeMs: this.nowMs(), txn: { type: 'closeSession', sessionId: id, reason: 'expired' } })
        .catch((error: unknown) => this.logger.warn({ err: error, sessionId: id }, 'expiry not committed'))
        .finally(() => this.closing.delete(id));
    }
  }
}

/** An identity a request proves with a credential (not its address, which may change between requests). */
function isProven(identity: string): boolean {
  return !identity.startsWith('ip:');
}
