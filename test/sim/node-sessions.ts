/**
 * What the node simulation knows about its sessions, learned from the first host to apply each
 * transaction: when each was created and with which timeout, which client's open was acknowledged
 * for it, each client close as applied, and each session's end. An expiry (a closeSession the
 * leader's tracker proposed, reason 'expired') is nobody's request: it enters the linearizability
 * history as a zero-duration operation at its first apply, since every request answered before
 * that instant is earlier in the log, and every one sent after it is later.
 */
import type { ApplyOutput, SessionResult } from '../../src/core/tree/results.ts';
import type { TxnEnvelope } from '../../src/core/tree/txn.ts';
import { MS_PER_TICK } from './node-cluster.ts';

export interface SessionEndSeen {
  readonly session: number;
  readonly reason: 'closed' | 'expired';
  readonly zxid: number;
  /** When its closeSession was proposed (the envelope's time). */
  readonly proposedTick: number;
  /** When it was first applied. */
  readonly tick: number;
  /** The history clock at the first apply. */
  readonly time: number;
  /** A live client still held the session (kept it alive, had not asked to close it). */
  readonly heldByLive: boolean;
}

export class SessionLedger {
  /** Session → the client whose open was acknowledged with it. */
  readonly owner = new Map<number, number>();
  readonly createdTick = new Map<number, number>();
  readonly timeoutMs = new Map<number, number>();
  /** A client's close (reason 'closed') as applied: one at most per session (only its owner closes it, once). */
  readonly closes = new Map<number, { readonly zxid: number; readonly result: SessionResult }>();
  readonly ends = new Map<number, SessionEndSeen>();
  /** Per host, the tick its SessionManager began tracking each session. */
  private readonly trackedSince = new Map<number, Map<number, number>>();
  /** The ticks each session was kept alive at the leader of a term, by `${session}@${term}`. */
  private readonly keptAliveTicks = new Map<string, number[]>();

  keptAlive(session: number, term: number, tick: number): void {
    const key = `${session}@${term}`;
    const ticks = this.keptAliveTicks.get(key);
    if (!ticks) this.keptAliveTicks.set(key, [tick]);
    else if (ticks.at(-1) !== tick) ticks.push(tick);
  }

  /** The last tick, not after `tick`, the session was kept alive at the leader of `term` (keepalives go before its expiry round). */
  lastKeptAlive(session: number, term: number, tick: number): number {
    const ticks = this.keptAliveTicks.get(`${session}@${term}`) ?? [];
    for (let i = ticks.length - 1; i >= 0; i--) if (ticks[i]! <= tick) return ticks[i]!;
    return 0;
  }

  /** A host restarted (every session of its checkpoint is tracked afresh), or installed a checkpoint (the new ones are). */
  tracked(node: number, sessions: Iterable<{ id: number }>, tick: number, restarted: boolean): void {
    const since = restarted ? new Map<number, number>() : (this.trackedSince.get(node) ?? new Map<number, number>());
    for (const { id } of sessions) if (!since.has(id)) since.set(id, tick);
    this.trackedSince.set(node, since);
  }

  /** Since when `node` has tracked `session` (0: not known). */
  trackedBy(node: number, session: number): number {
    return this.trackedSince.get(node)?.get(session) ?? 0;
  }

  /** `heldByLive` says whether a live client holds `session` right now. */
  onApplied(node: number, output: ApplyOutput, zxid: number, { txn, timeMs }: TxnEnvelope, tick: number, time: number, heldByLive: (session: number) => boolean): SessionEndSeen | undefined {
    if (txn.type === 'createSession' && output.result?.ok) this.tracked(node, [{ id: zxid }], tick, false);
    if (txn.type === 'createSession' && !this.createdTick.has(zxid)) {
      this.createdTick.set(zxid, tick);
      this.timeoutMs.set(zxid, txn.timeoutMs);
    }
    if (txn.type === 'closeSession' && txn.reason === 'closed' && !this.closes.has(txn.sessionId)) {
      this.closes.set(txn.sessionId, { zxid, result: output.result as SessionResult });
    }
    const end = output.sessionEnd;
    if (!end || this.ends.has(end.sessionId)) return undefined;
    const seen = { session: end.sessionId, reason: end.reason, zxid, proposedTick: timeMs / MS_PER_TICK, tick, time, heldByLive: heldByLive(end.sessionId) };
    this.ends.set(end.sessionId, seen);
    return seen;
  }

  get expiries(): SessionEndSeen[] {
    return [...this.ends.values()].filter((e) => e.reason === 'expired');
  }
}
