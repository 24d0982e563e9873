/**
 * The part of the tree the console has loaded: each shown node's Stat (for its child count) and,
 * once expanded, its children (a page at a time, as the API lists them). Live events mark the
 * nodes they touch dirty; dirty nodes are re-read together a moment later, so a burst of writes
 * costs one read per shown node, not one per event. Nothing outside the loaded part is fetched.
 */
import { describeError, isCode, join, nameOf, parentOf, readChildren, readStat, type ZnodeStat } from './api.ts';
import type { WatchEvent } from './live-feed.ts';
import { Observable } from './observable.ts';

export interface Entry {
  stat?: ZnodeStat;
  children?: string[];
  more?: boolean;
  expanded: boolean;
  error?: string;
}

/** Stats read at once when a node is expanded; the rest wait for the next round. */
const STAT_READS_PARALLEL = 8;
const FLUSH_DELAY_MS = 150;

export class TreeModel extends Observable {
  readonly entries = new Map<string, Entry>([['/', { expanded: false }]]);
  private readonly dirty = new Set<string>();
  private flushTimer: ReturnType<typeof setTimeout> | undefined;

  entry(path: string): Entry | undefined {
    return this.entries.get(path);
  }

  /** Expands `path`, listing its children (first page) and reading their Stats. */
  async expand(path: string): Promise<void> {
    const entry = this.ensure(path);
    entry.expanded = true;
    this.changed();
    await this.list(path);
  }

  collapse(path: string): void {
    const entry = this.entries.get(path);
    if (entry) entry.expanded = false;
    this.changed();
  }

  /** Expands every ancestor of `path` and `path` itself's parent: how a search reveals a node. */
  async reveal(path: string): Promise<void> {
    const parts = path.split('/').filter((p) => p !== '');
    let at = '/';
    for (const part of parts) {
      await this.expand(at);
      at = join(at, part);
    }
    this.ensure(path);
    await this.refreshStat(path);
  }

  async loadMore(path: string): Promise<void> {
    const entry = this.entries.get(path);
    const last = entry?.children?.at(-1);
    if (!entry || last === undefined) return;
    const page = await readChildren(path, last);
    entry.children = [...entry.children!, ...page.children];
    entry.more = page.more;
    this.changed();
    await this.readStats(page.children.map((name) => join(path, name)));
  }

  /** Re-reads everything shown (after a reset, a log-in or a reconnect to a restarted node). */
  async reloadAll(): Promise<void> {
    for (const path of this.entries.keys()) this.dirty.add(path);
    await this.flush();
  }

  /** A live event: marks what it changed, to be re-read shortly. */
  apply(event: WatchEvent): void {
    const parent = parentOf(event.path);
    if (event.type === 'NodeDeleted') this.forget(event.path);
    if (event.type === 'NodeCreated' || event.type === 'NodeDeleted') this.markDirty(parent);
    if (this.entries.has(event.path)) this.markDirty(event.path);
    if (event.type === 'NodeCreated' && this.entries.get(parent)?.expanded) this.markDirty(event.path);
  }

  private markDirty(path: string): void {
    this.dirty.add(path);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, FLUSH_DELAY_MS);
  }

  private async flush(): Promise<void> {
    const paths = [...this.dirty];
    this.dirty.clear();
    for (const path of paths) {
      if (this.entries.get(path)?.expanded) await this.list(path);
    }
    await this.readStats(paths);
  }

  private ensure(path: string): Entry {
    let entry = this.entries.get(path);
    if (!entry) this.entries.set(path, (entry = { expanded: false }));
    return entry;
  }

  private forget(path: string): void {
    for (const key of [...this.entries.keys()]) {
      if (key === path || key.startsWith(`${path}/`)) this.entries.delete(key);
    }
  }

  private async list(path: string): Promise<void> {
    const entry = this.ensure(path);
    try {
      // Keeps as many names as were shown (pages already loaded stay loaded).
      const shown = entry.children?.length ?? 0;
      let page = await readChildren(path);
      let names = [...page.children];
      while (page.more && names.length < shown) {
        page = await readChildren(path, names.at(-1));
        names = [...names, ...page.children];
      }
      entry.children = names;
      entry.more = page.more;
      entry.stat = page.stat;
      delete entry.error;
      for (const name of names) this.ensure(join(path, name));
    } catch (error) {
      if (isCode(error, 'NONODE')) this.forget(path);
      else entry.error = describeError(error);
    }
    this.changed();
    await this.readStats((entry.children ?? []).map((name) => join(path, name)).filter((p) => this.entries.get(p)?.stat === undefined));
  }

  private async readStats(paths: readonly string[]): Promise<void> {
    for (let i = 0; i < paths.length; i += STAT_READS_PARALLEL) {
      await Promise.all(paths.slice(i, i + STAT_READS_PARALLEL).map((path) => this.refreshStat(path)));
      this.changed();
    }
  }

  private async refreshStat(path: string): Promise<void> {
    if (!this.entries.has(path)) return;
    try {
      const stat = await readStat(path);
      const entry = this.entries.get(path);
      if (entry) {
        entry.stat = stat;
        delete entry.error;
      }
    } catch (error) {
      if (isCode(error, 'NONODE')) {
        this.forget(path);
        const siblings = this.entries.get(parentOf(path))?.children;
        const at = siblings?.indexOf(nameOf(path)) ?? -1;
        if (at >= 0) siblings!.splice(at, 1);
      } else {
        const entry = this.entries.get(path);
        if (entry) entry.error = describeError(error);
      }
    }
  }
}
