/**
 * ZooKeeper 3.8 keeps one watch mode per connection and path (ZOOKEEPER-4466, fixed in 3.9.0):
 * a watched read of a path holding a persistent or recursive watch turns it into a one-shot one
 * (gone after its first event), a persistent watch added where a recursive one is held makes it
 * non-recursive (the subtree's events stop), and a recursive one added where a persistent one is
 * held drops the path's NodeChildrenChanged. On the embedded store a session holding several kinds
 * on one path has them all, so a gateway session asks ZooKeeper only for the strongest kind it
 * holds on a path and derives the rest (test/http/events.e2e.test.ts, "several kinds on one path"):
 * - a recursive watch held on P: a read of P sets no watch on the server (the recursive watch hears
 *   P's NodeCreated, NodeDataChanged and NodeDeleted), a persistent watch on P is sent as recursive
 *   (so the mode stays recursive), and P's NodeChildrenChanged — which a recursive watch does not
 *   hear — is made from the NodeCreated/NodeDeleted of P's direct children while a persistent or a
 *   child watch on P is held;
 * - a persistent watch held on P: a read of P sets no watch on the server (the persistent watch
 *   hears every event of P).
 * The session's watch record still records every kind (what the limit counts, what a one-shot
 * event consumes, what a takeover re-registers). Pure: no I/O.
 */
import type { ZkAddWatchMode, ZkEventType } from '../../zookeeper-client/records.ts';
import { parentOf } from '../../core/tree/path.ts';

/** The session's watch record as these rules read it: `<kind> <path>` keys (watch-record.ts). */
export interface HeldWatches {
  holds(key: string): boolean;
}

export type WatchSetting = { readonly op: 'getData' | 'exists' | 'getChildren'; readonly path: string } | { readonly op: 'addWatch'; readonly path: string; readonly mode: ZkAddWatchMode };

/** What to ask the server for: whether a read sets its watch there, and the mode an addWatch is sent with. */
export function onServer(held: HeldWatches, request: WatchSetting): { readonly watch: boolean; readonly mode?: ZkAddWatchMode } {
  const recursive = held.holds(`persistentRecursive ${request.path}`);
  if (request.op === 'addWatch') return { watch: true, mode: recursive ? 'persistent_recursive' : request.mode };
  return { watch: !recursive && !held.holds(`persistent ${request.path}`) };
}

interface Notified {
  readonly type: ZkEventType;
  readonly path: string;
}

/** A burst of the session's notifications with the NodeChildrenChanged events the server left out (see the file's comment). */
export function withDerivedEvents<E extends Notified>(held: HeldWatches, events: readonly E[], make: (path: string) => E): E[] {
  const out: E[] = [];
  const childUsed = new Set<string>();
  events.forEach((e, i) => {
    out.push(e);
    if (e.type !== 'NodeCreated' && e.type !== 'NodeDeleted') return;
    if (e.path === '/') return;
    const parent = parentOf(e.path);
    if (!held.holds(`persistentRecursive ${parent}`)) return;
    const persistent = held.holds(`persistent ${parent}`);
    if (!persistent && (!held.holds(`child ${parent}`) || childUsed.has(parent))) return;
    const next = events[i + 1];
    if (next?.type === 'NodeChildrenChanged' && next.path === parent) return; // the server sent it
    if (!persistent) childUsed.add(parent); // a one-shot child watch fires once
    out.push(make(parent));
  });
  return out;
}
