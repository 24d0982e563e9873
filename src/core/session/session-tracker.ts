/**
 * The leader's view of session liveness: when each session was last heard from. Not replicated:
 * a new leader (or a restarted node) grants every session a fresh full timeout, as ZooKeeper's
 * leader does, and only the leader turns an expiry into a closeSession transaction.
 * Pure: time comes in as arguments.
 */

export interface TimeoutBounds {
  readonly minMs: number;
  readonly maxMs: number;
}

/** ZooKeeper's negotiation: the requested timeout clamped into [2, 20] × tickTime. */
export function negotiateTimeout(requestedMs: number, tickTimeMs: number): number {
  return Math.min(Math.max(requestedMs, 2 * tickTimeMs), 20 * tickTimeMs);
}

export class SessionTracker {
  private readonly deadlines = new Map<number, number>();
  private readonly timeouts = new Map<number, number>();

  get size(): number {
    return this.deadlines.size;
  }

  /** Starts (or restarts) tracking a session with a full timeout from `nowMs`. */
  add(id: number, timeoutMs: number, nowMs: number): void {
    this.timeouts.set(id, timeoutMs);
    this.deadlines.set(id, nowMs + timeoutMs);
  }

  /** The session was heard from; false when it is not tracked. */
  touch(id: number, nowMs: number): boolean {
    const timeoutMs = this.timeouts.get(id);
    if (timeoutMs === undefined) return false;
    this.deadlines.set(id, nowMs + timeoutMs);
    return true;
  }

  remove(id: number): void {
    this.deadlines.delete(id);
    this.timeouts.delete(id);
  }

  /** Sessions whose deadline has passed, oldest first, at most `max`. */
  expired(nowMs: number, max: number): number[] {
    const due: Array<[number, number]> = [];
    for (const [id, deadline] of this.deadlines) if (deadline <= nowMs) due.push([deadline, id]);
    due.sort((a, b) => a[0] - b[0]);
    return due.slice(0, max).map(([, id]) => id);
  }
}
