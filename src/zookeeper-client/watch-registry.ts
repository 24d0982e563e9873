/**
 * The watches this client holds on the server, by kind and path: what a reconnect re-registers
 * with setWatches2, and which one-shot watches a notification consumed (ZKWatchManager's rules:
 * created/changed fire data and exist watches, deleted fires data, exist and child watches,
 * children-changed fires child watches; persistent ones stay). Pure: no I/O.
 */
import type { SetWatches2, ZkEventType, ZkWatcherType } from './records.ts';

export type WatchKind = 'data' | 'exist' | 'child' | 'persistent' | 'persistentRecursive';

export class WatchRegistry {
  private readonly sets: Record<WatchKind, Set<string>> = {
    data: new Set(), exist: new Set(), child: new Set(), persistent: new Set(), persistentRecursive: new Set(),
  };

  add(kind: WatchKind, path: string): void {
    this.sets[kind].add(path);
  }

  has(kind: WatchKind, path: string): boolean {
    return this.sets[kind].has(path);
  }

  /** A notification arrived: the one-shot watches it fired are gone from the server. */
  fired(type: ZkEventType, path: string): void {
    switch (type) {
      case 'NodeCreated':
      case 'NodeDataChanged':
        this.sets.data.delete(path);
        this.sets.exist.delete(path);
        return;
      case 'NodeDeleted':
        this.sets.data.delete(path);
        this.sets.exist.delete(path);
        this.sets.child.delete(path);
        return;
      case 'NodeChildrenChanged':
        this.sets.child.delete(path);
        return;
      case 'DataWatchRemoved':
      case 'ChildWatchRemoved':
      case 'PersistentWatchRemoved':
        return;
    }
  }

  /** removeWatches succeeded: which kinds it took off `path`. */
  removed(path: string, type: ZkWatcherType): void {
    if (type !== 'children') {
      this.sets.data.delete(path);
      this.sets.exist.delete(path);
    }
    if (type !== 'data') this.sets.child.delete(path);
    if (type === 'any') {
      this.sets.persistent.delete(path);
      this.sets.persistentRecursive.delete(path);
    }
  }

  get size(): number {
    let n = 0;
    for (const set of Object.values(this.sets)) n += set.size;
    return n;
  }

  /**
   * What to re-register after a reconnect, in batches of at most `maxBytes` of paths (the server
   * reads a packet up to jute.maxbuffer; ClientCnxn batches at 128 KiB likewise).
   */
  setWatches(relativeZxid: bigint, maxBytes = 128 * 1024): SetWatches2[] {
    const batches: SetWatches2[] = [];
    let batch = emptyBatch(relativeZxid);
    let bytes = 0;
    const kinds: Array<[WatchKind, keyof Omit<SetWatches2, 'relativeZxid'>]> = [
      ['data', 'data'], ['exist', 'exist'], ['child', 'child'], ['persistent', 'persistent'], ['persistentRecursive', 'persistentRecursive'],
    ];
    for (const [kind, field] of kinds) {
      for (const path of this.sets[kind]) {
        (batch[field] as string[]).push(path);
        bytes += Buffer.byteLength(path) + 4;
        if (bytes >= maxBytes) {
          batches.push(batch);
          batch = emptyBatch(relativeZxid);
          bytes = 0;
        }
      }
    }
    if (bytes > 0) batches.push(batch);
    return batches;
  }
}

function emptyBatch(relativeZxid: bigint): SetWatches2 & { [K in Exclude<keyof SetWatches2, 'relativeZxid'>]: string[] } {
  return { relativeZxid, data: [], exist: [], child: [], persistent: [], persistentRecursive: [] };
}
