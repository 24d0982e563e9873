/**
 * What a gateway session's watches are, kept where every gateway can read it (record-store.ts),
 * so a gateway that takes the session over continues its stream with no event lost and none
 * repeated:
 * - each watch still set, with `since`: the zxid of the read that set it. A takeover re-registers
 *   it with setWatches2 relative to that zxid, so the ensemble fires it at once when its node
 *   changed after the read (ZooKeeper's own reconnect rule, per watch rather than per connection);
 * - the events already dated, in order, with their zxids: a takeover queues them again with the
 *   same ids (`<zxid>-<k>`), and the stream's Last-Event-ID skips those the client had.
 * The record is written before a watch's read answers and before its events are queued, so the
 * record is never behind what the client saw. Pure: no I/O.
 *
 * Persistent watches are re-added by ZooKeeper without comparing zxids (setWatches2 re-registers
 * them as they are): their changes while no gateway held the session are not fired again, so a
 * takeover of a session holding one says `overflow` (see `catchesUp`).
 */
import type { WatchKind } from '../../zookeeper-client/watch-registry.ts';
import type { SetWatches2, ZkEventType, ZkWatcherType } from '../../zookeeper-client/records.ts';

export interface RecordedEvent {
  readonly zxid: number;
  readonly type: ZkEventType;
  readonly path: string;
}

interface Json {
  readonly v: 1;
  /** [kind, path, since] */
  readonly w: ReadonlyArray<readonly [WatchKind, string, number]>;
  /** [zxid, type, path] */
  readonly e: ReadonlyArray<readonly [number, ZkEventType, string]>;
  readonly d: number;
}

const KINDS: readonly WatchKind[] = ['data', 'exist', 'child', 'persistent', 'persistentRecursive'];

export class WatchRecord {
  private readonly watches = new Map<string, { kind: WatchKind; path: string; since: number }>();
  private events: RecordedEvent[] = [];
  /** Events at or before this zxid were dropped from the record (-1: none): a resume from there is told `overflow`. */
  droppedThrough = -1;

  constructor(readonly eventsMax: number) {}

  static parse(text: string, eventsMax: number): WatchRecord | undefined {
    try {
      const json = JSON.parse(text) as Json;
      if (json.v !== 1 || !Array.isArray(json.w) || !Array.isArray(json.e) || typeof json.d !== 'number') return undefined;
      const record = new WatchRecord(eventsMax);
      for (const [kind, path, since] of json.w) {
        if (KINDS.includes(kind) && typeof path === 'string' && Number.isSafeInteger(since)) record.added(kind, path, since);
      }
      record.events = json.e.map(([zxid, type, path]) => ({ zxid, type, path }));
      record.droppedThrough = json.d;
      return record;
    } catch {
      return undefined;
    }
  }

  toJson(): string {
    const json: Json = {
      v: 1, w: [...this.watches.values()].map((w) => [w.kind, w.path, w.since] as const),
      e: this.events.map((e) => [e.zxid, e.type, e.path] as const), d: this.droppedThrough,
    };
    return JSON.stringify(json);
  }

  /** A read or addWatch set a watch as of `since` (setting it again moves `since` on, as the newer read saw more). */
  added(kind: WatchKind, path: string, since: number): void {
    this.watches.set(`${kind} ${path}`, { kind, path, since });
  }

  /** Events dated at `zxid`: the one-shot watches they fired are gone (ZKWatchManager's rules), the events kept. */
  fired(events: readonly { readonly type: ZkEventType; readonly path: string }[], zxid: number): void {
    for (const { type, path } of events) {
      const gone: WatchKind[] = type === 'NodeCreated' || type === 'NodeDataChanged' ? ['data', 'exist']
        : type === 'NodeDeleted' ? ['data', 'exist', 'child'] : type === 'NodeChildrenChanged' ? ['child'] : [];
      for (const kind of gone) this.watches.delete(`${kind} ${path}`);
      this.events.push({ zxid, type, path });
    }
    this.trim();
  }

  /** removeWatches took `type` off `path` (the removal events are recorded with fired()). */
  removed(path: string, type: ZkWatcherType): void {
    if (type !== 'children') for (const kind of ['data', 'exist'] as const) this.watches.delete(`${kind} ${path}`);
    if (type !== 'data') this.watches.delete(`child ${path}`);
    if (type === 'any') for (const kind of ['persistent', 'persistentRecursive'] as const) this.watches.delete(`${kind} ${path}`);
  }

  /** Whole zxids at a time, so ids stay those the stream gave (`<zxid>-<k>` counts within a zxid). */
  private trim(): void {
    while (this.events.length > this.eventsMax) {
      const zxid = this.events[0]!.zxid;
      this.droppedThrough = zxid;
      let n = 0;
      while (n < this.events.length && this.events[n]!.zxid === zxid) n++;
      this.events = this.events.slice(n);
    }
  }

  get recorded(): readonly RecordedEvent[] {
    return this.events;
  }

  /** Whether `key` (`<kind> <path>`; `data` also matches an exist watch, both set by a read of the node) is held. */
  holds(key: string): boolean {
    return this.watches.has(key) || (key.startsWith('data ') && this.watches.has(`exist ${key.slice(5)}`));
  }

  get watchCount(): number {
    return this.watches.size;
  }

  /** Whether a takeover loses nothing: no persistent watch (those do not catch up, see the file's comment). */
  get catchesUp(): boolean {
    for (const w of this.watches.values()) if (w.kind === 'persistent' || w.kind === 'persistentRecursive') return false;
    return true;
  }

  /**
   * setWatches2 batches, one per `since` (each watch relative to its own read), oldest first.
   * Only the strongest kind held on a path goes to the server, as when the watches were set
   * (watch-modes.ts): ZooKeeper 3.8 keeps the last mode registered on a path, so a one-shot or
   * persistent watch registered beside a recursive one would end its subtree's events.
   */
  rewatchBatches(): SetWatches2[] {
    const bySince = new Map<number, { data: string[]; exist: string[]; child: string[]; persistent: string[]; persistentRecursive: string[] }>();
    for (const { kind, path, since } of this.watches.values()) {
      if (kind !== 'persistentRecursive' && this.holds(`persistentRecursive ${path}`)) continue;
      if (kind !== 'persistent' && kind !== 'persistentRecursive' && this.holds(`persistent ${path}`)) continue;
      let batch = bySince.get(since);
      if (!batch) bySince.set(since, (batch = { data: [], exist: [], child: [], persistent: [], persistentRecursive: [] }));
      batch[kind].push(path);
    }
    return [...bySince.entries()].sort(([a], [b]) => a - b).map(([since, batch]) => ({ relativeZxid: BigInt(since), ...batch }));
  }
}
