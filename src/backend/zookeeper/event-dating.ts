/**
 * Dates watch notifications with the ensemble's zxids. ZooKeeper before 3.9 sends notifications
 * with zxid -1, so after a burst of them the gateway sends one cheap read (a probe) on the same
 * connection: its reply carries the zxid the server had applied, and every notification read
 * before that reply (a lower frame number) is of a change at or before it. Each burst is handed
 * on as one group at that zxid, in arrival order; groups have increasing zxids, since a change
 * applied before a probe's reply notified before it. Where a notification carries its own zxid
 * (3.9+), events are grouped by it instead.
 *
 * So an event's zxid is at or after its change, never before: a reader that reads at that zxid
 * sees the change. Two changes in one burst share a zxid (as the events of one multi do).
 */
import type { ZkError } from '../../core/errors.ts';
import type { WatcherEvent } from '../../zookeeper-client/records.ts';

export interface DatedGroup {
  readonly zxid: number;
  readonly events: readonly WatcherEvent[];
}

interface Waiting {
  readonly event: WatcherEvent;
  readonly zxid: bigint;
  readonly seq: number;
}

export class EventDater {
  private waiting: Waiting[] = [];
  private probing = false;
  private lastZxid = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly probe: () => Promise<{ zxid: bigint; seq: number } | ZkError>,
    private readonly emit: (group: DatedGroup) => void,
    /** The zxid to use when a probe fails (the connection was lost): the newest zxid known. */
    private readonly fallbackZxid: () => number,
  ) {}

  add(event: WatcherEvent, zxid: bigint, seq: number): void {
    this.waiting.push({ event, zxid, seq });
    if (!this.probing) void this.run();
  }

  /** Resolves once every notification added so far has been handed on (each turn is one probe: bounded). */
  idle(): Promise<void> {
    if (!this.probing && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async run(): Promise<void> {
    this.probing = true;
    // Bounded: each turn hands on at least the notifications read before its probe's reply.
    while (this.waiting.length > 0) {
      const answer = await this.probe();
      const cut = 'code' in answer ? Number.POSITIVE_INFINITY : answer.seq;
      const probeZxid = 'code' in answer ? this.fallbackZxid() : Number(answer.zxid);
      const batch = this.waiting.filter((w) => w.seq < cut);
      this.waiting = this.waiting.filter((w) => w.seq >= cut);
      this.hand(batch, probeZxid);
    }
    this.probing = false;
    for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private hand(batch: readonly Waiting[], probeZxid: number): void {
    let group: WatcherEvent[] = [];
    let groupZxid = -1;
    for (const w of batch) {
      const zxid = Math.max(this.lastZxid, w.zxid > 0n ? Number(w.zxid) : probeZxid);
      if (zxid !== groupZxid && group.length > 0) {
        this.emit({ zxid: groupZxid, events: group });
        group = [];
      }
      groupZxid = zxid;
      group.push(w.event);
      this.lastZxid = zxid;
    }
    if (group.length > 0) this.emit({ zxid: groupZxid, events: group });
  }
}
