/**
 * Which session hears about which change: one-shot data and child watches, persistent and
 * persistent-recursive watches, routed per ZooKeeper's trigger table. Replicated state, like the
 * sessions: watches are set and removed by transactions and consumed by applying them, so every
 * node routes the same events to the same sessions and any node can serve a session's stream.
 * Pure, synchronous and deterministic (deliveries are ordered by event, then session id).
 *
 * | change on P         | data watch on P | child watch on P | child watch on parent(P) |
 * | create P            | NodeCreated     |                  | NodeChildrenChanged      |
 * | delete P            | NodeDeleted     | NodeDeleted      | NodeChildrenChanged      |
 * | setData P           | NodeDataChanged |                  |                          |
 * (apply() emits the parent's NodeChildrenChanged as its own event on parent(P).)
 * Persistent watches on P get every event on P; recursive ones every event on P or below it,
 * except NodeChildrenChanged. A session gets one copy of an event however many watches match.
 * A session hears of an event only if it may READ the node the event is about (`mayRead`, with
 * the node's ACL at the change: a deleted node's last one, the parent's for NodeChildrenChanged),
 * whatever kind of watch matched; a one-shot watch is used up even when its event is withheld.
 * That is ZooKeeper 3.9.2's fix of CVE-2024-23944, where a recursive watch on `/` revealed every
 * path in the tree.
 */
import type { EventType, TreeEvent } from '../tree/results.ts';
import { parentOf } from '../tree/path.ts';

export type OneShotKind = 'data' | 'child';
export type PersistentMode = 'persistent' | 'persistent_recursive';
export type RemoveType = 'data' | 'children' | 'any';
export type WatchKind = OneShotKind | PersistentMode;

/** One registered watch, as a checkpoint stores it. */
export interface WatchRecord {
  readonly sessionId: number;
  readonly path: string;
  readonly kind: WatchKind;
}

const KINDS: readonly WatchKind[] = ['data', 'child', 'persistent', 'persistent_recursive'];

export function isWatchKind(value: unknown): value is WatchKind {
  return (KINDS as readonly unknown[]).includes(value);
}

export interface Delivery {
  readonly sessionId: number;
  readonly event: TreeEvent;
}

type Table = Map<string, Set<number>>;

function add(table: Table, path: string, sessionId: number): boolean {
  let set = table.get(path);
  if (!set) table.set(path, (set = new Set()));
  if (set.has(sessionId)) return false;
  set.add(sessionId);
  return true;
}

function drop(table: Table, path: string, sessionId: number): boolean {
  const set = table.get(path);
  if (!set?.delete(sessionId)) return false;
  if (set.size === 0) table.delete(path);
  return true;
}

export class WatchRegistry {
  private readonly data: Table = new Map();
  private readonly child: Table = new Map();
  private readonly persistent: Table = new Map();
  private readonly recursive: Table = new Map();
  /** Watches per session, for the limit and for cleanup. */
  private readonly bySession = new Map<number, Set<string>>();

  /** `maxPerSession`: the leader checks its limit before proposing; replicas apply what the log says. */
  constructor(records: Iterable<WatchRecord> = [], private readonly maxPerSession = Number.POSITIVE_INFINITY) {
    for (const r of records) {
      if (r.kind === 'data' || r.kind === 'child') this.addOneShot(r.sessionId, r.path, r.kind);
      else this.addPersistent(r.sessionId, r.path, r.kind);
    }
  }

  /** Every watch, for a checkpoint. */
  all(): WatchRecord[] {
    const out: WatchRecord[] = [];
    for (const [sessionId, keys] of this.bySession) {
      for (const key of keys) {
        const space = key.indexOf(' ');
        out.push({ sessionId, kind: key.slice(0, space) as WatchKind, path: key.slice(space + 1) });
      }
    }
    return out;
  }

  get size(): number {
    let n = 0;
    for (const keys of this.bySession.values()) n += keys.size;
    return n;
  }

  /** Whether the session already holds this watch (setting it again changes nothing). */
  holds(sessionId: number, kind: WatchKind, path: string): boolean {
    return this.bySession.get(sessionId)?.has(`${kind} ${path}`) ?? false;
  }

  count(sessionId: number): number {
    return this.bySession.get(sessionId)?.size ?? 0;
  }

  /** Registers a watch; false when the session is at its limit (a duplicate is not counted twice). */
  addOneShot(sessionId: number, path: string, kind: OneShotKind): boolean {
    return this.register(sessionId, path, kind, kind === 'data' ? this.data : this.child);
  }

  addPersistent(sessionId: number, path: string, mode: PersistentMode): boolean {
    return this.register(sessionId, path, mode, mode === 'persistent' ? this.persistent : this.recursive);
  }

  private register(sessionId: number, path: string, kind: string, table: Table): boolean {
    const key = `${kind} ${path}`;
    const mine = this.bySession.get(sessionId);
    if (mine?.has(key)) return true;
    if ((mine?.size ?? 0) >= this.maxPerSession) return false;
    add(table, path, sessionId);
    if (mine) mine.add(key);
    else this.bySession.set(sessionId, new Set([key]));
    return true;
  }

  /**
   * removeWatches: drops the session's watches on `path` of `type` and returns the events that
   * announce it (DataWatchRemoved / ChildWatchRemoved), or undefined when there was none (NOWATCHER).
   */
  remove(sessionId: number, path: string, type: RemoveType): EventType[] | undefined {
    const removed: EventType[] = [];
    const take = (kind: string, table: Table) => {
      if (!drop(table, path, sessionId)) return false;
      this.forget(sessionId, `${kind} ${path}`);
      return true;
    };
    if (type !== 'children') {
      const d = take('data', this.data);
      const p = take('persistent', this.persistent);
      const r = take('persistent_recursive', this.recursive);
      if (d || p || r) removed.push('DataWatchRemoved');
    }
    if (type !== 'data' && take('child', this.child)) removed.push('ChildWatchRemoved');
    return removed.length > 0 ? removed : undefined;
  }

  removeSession(sessionId: number): void {
    const keys = this.bySession.get(sessionId);
    if (!keys) return;
    const tables: Record<string, Table> = {
      data: this.data, child: this.child, persistent: this.persistent, persistent_recursive: this.recursive,
    };
    for (const key of keys) {
      const space = key.indexOf(' ');
      drop(tables[key.slice(0, space)]!, key.slice(space + 1), sessionId);
    }
    this.bySession.delete(sessionId);
  }

  private forget(sessionId: number, key: string): void {
    const keys = this.bySession.get(sessionId);
    keys?.delete(key);
    if (keys?.size === 0) this.bySession.delete(sessionId);
  }

  /** The deliveries for a transaction's events, in event order; one-shot watches are consumed. */
  route(events: readonly TreeEvent[], mayRead: (sessionId: number, event: TreeEvent) => boolean = () => true): Delivery[] {
    const out: Delivery[] = [];
    // Most writes have no watcher at all: nothing to look up or allocate.
    if (this.data.size === 0 && this.child.size === 0 && this.persistent.size === 0 && this.recursive.size === 0) return out;
    for (const event of events) {
      const to = new Set<number>();
      this.fireOneShot(event, to);
      for (const id of this.persistent.get(event.path) ?? []) to.add(id);
      if (event.type !== 'NodeChildrenChanged' && this.recursive.size > 0) {
        for (let p = event.path; ; p = parentOf(p)) {
          for (const id of this.recursive.get(p) ?? []) to.add(id);
          if (p === '/') break;
        }
      }
      for (const sessionId of [...to].sort((a, b) => a - b)) if (mayRead(sessionId, event)) out.push({ sessionId, event });
    }
    return out;
  }

  private fireOneShot(event: TreeEvent, to: Set<number>): void {
    const consume = (kind: OneShotKind, table: Table) => {
      const set = table.get(event.path);
      if (!set) return;
      table.delete(event.path);
      for (const id of set) {
        to.add(id);
        this.forget(id, `${kind} ${event.path}`);
      }
    };
    if (event.type === 'NodeChildrenChanged') consume('child', this.child);
    else consume('data', this.data);
    if (event.type === 'NodeDeleted') consume('child', this.child);
  }
}
