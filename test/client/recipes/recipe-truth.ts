// What the part-B recipe tests compare against: the subtree as a direct read shows it now, a
// seeded random source that prints its seed (replay with RECIPE_SEED=…), and a cache's view in
// the same shape.
import type { CorralClient, CorralSession } from '../../../src/client/index.ts';
import { childPath, readChildren, readNode } from '../../../src/client/recipes/znode-ops.ts';
import type { TreeCache } from '../../../src/client/recipes/tree-cache.ts';

/** path → data (UTF-8) of every node of the subtree, read directly (not through a cache). */
export async function subtreeNow(client: CorralClient, root: string): Promise<Record<string, string>> {
  const read = (url: string, init?: RequestInit) => client.raw(url, init);
  const found: Record<string, string> = {};
  const pending = [root];
  for (let i = 0; i < pending.length && i < 100_000; i++) {
    const node = await readNode(read, pending[i]!);
    if (!node) continue;
    found[node.path] = new TextDecoder().decode(node.data);
    for (const name of (await readChildren(read, node.path)) ?? []) pending.push(childPath(node.path, name));
  }
  return sorted(found);
}

/** The cache's view in the shape of subtreeNow. */
export function cachedView(cache: TreeCache): Record<string, string> {
  const view: Record<string, string> = {};
  for (const [path, node] of cache.entries()) view[path] = new TextDecoder().decode(node.data);
  return sorted(view);
}

function sorted(view: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(view).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A seeded PRNG (mulberry32); the seed comes from RECIPE_SEED or is drawn, and is printed. */
export function seededRandom(what: string): { seed: number; next: () => number; int: (n: number) => number } {
  const seed = process.env.RECIPE_SEED ? Number(process.env.RECIPE_SEED) : Math.floor(Math.random() * 2 ** 31);
  console.log(`${what}: RECIPE_SEED=${seed}`);
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { seed, next, int: (n) => Math.floor(next() * n) };
}

/** The children of `path` as the session reads them now (none when it does not exist). */
export async function childrenNow(session: CorralSession, path: string): Promise<string[]> {
  return (await readChildren((url, init) => session.request(url, init), path)) ?? [];
}
