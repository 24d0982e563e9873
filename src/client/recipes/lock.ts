/**
 * A fair distributed lock (Curator's InterProcessMutex): each contender creates an
 * ephemeral-sequential node `<lock>/_c_<guid>-lock-<seq>`; the lowest sequence holds the lock;
 * every other contender watches only the node just before its own (no herd: one deletion wakes
 * one waiter). The holder gets a fencing token, its node's czxid: zxids are assigned in the one
 * order every write takes, so each later holder's token is larger, and a resource that remembers
 * the largest token it has accepted (FencingGuard) refuses a holder that lost the lock without
 * knowing it yet. The lock is lost when the session ends; `lease.lost` says so.
 *
 * Reentrancy (`{ reentrant: true }`, Curator's per-thread reentrancy with the Lock object as the
 * owner): an acquire while this object holds the lock counts up on the same node (same token);
 * the node is deleted on the last release. The queue rule is pluggable so ReadWriteLock's two
 * sides are Locks too (QueueRule).
 */
import { CorralError } from '../corral-client.ts';
import type { CorralSession } from '../session.ts';
import { deadline, hold, joinAndWait, predecessor, waitForTurn, type BlockerOf, type Held, type QueueWaitOptions } from './sequential.ts';

export type AcquireOptions = QueueWaitOptions;

/** A held lock. */
export interface LockLease {
  /** The fencing token: pass it to the resource with every write (compare as bigint). */
  readonly token: bigint;
  /** This holder's node. */
  readonly path: string;
  /** Aborted when the lock is lost without release(): the session closed or expired, or the node was deleted. */
  readonly lost: AbortSignal;
  /** Gives up this acquisition (once); the node is deleted on the last one, and the next waiter gets the lock. */
  release(): Promise<void>;
}

/** How a lock's contenders queue: the marker of its nodes, the markers sharing its queue, and what blocks one. */
export interface QueueRule {
  readonly marker: string;
  readonly queue: readonly string[];
  readonly blockerOf: BlockerOf;
}

/** The mutex: one queue of `lock` members; each waits for the one before it. */
export const MUTEX_RULE: QueueRule = { marker: 'lock', queue: ['lock'], blockerOf: predecessor };

export interface LockOptions {
  /** The same Lock object may acquire again while it holds the lock (counted; default false). */
  readonly reentrant?: boolean;
  /** Stored as the node's data: who holds or waits (LeaderSelector's participant id). */
  readonly id?: string;
  /** How contenders queue (ReadWriteLock's sides); the mutex by default. */
  readonly rule?: QueueRule;
}

/** What this Lock object holds: one node, acquired `count` times. */
interface Holding {
  readonly held: Held;
  count: number;
}

/** An acquire waits this many times at most for another acquire of the same reentrant Lock. */
const PENDING_WAITS_MAX = 1000;

export class Lock {
  private holding: Holding | undefined;
  /** An acquire of this object in flight (a reentrant acquire waits for it rather than queueing twice). */
  private pending: Promise<unknown> | undefined;
  private readonly rule: QueueRule;

  /** `path`: the lock's node (its parent and itself are created as persistent nodes when missing). */
  constructor(readonly session: CorralSession, readonly path: string, readonly options: LockOptions = {}) {
    if (!path.startsWith('/') || path.endsWith('/')) throw new CorralError(400, 'BADARGUMENTS', -8, `a lock path is an absolute znode path, got "${path}"`);
    this.rule = options.rule ?? MUTEX_RULE;
  }

  /** Whether this object holds the lock now (as far as it knows: see `lease.lost`). */
  isHeld(): boolean {
    return this.current() !== undefined;
  }

  /** How many times this object holds the lock (0 when it does not; above 1 only when reentrant). */
  get holdCount(): number {
    return this.current()?.count ?? 0;
  }

  /**
   * Waits for the lock (in arrival order). Not reentrant: a second acquire while held is refused
   * (NODEEXISTS). Reentrant: counts up when held, and waits for an acquire of this object in flight
   * rather than queueing a second node behind its own.
   */
  async acquire(options: AcquireOptions = {}): Promise<LockLease> {
    for (let waits = 0; this.options.reentrant && waits < PENDING_WAITS_MAX; waits++) {
      const holding = this.current();
      if (holding) {
        holding.count++;
        return this.lease(holding);
      }
      if (!this.pending) break;
      await this.settled(this.pending, options);
    }
    if (this.current()) throw new CorralError(409, 'NODEEXISTS', -110, `this Lock already holds ${this.path} (it is not reentrant)`);
    // No await between the check above and `pending` being set: a second acquire sees this one.
    const attempt = joinAndWait(this.session, this.path, this.rule.marker, new TextEncoder().encode(this.options.id ?? ''), options, `acquiring ${this.path}`,
      (ours, stop) => waitForTurn(this.session, this.path, ours, this.rule.queue, this.rule.blockerOf, stop));
    this.pending = attempt;
    try {
      const holding: Holding = { held: hold(this.session, await attempt), count: 1 };
      this.holding = holding;
      return this.lease(holding);
    } finally {
      if (this.pending === attempt) this.pending = undefined;
    }
  }

  /** Waits for `pending` to settle, under the caller's deadline. */
  private async settled(pending: Promise<unknown>, options: AcquireOptions): Promise<void> {
    const wait = deadline(options.timeoutMs, options.signal, `acquiring ${this.path}`);
    try {
      await Promise.race([pending.catch(() => undefined), aborted(wait.signal)]);
    } finally {
      wait.dispose();
    }
  }

  private current(): Holding | undefined {
    const holding = this.holding;
    return holding && !holding.held.lost.aborted ? holding : undefined;
  }

  /** One acquisition of `holding`: its release counts down once; the last one deletes the node. */
  private lease(holding: Holding): LockLease {
    let released = false;
    return {
      token: holding.held.member.czxid,
      path: holding.held.member.path,
      lost: holding.held.lost,
      release: async () => {
        if (released) return;
        released = true;
        holding.count--;
        if (holding.count > 0) return;
        if (this.holding === holding) this.holding = undefined;
        await holding.held.release();
      },
    };
  }
}

/** Rejects with the signal's reason once it aborts (at once if it has). */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/**
 * What a resource keeps to check fencing tokens: it accepts a token at least as large as the
 * largest it has accepted, and refuses a smaller one (a former holder). Keep it next to the data
 * it guards, and check and write under one local critical section.
 */
export class FencingGuard {
  private highest = -1n;

  /** Accepts (and remembers) `token` unless a larger one was accepted before. */
  admit(token: bigint): boolean {
    if (token < this.highest) return false;
    this.highest = token;
    return true;
  }

  get highestToken(): bigint {
    return this.highest;
  }
}
