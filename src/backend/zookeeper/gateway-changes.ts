/**
 * The session-less /v1/watch streams of a gateway: one ZooKeeper watch per (path, recursive) on
 * the gateway's shared connection, however many subscribers this gateway has for it — a
 * persistent watch for `/v1/watch/p`, a persistent-recursive one for `?recursive=true` — so
 * 10,000 browsers on one path cost the ensemble one watch per gateway. Events are dated with the
 * ensemble's zxids (event-dating.ts) and kept in a bounded in-memory history for resumes.
 *
 * What a resume can rely on: the history holds only what this gateway watched, since its watches
 * were last (re)set. Each watch knows the zxid since which it has been held without a break; a
 * stream resuming from before that (floor(path): raised for every watch by a reconnect or a
 * trimmed history, for the watches it matches by a burst whose ACLs are unknown) is told to read
 * state again (`reset`), never silently given a partial history, and a watch set on another path
 * does not reset it. A new watch's subscribers hear a gap up to the zxid ZooKeeper set it at,
 * when that is past where their stream starts.
 *
 * A watch outlives its last subscriber by `lingerMs` (Consul's and etcd's watchers reconnect
 * within seconds): a lone browser whose EventSource reconnects after a network blip resumes
 * exactly from Last-Event-ID instead of being reset, since the gateway kept hearing its path.
 *
 * Each event carries its node's ACL (event-acls.ts), so a stream hears only of nodes its caller
 * may READ, as on the embedded store. Looking ACLs up takes a round trip: bursts, gaps and resets
 * are handed on in the order they came (one chain), so no stream sees them out of order; a burst
 * with an event whose ACL is unknown is handed on as a gap (the streams read state again).
 */
import type { Acl } from '../../core/acl/acl.ts';
import { OldestFirst } from '../../core/oldest-first.ts';
import type { ZkEventType } from '../../zookeeper-client/records.ts';
import type { ZooKeeperClient } from '../../zookeeper-client/client.ts';
import type { EventType, TreeEvent } from '../../core/tree/results.ts';
import type { HistoryEvent } from '../../storage/change-history.ts';
import type { ChangeSubscriber, Changes } from '../backend.ts';
import type { DatedGroup } from './event-dating.ts';
import { zxidNumber } from './convert.ts';
import { withoutOwn } from './gateway-own-paths.ts';
import { EventAcls, UNKNOWN } from './event-acls.ts';
import { withDerivedEvents } from './watch-modes.ts';

interface Group {
  readonly path: string;
  readonly recursive: boolean;
  readonly subscribers: Set<ChangeSubscriber>;
  /** Whether ZooKeeper holds its watch (set, and not lost with an expired session). */
  active: boolean;
  /** The history is complete for this watch after this zxid (it has been held since). */
  coveredFrom: number;
  /** Set while the watch lingers without subscribers; it is removed when this fires. */
  lingering: NodeJS.Timeout | undefined;
  /** Streams about to open on it (hold()): the watch is kept for them as for a subscriber. */
  holds: number;
  /** Settles once ZooKeeper answered the last setting of the watch (set, or refused). */
  settled: Promise<void>;
}

/** A group's key: `r:` recursive, `e:` exact, then the path. */
function keyOf(path: string, recursive: boolean): string {
  return `${recursive ? 'r' : 'e'}:${path}`;
}

const TREE_EVENTS: ReadonlySet<string> = new Set<EventType>([
  'NodeCreated', 'NodeDeleted', 'NodeDataChanged', 'NodeChildrenChanged', 'DataWatchRemoved', 'ChildWatchRemoved',
]);

export function isTreeEvent(type: ZkEventType): type is ZkEventType & EventType {
  return TREE_EVENTS.has(type);
}

export interface GatewayChangesOptions {
  readonly client: () => ZooKeeperClient;
  readonly appliedZxid: () => number;
  readonly sawZxid: (zxid: number) => void;
  readonly historyEventsMax: number;
  /** How long a watch is kept after its last subscriber leaves (0: removed at once). */
  readonly lingerMs: number;
  /**
   * Watches kept lingering at most; past it the one lingering longest is removed. A caller who
   * opens and closes streams on ever new paths would otherwise hold a ZooKeeper watch (and its
   * group here) per path for lingerMs each, limited only by how fast it can open streams.
   */
  readonly lingeringMax: number;
  readonly onError: (error: { code: string; message: string }, path: string) => void;
}

export class GatewayChanges implements Changes {
  private readonly groups = new Map<string, Group>();
  private history: HistoryEvent[] = [];
  private readonly acls: EventAcls;
  /** What is handed to the subscribers, in order (after each burst's ACL lookups). */
  private handing: Promise<void> = Promise.resolve();
  /** Events whose ACLs are being looked up: past historyEventsMax a burst is a gap instead. */
  private pendingEvents = 0;
  /** Resumes from before this zxid get a reset, whatever their path: history is complete only after it. */
  private floorZxid: number;
  /** The groups lingering without subscribers, longest first. */
  private readonly lingering = new Set<Group>();
  private readonly oldestLingering = new OldestFirst(this.lingering);

  constructor(private readonly options: GatewayChangesOptions) {
    this.floorZxid = options.appliedZxid();
    this.acls = new EventAcls(options.client, Math.max(1024, options.historyEventsMax));
  }

  /** Runs `step` after everything handed on before it. */
  private inOrder(step: () => void | Promise<void>): void {
    this.handing = this.handing.then(step).catch(() => undefined);
  }

  get appliedZxid(): number {
    return this.options.appliedZxid();
  }

  get subscribers(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.subscribers.size;
    return n;
  }

  /** The ZooKeeper watches this gateway holds for its streams (`r:` recursive, `e:` exact), sorted. */
  watchedPaths(): string[] {
    return [...this.groups.keys()].sort();
  }

  /** Of watchedPaths(), those ZooKeeper has confirmed (and not lost since): their changes reach the streams. */
  confirmedWatches(): string[] {
    return [...this.groups].filter(([, g]) => g.active).map(([key]) => key).sort();
  }

  subscribe(path: string, recursive: boolean, subscriber: ChangeSubscriber): () => void {
    const group = this.join(path, recursive);
    group.subscribers.add(subscriber);
    return () => {
      group.subscribers.delete(subscriber);
      this.leave(group);
    };
  }

  /**
   * Keeps the watch of a stream about to open, setting it if it is new: `ready` once ZooKeeper
   * has answered (set, or refused), so a stream answered after it hears every change made after
   * its answer, as a stream of the embedded store does, rather than a `reset` for a change made
   * before ZooKeeper set the watch. `release` (once the stream subscribed, or went away) may be
   * called more than once.
   */
  hold(path: string, recursive: boolean): { ready: Promise<void>; release: () => void } {
    const group = this.join(path, recursive);
    group.holds++;
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      group.holds--;
      this.leave(group);
    };
    return { ready: group.settled, release };
  }

  /** The group of (path, recursive), made and its watch set if there is none; no longer lingering. */
  private join(path: string, recursive: boolean): Group {
    const key = keyOf(path, recursive);
    let group = this.groups.get(key);
    if (!group) {
      // The history holds nothing of this watch before now: a resume from before it is reset.
      // (Set here, before the subscriber reads floor() for its replay; ZooKeeper's answer to the
      // watch, in watch(), raises it again to the zxid the watch was set at.)
      const now = this.options.appliedZxid();
      group = { path, recursive, subscribers: new Set(), active: false, coveredFrom: now, lingering: undefined, holds: 0, settled: Promise.resolve() };
      this.groups.set(key, group);
      this.watch(group, now);
    }
    this.stopLingering(group);
    return group;
  }

  /** A subscriber or a hold left: the group's last one starts its linger (or drops it at once). */
  private leave(group: Group): void {
    if (!this.unheld(group)) return;
    if (this.options.lingerMs <= 0) return this.drop(group);
    group.lingering = setTimeout(() => this.drop(group), this.options.lingerMs);
    group.lingering.unref();
    this.lingering.add(group);
    if (this.lingering.size > this.options.lingeringMax) this.drop(this.oldestLingering.take()![0]);
  }

  /** Whether the group is still the watch of its path and nothing holds it. */
  private unheld(group: Group): boolean {
    return group.subscribers.size === 0 && group.holds === 0 && this.groups.get(keyOf(group.path, group.recursive)) === group;
  }

  private stopLingering(group: Group): void {
    clearTimeout(group.lingering);
    group.lingering = undefined;
    this.lingering.delete(group);
  }

  /** The group's last subscriber has gone (and its linger ended): its watch is removed. */
  private drop(group: Group): void {
    this.stopLingering(group);
    if (!this.unheld(group)) return;
    this.groups.delete(keyOf(group.path, group.recursive));
    void this.unwatch(group.path, group.recursive);
  }

  /** Stops the lingering watches' timers (the gateway is closing; its connection goes with it). */
  close(): void {
    for (const g of [...this.lingering]) this.stopLingering(g);
  }

  /**
   * ZooKeeper 3.8 keeps one watch mode per connection and path (ZOOKEEPER-4466; watch-modes.ts):
   * with both an exact and a recursive group on a path, the server is asked for the recursive
   * watch only (an exact one added after it would end the subtree's events), and the exact
   * group's NodeChildrenChanged is derived in deliver().
   */
  private watch(group: Group, startZxid: number): void {
    const recursive = group.recursive || this.groups.has(keyOf(group.path, true));
    group.settled = this.options.client().addWatch(group.path, recursive ? 'persistent_recursive' : 'persistent').then((answer) => {
      if ('code' in answer) return this.options.onError(answer, group.path);
      group.active = true;
      const setAt = zxidNumber(answer.zxid);
      this.options.sawZxid(setAt);
      group.coveredFrom = Math.max(group.coveredFrom, setAt);
      if (setAt > startZxid) this.inOrder(() => { for (const s of group.subscribers) s.gap(setAt); });
      this.acls.warm(group.path);
    }).catch(() => undefined);
  }

  /**
   * The last group of one mode on a path is gone. With a recursive group left, nothing changes:
   * the connection already holds the recursive watch only (watch()). Otherwise the path's watch
   * is removed (ZooKeeper removes every mode at once) and an exact group left is watched again;
   * between the two its changes are not heard, so its subscribers get a gap when the ensemble
   * moved on meanwhile, as a new watch's do — never a silent hole.
   */
  private async unwatch(path: string, removedRecursive: boolean): Promise<void> {
    const otherKey = keyOf(path, !removedRecursive);
    if (this.groups.get(otherKey)?.recursive) return;
    const before = this.options.appliedZxid();
    const answer = await this.options.client().removeWatches(path, 'any');
    if ('code' in answer && answer.code !== 'NOWATCHER') this.options.onError(answer, path);
    const left = this.groups.get(otherKey);
    if (left === undefined) return;
    left.active = false;
    left.coveredFrom = Math.max(left.coveredFrom, before);
    this.watch(left, before);
  }

  /** A burst of notifications from the shared connection, dated: ACLs looked up, then recorded and handed to the matching groups. */
  deliver(group: DatedGroup): void {
    const events: TreeEvent[] = [];
    const notified = withoutOwn(group.events).filter((e) => isTreeEvent(e.type));
    const bothModes = { holds: (key: string) => this.groups.has(keyOf(key.slice(key.indexOf(' ') + 1), key.startsWith('persistentRecursive '))) };
    for (const e of withDerivedEvents(bothModes, notified, (path) => ({ type: 'NodeChildrenChanged' as const, path, state: 3 }))) {
      if (isTreeEvent(e.type)) events.push({ type: e.type, path: e.path, zxid: group.zxid });
    }
    if (events.length === 0) return;
    this.options.sawZxid(group.zxid);
    const overloaded = this.pendingEvents + events.length > this.options.historyEventsMax;
    this.pendingEvents += overloaded ? 0 : events.length;
    const acls = overloaded ? undefined : this.acls.lookup(events);
    this.inOrder(async () => {
      const found = acls === undefined ? undefined : await acls.catch(() => undefined).finally(() => (this.pendingEvents -= events.length));
      if (found === undefined || found.includes(UNKNOWN)) return this.unknownAt(group.zxid, events);
      this.hand(events.map((e, i) => (found[i] === undefined ? e : { ...e, acl: found[i] as Acl })));
    });
  }

  private hand(events: readonly TreeEvent[]): void {
    this.record(events);
    for (const g of this.groups.values()) {
      const matching = events.filter((e) => matches(g, e));
      if (matching.length === 0) continue;
      for (const s of g.subscribers) s.changed(matching);
    }
  }

  /** Who may hear of a burst is not known: the streams it matches read state again, and their paths' resumes from before it are reset too. */
  private unknownAt(zxid: number, events: readonly TreeEvent[]): void {
    for (const g of this.groups.values()) {
      if (!events.some((e) => matches(g, e))) continue;
      g.coveredFrom = Math.max(g.coveredFrom, zxid);
      for (const s of g.subscribers) s.gap(zxid);
    }
  }

  /**
   * The connection was lost and re-established: persistent watches missed what changed meanwhile
   * (ZooKeeper re-adds them without catching up). A watch whose setting failed is set now.
   */
  reconnected(zxid: number): void {
    this.inOrder(() => {
      this.floorZxid = Math.max(this.floorZxid, zxid);
      for (const g of this.groups.values()) {
        for (const s of g.subscribers) s.gap(zxid);
        if (!g.active) this.watch(g, zxid);
      }
    });
  }

  /** The shared session expired and a new one replaced it: no watch survived; set them all again. */
  renewed(zxid: number): void {
    this.inOrder(() => {
      for (const g of this.groups.values()) g.active = false;
    });
    this.reconnected(zxid);
  }

  private record(events: readonly TreeEvent[]): void {
    for (const e of events) this.history.push(e.acl === undefined ? { zxid: e.zxid, type: e.type, path: e.path } : { zxid: e.zxid, type: e.type, path: e.path, acl: e.acl });
    const excess = this.history.length - this.options.historyEventsMax;
    if (excess > 0) {
      // Drop whole zxids only: a resume inside one would miss its rest.
      let cut = excess;
      const last = this.history[cut - 1]!.zxid;
      while (cut < this.history.length && this.history[cut]!.zxid === last) cut++;
      this.floorZxid = Math.max(this.floorZxid, last);
      this.history = this.history.slice(cut);
    }
  }

  /** Resumes from before this zxid get a reset, whatever their path (a reconnect, a trimmed history). */
  gatewayFloor(): number {
    return this.floorZxid;
  }

  /** For a stream of `path`: after its watch's coverage and every gateway-wide floor (a new watch is not covered before now). */
  floor(path: string, recursive: boolean): number {
    const group = this.groups.get(keyOf(path, recursive));
    return Math.max(this.floorZxid, group?.coveredFrom ?? this.options.appliedZxid());
  }

  replay(afterZxid: number, max: number): HistoryEvent[] {
    const out: HistoryEvent[] = [];
    for (const e of this.history) {
      if (e.zxid <= afterZxid) continue;
      out.push(e);
      if (out.length >= max) break;
    }
    return out;
  }

  at(zxid: number): HistoryEvent[] {
    return this.history.filter((e) => e.zxid === zxid);
  }
}

/** As the embedded change feed: exact watches hear the node and its children list; recursive ones the subtree, without children events. */
function matches(g: Group, e: TreeEvent): boolean {
  if (!g.recursive) return e.path === g.path;
  if (e.type === 'NodeChildrenChanged') return false;
  return e.path === g.path || g.path === '/' || e.path.startsWith(`${g.path}/`);
}
