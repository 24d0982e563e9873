/**
 * A client-side cache of a subtree (Curator's CuratorCache / TreeCache), kept coherent by a
 * persistent recursive watch (watch-feed.ts), with change callbacks. Invariants:
 *
 * - No change is missed during the initial load: the stream starts after a zxid Z0 taken before
 *   any read, and every read after carries Zk-Min-Zxid >= Z0, so each change is either seen by a
 *   read or delivered as an event (or both).
 * - Events and reads are ordered by zxid, per node: an event at zxid Z is skipped when the cached
 *   node already reflects it (its mzxid >= Z); a deletion at Z removes only a node last changed
 *   before Z (a node read after being re-created has a larger czxid). So a replayed or late event
 *   never undoes a newer read, and every node converges to the server's state.
 * - Events are applied one at a time, in stream order (one queue, one drain loop).
 * - When the stream's history was reset (or the queue overflows), the whole subtree is read again
 *   and compared with the cache: callbacks fire for the differences only.
 * - Bounded: at most `nodesMax` nodes (past it the cache fails rather than grow), at most
 *   QUEUE_MAX queued events (past it, one resync replaces them).
 */
import { CorralError, znodeUrl, type CorralClient } from '../corral-client.ts';
import type { CorralSession, WatchEvent } from '../session.ts';
import { WatchFeed } from './watch-feed.ts';
import { checkRecipePath, childPath, readChildren, readNode, type NodeSnapshot, type Requester } from './znode-ops.ts';

export type CacheChangeType = 'created' | 'changed' | 'deleted';

export interface CacheChange {
  readonly type: CacheChangeType;
  readonly path: string;
  /** The node as now cached; for `deleted`, as it was last cached. */
  readonly node: NodeSnapshot;
}

export type CacheListener = (change: CacheChange) => void;

export interface TreeCacheOptions {
  /** Cache the node itself (0), its children (1), …; default: the whole subtree. */
  readonly maxDepth?: number;
  /** Most nodes cached; past it the cache fails (state `failed`). Default 100000. */
  readonly nodesMax?: number;
}

type Work = { readonly kind: 'event'; readonly event: WatchEvent } | { readonly kind: 'resync' };

const NODES_MAX_DEFAULT = 100_000;
const QUEUE_MAX = 10_000;
/** A read that failed (the client's failover gave up) is retried by a resync after this pause, times the attempt. */
const RETRY_PAUSE_MS = 200;
const RETRY_PAUSE_MS_MAX = 5000;
const FAILED_ATTEMPTS_MAX = 50;

export class TreeCache {
  state: 'latent' | 'started' | 'closed' | 'failed' = 'latent';
  /** Why the cache failed (state `failed`). */
  failure: unknown;
  private readonly nodes = new Map<string, NodeSnapshot>();
  private readonly listeners = new Set<CacheListener>();
  private readonly failureListeners = new Set<(error: unknown) => void>();
  private readonly queue: Work[] = [];
  private draining: Promise<void> | undefined;
  private feed: WatchFeed | undefined;
  private readonly client: CorralClient;
  private readonly read: Requester;
  private readonly maxDepth: number;
  private readonly nodesMax: number;
  private loaded: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  private failedAttempts = 0;
  /** The newest zxid the stream has shown (events and resets): reads must reflect at least it. */
  private streamZxid = 0n;
  /** Resyncs done (the initial load included): for tests and metrics. */
  resyncs = 0;

  /** `source`: a client, or a session (its client is used; the cache does not end with the session). */
  constructor(source: CorralClient | CorralSession, readonly path: string, options: TreeCacheOptions = {}) {
    checkRecipePath('cache', path);
    this.client = 'client' in source ? source.client : source;
    // Every read reflects at least what the stream has shown: the stream and the reads may be on
    // different members, and a lagging one would answer a just-created node with 404 for good.
    this.read = (url, init) => {
      const headers = new Headers(init?.headers);
      const floor = this.streamZxid > this.client.lastZxid ? this.streamZxid : this.client.lastZxid;
      if (floor > 0n) headers.set('Zk-Min-Zxid', String(floor));
      return this.client.raw(url, { ...init, headers });
    };
    this.maxDepth = options.maxDepth ?? Number.MAX_SAFE_INTEGER;
    this.nodesMax = options.nodesMax ?? NODES_MAX_DEFAULT;
  }

  /** Loads the subtree and starts following it; answers once the first load is done (its nodes fire `created`). */
  async start(): Promise<void> {
    if (this.state !== 'latent') throw new Error(`a cache starts once (it is ${this.state})`);
    this.state = 'started';
    // Z0: any zxid the client has seen; every read from here on reflects at least it.
    const probe = await this.read(znodeUrl('/v1/stat', this.path));
    await probe.body?.cancel();
    this.feed = new WatchFeed(this.client, this.path, this.maxDepth > 0, this.client.lastZxid, {
      onEvent: (event) => {
        this.sawZxid(BigInt(event.zxid));
        this.enqueue({ kind: 'event', event });
      },
      onResync: (zxid) => {
        this.sawZxid(zxid);
        this.enqueue({ kind: 'resync' });
      },
      onFailure: (error) => this.fail(error),
    });
    const first = new Promise<void>((resolve, reject) => (this.loaded = { resolve, reject }));
    this.enqueue({ kind: 'resync' });
    this.feed.start();
    try {
      await first;
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /** The cached node at `path` (absolute), if any. */
  get(path: string = this.path): NodeSnapshot | undefined {
    return this.nodes.get(path);
  }

  /** Names of the cached children of `path`, sorted. */
  children(path: string = this.path): string[] {
    const prefix = path === '/' ? '/' : `${path}/`;
    const names: string[] = [];
    for (const key of this.nodes.keys()) {
      if (key !== path && key.startsWith(prefix) && !key.slice(prefix.length).includes('/')) names.push(key.slice(prefix.length));
    }
    return names.sort();
  }

  /** Every cached node, by path. */
  entries(): ReadonlyMap<string, NodeSnapshot> {
    return this.nodes;
  }

  onChange(listener: CacheListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called once if the cache fails (no permission, past nodesMax, server unreachable for long). */
  onFailure(listener: (error: unknown) => void): () => void {
    this.failureListeners.add(listener);
    return () => this.failureListeners.delete(listener);
  }

  /** Resolves once every event queued so far is applied (for tests and for read-your-writes). */
  async settled(): Promise<void> {
    for (let round = 0; this.draining && round < 1000; round++) await this.draining;
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    if (this.state !== 'failed') this.state = 'closed';
    this.queue.length = 0;
    await this.feed?.close();
    await this.draining?.catch(() => undefined);
  }

  private enqueue(work: Work): void {
    if (this.state !== 'started') return;
    if (this.queue.length >= QUEUE_MAX) {
      // Falling this far behind, one full read is cheaper than the events: replace them with it.
      this.queue.length = 0;
      this.queue.push({ kind: 'resync' });
    } else {
      this.queue.push(work);
    }
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  private async drain(): Promise<void> {
    for (let item = this.queue.shift(); item && this.state === 'started'; item = this.queue.shift()) {
      try {
        if (item.kind === 'resync') await this.resync();
        else await this.apply(item.event);
        this.failedAttempts = 0;
      } catch (error) {
        if (this.loaded) return this.fail(error); // the first load failed: start() answers with it
        if (++this.failedAttempts >= FAILED_ATTEMPTS_MAX) return this.fail(error);
        // The server could not be reached for a while: what was missed is found by reading it all again.
        await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_PAUSE_MS * this.failedAttempts, RETRY_PAUSE_MS_MAX)));
        this.queue.unshift({ kind: 'resync' });
      }
    }
  }

  /** One event, by the per-node zxid rules at the top of the file. */
  private async apply(event: WatchEvent): Promise<void> {
    if (event.type !== 'NodeCreated' && event.type !== 'NodeDataChanged' && event.type !== 'NodeDeleted') return;
    if (this.depthOf(event.path) > this.maxDepth) return;
    const zxid = BigInt(event.zxid);
    const cached = this.nodes.get(event.path);
    if (cached && BigInt(cached.stat.mzxid) >= zxid) return; // already reflected (or re-created since)
    if (event.type === 'NodeDeleted') return this.remove(event.path);
    const node = await this.readVisible(event.path);
    const now = this.nodes.get(event.path); // the read awaited: look again
    if (!node) {
      if (now && BigInt(now.stat.mzxid) < zxid) this.remove(event.path); // gone since the event
      return;
    }
    this.put(node);
  }

  /** Reads the whole subtree again and fires callbacks for what differs from the cache. */
  private async resync(): Promise<void> {
    this.resyncs++;
    const fresh = await this.walk();
    for (const path of [...this.nodes.keys()].sort().reverse()) if (!fresh.has(path)) this.remove(path);
    for (const node of [...fresh.values()].sort((a, b) => a.path.localeCompare(b.path))) this.put(node);
    const loaded = this.loaded;
    this.loaded = undefined;
    loaded?.resolve();
  }

  /** The subtree as read now, breadth first, to `maxDepth`, at most `nodesMax` nodes. */
  private async walk(): Promise<Map<string, NodeSnapshot>> {
    const found = new Map<string, NodeSnapshot>();
    let level = [this.path];
    for (let depth = 0; level.length > 0 && depth <= this.maxDepth; depth++) {
      const next: string[] = [];
      for (const path of level) {
        const node = depth === 0 ? await readNode(this.read, path) : await this.readVisible(path);
        if (!node) continue; // deleted meanwhile (its deletion event, or none, follows), or not ours to read
        found.set(path, node);
        if (found.size > this.nodesMax) throw new Error(`${this.path} holds more than ${this.nodesMax} nodes (nodesMax)`);
        if (depth < this.maxDepth && node.stat.numChildren > 0) {
          for (const name of (await readChildren(this.read, path)) ?? []) next.push(childPath(path, name));
        }
      }
      level = next;
    }
    return found;
  }

  /**
   * A node below the root as read now; a node the caller may not READ (403) is treated as not
   * there, as the watch stream sends no events about it: the cache shows what the caller may read.
   */
  private async readVisible(path: string): Promise<NodeSnapshot | undefined> {
    try {
      return await readNode(this.read, path);
    } catch (error) {
      if (path !== this.path && error instanceof CorralError && error.status === 403) return undefined;
      throw error;
    }
  }

  /** Caches `node` unless what is cached is as new; fires created or changed. */
  private put(node: NodeSnapshot): void {
    const cached = this.nodes.get(node.path);
    if (cached && BigInt(cached.stat.mzxid) >= BigInt(node.stat.mzxid) && cached.stat.czxid === node.stat.czxid) return;
    if (!cached && this.nodes.size >= this.nodesMax) return this.fail(new Error(`${this.path} holds more than ${this.nodesMax} nodes (nodesMax)`));
    this.nodes.set(node.path, node);
    this.emit({ type: cached ? 'changed' : 'created', path: node.path, node });
  }

  /** Removes `path` and anything cached below it (a node is deleted only once it has no children). */
  private remove(path: string): void {
    const prefix = path === '/' ? '/' : `${path}/`;
    const gone = [...this.nodes.keys()].filter((key) => key === path || key.startsWith(prefix)).sort().reverse();
    for (const key of gone) {
      const node = this.nodes.get(key)!;
      this.nodes.delete(key);
      this.emit({ type: 'deleted', path: key, node });
    }
  }

  private emit(change: CacheChange): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch {
        // A listener's failure is its own: the cache stays coherent for the others.
      }
    }
  }

  private fail(error: unknown): void {
    if (this.state !== 'started') return;
    this.state = 'failed';
    this.failure = error;
    this.queue.length = 0;
    void this.feed?.close();
    const loaded = this.loaded;
    this.loaded = undefined;
    loaded?.reject(error);
    for (const listener of [...this.failureListeners]) listener(error);
  }

  private sawZxid(zxid: bigint): void {
    if (zxid > this.streamZxid) this.streamZxid = zxid;
  }

  private depthOf(path: string): number {
    if (path === this.path) return 0;
    const rest = this.path === '/' ? path.slice(1) : path.slice(this.path.length + 1);
    return rest.split('/').length;
  }
}
