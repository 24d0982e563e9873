/**
 * ZooKeeper's watch semantics, checked against the applied log of a node simulation run: a small
 * model replays the log entry by entry (per session: its one-shot data and child watches, its
 * persistent and recursive ones) and predicts every entry's deliveries, which must be exactly
 * the ones the hosts produced (ApplyOutput.deliveries, the same on every host: node-checkers.ts
 * compares outputs per index).
 *
 * The rules (ZooKeeper's trigger table): a one-shot data watch on P (set by a watched getData
 * of an existing P, or by exists whether or not P exists) fires once, at the first later
 * NodeCreated, NodeDataChanged or NodeDeleted of P, and is gone; one set by getData or by exists
 * on an existing P fires with NodeDataChanged or NodeDeleted, one set by exists on a missing P
 * with NodeCreated. A child watch on P (getChildren of an existing P) fires once, at the next
 * NodeChildrenChanged or NodeDeleted of P. A persistent watch on P hears every event on P; a
 * recursive one every event on P or below except NodeChildrenChanged. A session gets one copy of
 * an event however many of its watches match, in the order of the transaction's events, sessions
 * by id. removeWatches drops the matching watches and announces them (DataWatchRemoved for data,
 * persistent and recursive ones, then ChildWatchRemoved), or fails with NOWATCHER and changes
 * nothing; a removed watch never fires. A session's watches go with its end (after they fired on
 * its own ephemerals' deletion); a watch request of an ended session fails with SESSIONEXPIRED.
 * At the end every host's registry holds exactly the model's watches, all of open sessions.
 */
import type { DataTree } from '../../src/core/tree/data-tree.ts';
import type { ApplyOutput, TreeEvent, WatchResult } from '../../src/core/tree/results.ts';
import type { Txn, WatchRequest } from '../../src/core/tree/txn.ts';
import type { Delivery, WatchKind, WatchRecord } from '../../src/core/watch/watch-registry.ts';

export interface AppliedEntry {
  readonly zxid: number;
  readonly txn: Txn;
  readonly output: ApplyOutput;
}

export interface WatchCounts {
  /** One-shot watches set, and of those fired, removed before firing, or gone with their session. */
  readonly oneShotSet: number;
  readonly oneShotFired: number;
  readonly removed: number;
  /** Deliveries of all kinds (watch events and removal notices). */
  readonly deliveries: number;
}

/** A watch as the model holds it: for a one-shot data watch, what its firing event must be. */
interface Held {
  readonly kind: WatchKind;
  readonly path: string;
  readonly setAt: number;
  readonly firesWith: 'creation' | 'change' | undefined;
}

function within(path: string, root: string): boolean {
  return path === root || root === '/' || path.startsWith(`${root}/`);
}

/** Whether `held` fires on `event` (one-shot ones are then consumed). */
function matches(held: Held, event: TreeEvent): boolean {
  switch (held.kind) {
    case 'data':
      return event.path === held.path && event.type !== 'NodeChildrenChanged';
    case 'child':
      return event.path === held.path && (event.type === 'NodeChildrenChanged' || event.type === 'NodeDeleted');
    case 'persistent':
      return event.path === held.path;
    case 'persistent_recursive':
      return event.type !== 'NodeChildrenChanged' && within(event.path, held.path);
  }
}

export class WatchModel {
  /** Open sessions → their watches, by `${kind} ${path}`. */
  private readonly sessions = new Map<number, Map<string, Held>>();
  private counts = { oneShotSet: 0, oneShotFired: 0, removed: 0, deliveries: 0 };

  /** Replays one entry; throws (via `fail`) when its deliveries are not the model's. */
  apply({ zxid, txn, output }: AppliedEntry, fail: (message: string) => never): void {
    const expected: Delivery[] = [];
    if (txn.type === 'createSession' && output.result?.ok) this.sessions.set(zxid, new Map());
    if (txn.type === 'watch') this.watch(txn.sessionId, txn.request, output.result as WatchResult, zxid, expected, fail);
    for (const event of output.events) this.route(event, expected, fail);
    if (output.sessionEnd) this.sessions.delete(output.sessionEnd.sessionId);
    const actual = output.deliveries ?? [];
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      fail(`zxid ${zxid} (${txn.type}) delivered ${JSON.stringify(actual)}; the watch model expects ${JSON.stringify(expected)}`);
    }
    this.counts.deliveries += actual.length;
  }

  private watch(sessionId: number, request: WatchRequest, result: WatchResult, zxid: number, out: Delivery[], fail: (message: string) => never): void {
    const watches = this.sessions.get(sessionId);
    const what = `watch request ${JSON.stringify(request)} of session ${sessionId} at zxid ${zxid}`;
    if (!watches) {
      if (result.ok || result.error.code !== 'SESSIONEXPIRED') fail(`${what}, which had ended, answered ${JSON.stringify(result)}`);
      return;
    }
    if (request.op === 'removeWatches') {
      const announced = this.remove(watches, request);
      if (result.ok !== (announced.length > 0) || (!result.ok && result.error.code !== 'NOWATCHER')) {
        fail(`${what} answered ${JSON.stringify(result)}; the model held ${announced.length > 0 ? 'a matching watch' : 'none'}`);
      }
      for (const type of announced) out.push({ sessionId, event: { type, path: request.path, zxid } });
      return;
    }
    const found = result.ok;
    if (!found && result.error.code !== 'NONODE') fail(`${what} failed: ${JSON.stringify(result)}`);
    const set = (kind: WatchKind, firesWith?: Held['firesWith']) => {
      const key = `${kind} ${request.path}`;
      // Set again, a held watch stays as it was (one per session, path and kind).
      if (watches.has(key)) return;
      watches.set(key, { kind, path: request.path, setAt: zxid, firesWith });
      if (kind === 'data' || kind === 'child') this.counts.oneShotSet++;
    };
    switch (request.op) {
      case 'exists':
        return set('data', found ? 'change' : 'creation');
      case 'getData':
        return found ? set('data', 'change') : undefined;
      case 'getChildren':
        return found ? set('child') : undefined;
      case 'addWatch':
        return set(request.mode);
    }
  }

  /** Drops the watches removeWatches names; the removal notices it owes, in order. */
  private remove(watches: Map<string, Held>, request: WatchRequest & { op: 'removeWatches' }): Array<'DataWatchRemoved' | 'ChildWatchRemoved'> {
    const take = (kinds: readonly WatchKind[]) => kinds.filter((kind) => watches.delete(`${kind} ${request.path}`)).length > 0;
    const data = request.watchType !== 'children' && take(['data', 'persistent', 'persistent_recursive']);
    const child = request.watchType !== 'data' && take(['child']);
    if (data || child) this.counts.removed++;
    return [...(data ? ['DataWatchRemoved' as const] : []), ...(child ? ['ChildWatchRemoved' as const] : [])];
  }

  private route(event: TreeEvent, out: Delivery[], fail: (message: string) => never): void {
    for (const [sessionId, watches] of [...this.sessions].sort((a, b) => a[0] - b[0])) {
      let hears = false;
      for (const [key, held] of watches) {
        if (!matches(held, event)) continue;
        hears = true;
        if (held.kind !== 'data' && held.kind !== 'child') continue;
        watches.delete(key);
        this.counts.oneShotFired++;
        const creation = event.type === 'NodeCreated';
        if (held.firesWith !== undefined && creation !== (held.firesWith === 'creation')) {
          fail(`session ${sessionId}'s data watch on ${held.path}, set at zxid ${held.setAt} (${held.firesWith === 'creation' ? 'missing' : 'existing'} then), fired with ${event.type} at zxid ${event.zxid}`);
        }
      }
      if (hears) out.push({ sessionId, event });
    }
  }

  /** Every watch still held, as a registry lists them (sorted). */
  held(): WatchRecord[] {
    const out: WatchRecord[] = [];
    for (const [sessionId, watches] of this.sessions) for (const { kind, path } of watches.values()) out.push({ sessionId, kind, path });
    return sortWatches(out);
  }

  get summary(): WatchCounts {
    return { ...this.counts };
  }
}

/** Replays the log (indexes 1, 2, ... without a gap) through the model; every host's registry ends up with the model's watches. */
export function checkWatches(log: ReadonlyMap<number, AppliedEntry>, hosts: ReadonlyArray<{ id: number; tree: DataTree }>, fail: (message: string) => never): WatchCounts {
  const model = new WatchModel();
  for (let index = 1; log.has(index); index++) model.apply(log.get(index)!, fail);
  const held = JSON.stringify(model.held());
  for (const { id, tree } of hosts) {
    const registry = JSON.stringify(sortWatches(tree.watches.all()));
    if (registry !== held) fail(`n${id} holds the watches ${registry}; the watch model holds ${held}`);
  }
  return model.summary;
}

export function sortWatches(watches: readonly WatchRecord[]): WatchRecord[] {
  const key = (w: WatchRecord) => `${w.sessionId} ${w.kind} ${w.path}`;
  return [...watches].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
