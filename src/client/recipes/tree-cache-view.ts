/**
 * The part NodeCache and ServiceCache share: each is a view over one inner TreeCache (of depth 0
 * or 1) that owns the watch, the loading and the failure handling; the view only reads it in its
 * own shape. This base forwards the lifecycle (start, failure, settled, close) so the views hold
 * no copies of it and cannot drift apart.
 */
import type { CorralClient } from '../corral-client.ts';
import type { CorralSession } from '../session.ts';
import { TreeCache } from './tree-cache.ts';

export abstract class TreeCacheView {
  protected readonly tree: TreeCache;

  protected constructor(source: CorralClient | CorralSession, rootPath: string, maxDepth: number) {
    this.tree = new TreeCache(source, rootPath, { maxDepth });
  }

  get state(): TreeCache['state'] {
    return this.tree.state;
  }

  /** Loads what the view covers; answers once it is cached (or known absent). */
  start(): Promise<void> {
    return this.tree.start();
  }

  onFailure(listener: (error: unknown) => void): () => void {
    return this.tree.onFailure(listener);
  }

  /** Resolves once every event received so far is applied. */
  settled(): Promise<void> {
    return this.tree.settled();
  }

  close(): Promise<void> {
    return this.tree.close();
  }
}
