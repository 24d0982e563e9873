/**
 * A session's events on a gateway that is still taking the session over: its stream may open
 * (Last-Event-ID and all) before the takeover has queued the recorded events again
 * (watch-record.ts), so where the stream resumes is decided once they are queued, not when it
 * opens. Until then the stream reads nothing and waits; after, this is the outbox itself.
 */
import type { SessionEvents } from '../backend.ts';
import type { Cursor, Outbox, OutboxEvent } from '../../node/outbox.ts';

export class DeferredEvents implements SessionEvents {
  private ready = false;
  /** Cursors asked before ready: a negative stand-in seq per stream, the Last-Event-ID it resumes after. */
  private readonly asked = new Map<number, { zxid: number; k: number } | undefined>();
  private nextStandIn = -1;
  private waiters: Array<() => void> = [];

  constructor(readonly outbox: Outbox) {}

  /** The takeover queued what it had: streams resume now. */
  open(): void {
    if (this.ready) return;
    this.ready = true;
    this.wakeAll();
  }

  get lastId(): string | undefined {
    return this.outbox.lastId;
  }

  get firstSeq(): number {
    return this.outbox.firstSeq;
  }

  cursorAfter(lastEventId: { zxid: number; k: number } | undefined): Cursor {
    if (this.ready) return this.outbox.cursorAfter(lastEventId);
    const standIn = this.nextStandIn--;
    this.asked.set(standIn, lastEventId);
    return { ok: true, seq: standIn };
  }

  /** The outbox's seq for `seq` (a stand-in once ready), 'overflow', or undefined while not ready. */
  private real(seq: number): number | 'overflow' | undefined {
    if (seq >= 0) return seq;
    if (!this.ready) return undefined;
    const cursor = this.outbox.cursorAfter(this.asked.get(seq));
    return cursor.ok ? cursor.seq : 'overflow';
  }

  read(seq: number): OutboxEvent[] | 'overflow' {
    const real = this.real(seq);
    if (real === undefined) return [];
    return real === 'overflow' ? real : this.outbox.read(real);
  }

  waitFor(seq: number): Promise<void> {
    const real = this.real(seq);
    if (real === undefined) return new Promise((resolve) => this.waiters.push(resolve));
    return real === 'overflow' ? Promise.resolve() : this.outbox.waitFor(real);
  }

  wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
    this.outbox.wakeAll();
  }
}
