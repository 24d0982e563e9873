/**
 * Sessions on this node: opening and closing them through the log, token checks, liveness
 * (the leader's tracker turns silence into an expiry transaction), watches, and each session's
 * outbox of events. Applied transactions drive it: events are routed to outboxes synchronously
 * in the apply step, so an event is queued before any response that reflects its change.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.ts';
import { zkError, type ZkError } from '../core/errors.ts';
import type { SessionTable } from '../core/session/session-table.ts';
import { negotiateTimeout, SessionTracker } from '../core/session/session-tracker.ts';
import type { ApplyOutput, EventType, SessionEnd } from '../core/tree/results.ts';
import type { SessionEndReason, Txn } from '../core/tree/txn.ts';
import { WatchRegistry, type OneShotKind, type PersistentMode, type RemoveType } from '../core/watch/watch-registry.ts';
import type { Logger } from '../observability/logger.ts';
import { NotCommittedError, type Committed, type NodeHost } from './node-host.ts';
import { Outbox } from './outbox.ts';

const ENDED_REMEMBERED_MAX = 10_000;
const EXPIRIES_PER_ROUND_MAX = 1000;
const ENDED_OUTBOX_KEPT_MS = 60_000;

export interface OpenedSession {
  readonly id: number;
  readonly timeoutMs: number;
  readonly token: string;
}

const hashToken = (token: string) => createHash('sha256').update(token).digest();

export class SessionManager {
  readonly registry: WatchRegistry;
  private readonly tracker = new SessionTracker();
  private readonly outboxes = new Map<number, Outbox>();
  /** Recently ended sessions: why (410 rather than 404), and their token hash for reading the end. */
  private readonly ended = new Map<number, { reason: SessionEndReason; tokenHash: string }>();
  private readonly closing = new Set<number>();
  private opening = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly host: NodeHost,
    private readonly config: Config,
    private readonly nowMs: () => number,
    private readonly logger: Logger,
  ) {
    this.registry = new WatchRegistry(config.maxWatchesPerSession);
    // Sessions recovered from disk: each gets a fresh full timeout, as a new ZooKeeper leader grants.
    for (const s of host.tree.sessions.all()) this.track(s.id, s.timeoutMs, host.appliedZxid);
    host.onApplied((output, zxid) => this.applied(output, zxid));
    host.onCheckpointInstalled((zxid, previous) => this.skipped(zxid, previous.sessions));
    // Only the leader expires sessions; a new leader first grants every one a fresh full timeout.
    host.onRoleChange((role) => {
      if (role !== 'leader') return;
      for (const s of host.tree.sessions.all()) this.tracker.add(s.id, s.timeoutMs, this.nowMs());
    });
  }

  start(): void {
    const everyMs = Math.max(10, Math.floor(this.config.tickTimeMs / 2));
    this.timer = setInterval(() => this.expireRound(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    for (const outbox of this.outboxes.values()) outbox.wakeAll();
  }

  get size(): number {
    return this.host.tree.sessions.size;
  }

  async open(requestedTimeoutMs: number): Promise<OpenedSession | ZkError> {
    // Opens in flight count too, or a burst of them would all pass the check.
    if (this.size + this.opening >= this.config.maxSessions) {
      return zkError('THROTTLEDOP', `at most ${this.config.maxSessions} sessions`);
    }
    this.opening++;
    try {
      return await this.openCounted(requestedTimeoutMs);
    } finally {
      this.opening--;
    }
  }

  private async openCounted(requestedTimeoutMs: number): Promise<OpenedSession | ZkError> {
    const timeoutMs = negotiateTimeout(requestedTimeoutMs, this.config.tickTimeMs);
    const token = randomBytes(32).toString('base64url');
    const tokenHash = hashToken(token).toString('hex');
    const committed = await this.submit({ type: 'createSession', timeoutMs, tokenHash });
    if ('code' in committed) return committed;
    const { result } = committed;
    if (!result || !('sessionId' in result)) return zkError('SYSTEMERROR', 'createSession gave no session');
    return { id: result.sessionId, timeoutMs, token };
  }

  /** Orders a session txn; a write that could not be ordered (no leader, full queue) is its error. */
  private async submit(txn: Txn): Promise<Committed | ZkError> {
    try {
      return await this.host.submit({ timeMs: this.nowMs(), txn });
    } catch (error) {
      if (error instanceof NotCommittedError) return error.error;
      throw error;
    }
  }

  /**
   * Whether `token` lets a request act for session `id`: undefined when it does. With
   * `readEnd`, an ended session's stream may still be read for a while (its last events and the
   * end), so a client that was away, a browser's EventSource included, learns how it ended.
   */
  authenticate(id: number, token: string | undefined, readEnd = false): ZkError | undefined {
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
    return undefined;
  }

  timeoutOf(id: number): number {
    return this.host.tree.sessions.get(id)?.timeoutMs ?? 0;
  }

  keepalive(id: number): void {
    this.tracker.touch(id, this.nowMs());
  }

  /** Closes the session through the log; resolves once its ephemerals are gone. */
  async close(id: number): Promise<ZkError | undefined> {
    const committed = await this.submit({ type: 'closeSession', sessionId: id, reason: 'closed' });
    if ('code' in committed) return committed;
    return committed.result && !committed.result.ok ? committed.result.error : undefined;
  }

  outbox(id: number): Outbox | undefined {
    return this.outboxes.get(id);
  }

  addWatch(id: number, path: string, kind: OneShotKind): ZkError | undefined {
    return this.registry.addOneShot(id, path, kind) ? undefined : this.tooManyWatches();
  }

  addPersistentWatch(id: number, path: string, mode: PersistentMode): ZkError | undefined {
    return this.registry.addPersistent(id, path, mode) ? undefined : this.tooManyWatches();
  }

  /** removeWatches: the removal events go on the session's stream. */
  removeWatches(id: number, path: string, type: RemoveType): ZkError | undefined {
    const removed = this.registry.remove(id, path, type);
    if (!removed) return zkError('NOWATCHER', `no ${type} watch on ${path}`, path);
    const zxid = this.host.appliedZxid;
    for (const type of removed) this.deliver(id, zxid, type, path);
    return undefined;
  }

  private tooManyWatches(): ZkError {
    return zkError('THROTTLEDOP', `a session holds at most ${this.config.maxWatchesPerSession} watches`);
  }

  /**
   * `recoveredAt`: the session comes back from disk after a restart. Its watches and undelivered
   * events lived in memory and are gone, so its stream reports an overflow up to that zxid.
   */
  private track(id: number, timeoutMs: number, recoveredAt?: number): void {
    this.tracker.add(id, timeoutMs, this.nowMs());
    const outbox = new Outbox(this.config.outboxEventsMax);
    if (recoveredAt !== undefined) outbox.markLostThrough(recoveredAt);
    this.outboxes.set(id, outbox);
  }

  private deliver(sessionId: number, zxid: number, type: EventType, path: string): void {
    this.outboxes.get(sessionId)?.push(zxid, 'watch', { type, path, zxid: String(zxid) });
  }

  private applied(output: ApplyOutput, zxid: number): void {
    if (output.result && 'sessionId' in output.result && output.result.ok && !output.sessionEnd) {
      const record = this.host.tree.sessions.get(output.result.sessionId);
      if (record) this.track(record.id, record.timeoutMs);
    }
    if (output.events.length > 0) {
      for (const { sessionId, event } of this.registry.route(output.events)) {
        this.deliver(sessionId, zxid, event.type, event.path);
      }
    }
    if (output.sessionEnd) this.end(output.sessionEnd, zxid);
  }

  /** After the close's own events: the final session event, then forget the session. */
  private end({ sessionId, reason, tokenHash }: SessionEnd, zxid: number): void {
    const outbox = this.outboxes.get(sessionId);
    outbox?.push(zxid, 'session', { state: reason, zxid: String(zxid) });
    if (outbox) outbox.ended = true;
    this.registry.removeSession(sessionId);
    this.tracker.remove(sessionId);
    this.ended.set(sessionId, { reason, tokenHash });
    if (this.ended.size > ENDED_REMEMBERED_MAX) this.ended.delete(this.ended.keys().next().value!);
    // Keep the outbox a while so a stream that reconnects can still read the end.
    setTimeout(() => this.outboxes.delete(sessionId), ENDED_OUTBOX_KEPT_MS).unref();
    this.logger.info({ event: 'session-ended', sessionId, reason, zxid }, 'session ended');
  }

  /**
   * The tree jumped to the leader's checkpoint at `zxid`: sessions that ended meanwhile end here
   * too, new ones are tracked, and every stream learns that events up to `zxid` were lost.
   */
  private skipped(zxid: number, before: SessionTable): void {
    const sessions = this.host.tree.sessions;
    for (const [id, outbox] of this.outboxes) {
      if (outbox.ended) continue;
      if (sessions.get(id)) outbox.markLostThrough(zxid);
      else this.end({ sessionId: id, reason: 'expired', tokenHash: before.get(id)?.tokenHash ?? '' }, zxid);
    }
    for (const s of sessions.all()) if (!this.outboxes.has(s.id)) this.track(s.id, s.timeoutMs, zxid);
  }

  private expireRound(): void {
    if (this.host.status().role !== 'leader') return;
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
