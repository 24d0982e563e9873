/**
 * A session's ordered outbox of events: what its stream sends and what a reconnect with
 * Last-Event-ID replays. Ids are `<zxid>-<k>`, k counting the events of one zxid on this
 * session, so ids are unique and increasing. Bounded: past `maxEvents` the oldest are dropped,
 * and a reader that still needed them is told (overflow), never silently skipped.
 */
import { decimal } from '../core/decimal.ts';

export interface OutboxEvent {
  readonly seq: number;
  readonly id: string;
  readonly zxid: number;
  readonly k: number;
  readonly event: 'watch' | 'session';
  readonly data: string;
}

export type Cursor = { readonly ok: true; readonly seq: number } | { readonly ok: false; readonly reason: 'overflow' };



export function parseEventId(raw: string): { zxid: number; k: number } | undefined {
  const m = /^(\d{1,16})-(\d{1,9})$/.exec(raw.trim());
  if (!m) return undefined;
  const zxid = Number(m[1]);
  return Number.isSafeInteger(zxid) ? { zxid, k: Number(m[2]) } : undefined;
}

function isAfter(a: { zxid: number; k: number }, b: { zxid: number; k: number }): boolean {
  return a.zxid > b.zxid || (a.zxid === b.zxid && a.k > b.k);
}

export class Outbox {
  /** Kept events are events[head..]; dropped ones are cut off in batches, so a push stays O(1). */
  private events: OutboxEvent[] = [];
  private head = 0;
  private nextSeq = 0;
  private lastDropped: OutboxEvent | undefined;
  /** A resume from at or before this zxid missed events lost in a restart. */
  private lostThrough = -1;
  private waiters: Array<() => void> = [];
  /** Set once the session has ended: its final event is in the outbox. */
  ended = false;

  constructor(private readonly maxEvents: number) {}

  push(zxid: number, event: OutboxEvent['event'], payload: object): OutboxEvent {
    // The newest event, kept or just dropped, decides k (ids must stay unique).
    const last = this.events.at(-1);
    const k = last && last.zxid === zxid ? last.k + 1 : 0;
    const entry = { seq: this.nextSeq++, id: `${decimal(zxid)}-${k}`, zxid, k, event, data: JSON.stringify(payload) };
    this.events.push(entry);
    if (this.events.length - this.head > this.maxEvents) {
      this.lastDropped = this.events[this.head++];
      if (this.head >= Math.max(64, this.maxEvents)) {
        this.events = this.events.slice(this.head);
        this.head = 0;
      }
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
    return entry;
  }

  /**
   * Where a reader resumes: after `lastEventId`, or, for a first connection without one, from the
   * session's first event, so nothing that happened before the stream opened is missed.
   */
  cursorAfter(lastEventId: { zxid: number; k: number } | undefined): Cursor {
    if (!lastEventId) {
      // From the session's start: events dropped, or lost in a restart or a checkpoint install, are missing.
      if (this.lastDropped || this.lostThrough >= 0) return { ok: false, reason: 'overflow' };
      return { ok: true, seq: this.firstSeq };
    }
    // The reader missed events that were already dropped: tell it rather than skip them.
    if (this.lastDropped && isAfter(this.lastDropped, lastEventId)) return { ok: false, reason: 'overflow' };
    if (lastEventId.zxid <= this.lostThrough) return { ok: false, reason: 'overflow' };
    let next: OutboxEvent | undefined;
    for (let i = this.head; i < this.events.length && !next; i++) if (isAfter(this.events[i]!, lastEventId)) next = this.events[i];
    return { ok: true, seq: next ? next.seq : this.nextSeq };
  }

  /** Events up to `zxid` are lost (a restart): a reader resuming from before it is told. */
  markLostThrough(zxid: number): void {
    this.lostThrough = zxid;
  }

  /** The id of the newest event queued, if any. */
  get lastId(): string | undefined {
    return this.events.length > this.head ? this.events[this.events.length - 1]!.id : undefined;
  }

  /** The oldest event still kept (where a reader goes on after being told of an overflow). */
  get firstSeq(): number {
    return this.events[this.head]?.seq ?? this.nextSeq;
  }

  /** Events from `seq` on, or overflow when some were already dropped. */
  read(seq: number): OutboxEvent[] | 'overflow' {
    const firstSeq = this.firstSeq;
    if (seq < firstSeq) return 'overflow';
    return this.events.slice(this.head + seq - firstSeq);
  }

  /** Resolves at the next push (or at once if `seq` is behind). */
  waitFor(seq: number): Promise<void> {
    if (seq < this.nextSeq) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Wakes every waiting reader (e.g. to notice a shutdown). */
  wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
