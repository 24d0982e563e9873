/**
 * The leader's reads awaiting confirmation (ReadIndex): each remembers the commit index when it
 * arrived and which members have since answered a heartbeat carrying its context. Once a quorum
 * has, that read and every earlier one are confirmed: a quorum still followed this leader after
 * they all arrived.
 */
export interface PendingRead {
  readonly context: string;
  /** Who asked: this member, or a follower to answer with MsgReadIndexResp. */
  readonly from: number;
  readonly index: number;
}

interface Waiting extends PendingRead {
  readonly acks: Set<number>;
}

/** Reads waiting at most: past it the oldest are dropped (their callers time out). */
const WAITING_MAX = 10_000;

export class ReadIndexQueue {
  private waiting: Waiting[] = [];
  private deferred: Array<{ context: string; from: number }> = [];

  add(context: string, from: number, index: number, self: number): void {
    this.waiting.push({ context, from, index, acks: new Set([self]) });
    if (this.waiting.length > WAITING_MAX) this.waiting.shift();
  }

  /** A read that must wait for the leader's first commit of its term. */
  defer(context: string, from: number): void {
    this.deferred.push({ context, from });
    if (this.deferred.length > WAITING_MAX) this.deferred.shift();
  }

  takeDeferred(): Array<{ context: string; from: number }> {
    const taken = this.deferred;
    this.deferred = [];
    return taken;
  }

  /** The newest read's context: heartbeats carry it until it is confirmed (answers may be lost). */
  lastContext(): string | undefined {
    return this.waiting.at(-1)?.context;
  }

  /** Records `from`'s answer for `context`; returns the reads now confirmed, oldest first. */
  ack(context: string, from: number, quorum: number): PendingRead[] {
    const at = this.waiting.findIndex((r) => r.context === context);
    if (at < 0) return [];
    const read = this.waiting[at]!;
    read.acks.add(from);
    if (read.acks.size < quorum) return [];
    const confirmed = this.waiting.slice(0, at + 1);
    this.waiting = this.waiting.slice(at + 1);
    return confirmed.map(({ context: c, from: f, index }) => ({ context: c, from: f, index }));
  }
}
