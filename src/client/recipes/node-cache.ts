/**
 * A client-side cache of one node (Curator's NodeCache): its data and stat, kept current by a
 * persistent watch on that path alone, with change callbacks. It is a TreeCache of depth 0, so
 * it has the same guarantees: nothing missed during the first load, zxid-ordered updates, a full
 * read again after the stream's history was reset. A node that does not exist is cached as
 * absent (`get()` is undefined) and fires `created` when it appears.
 */
import type { CorralClient } from '../corral-client.ts';
import type { CorralSession } from '../session.ts';
import type { CacheListener } from './tree-cache.ts';
import { TreeCacheView } from './tree-cache-view.ts';
import type { NodeSnapshot } from './znode-ops.ts';

export class NodeCache extends TreeCacheView {
  constructor(source: CorralClient | CorralSession, readonly path: string) {
    super(source, path, 0);
  }

  /** The node as cached, or undefined while it does not exist. */
  get(): NodeSnapshot | undefined {
    return this.tree.get(this.path);
  }

  /** Its data as UTF-8 text, or undefined while it does not exist. */
  text(): string | undefined {
    const node = this.get();
    return node && new TextDecoder().decode(node.data);
  }

  onChange(listener: CacheListener): () => void {
    return this.tree.onChange(listener);
  }
}
