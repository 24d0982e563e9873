/**
 * Deleting a subtree, as ZooKeeper's `deleteall` (ZKUtil.deleteRecursive) does: list it, delete
 * the deepest nodes first. A node someone else already deleted is skipped; a child someone
 * creates meanwhile fails its parent with NOTEMPTY, and the walk starts over (a few times).
 */
import { client, isCode, join, readChildren } from './api.ts';

/** More than this, and the console asks the user to delete in parts (or use the CLI). */
export const SUBTREE_NODES_MAX = 10_000;
const ATTEMPTS_MAX = 3;

/** Every path under and including `path`, parents before children. */
export async function listSubtree(path: string): Promise<string[]> {
  const out = [path];
  for (let i = 0; i < out.length; i++) {
    let after: string | undefined;
    for (;;) {
      const page = await readChildren(out[i]!, after).catch((error: unknown) => {
        if (isCode(error, 'NONODE')) return { children: [], more: false };
        throw error;
      });
      out.push(...page.children.map((name) => join(out[i]!, name)));
      if (out.length > SUBTREE_NODES_MAX) throw new Error(`more than ${SUBTREE_NODES_MAX} nodes under ${path}: delete it in parts`);
      if (!page.more) break;
      after = page.children.at(-1);
    }
  }
  return out;
}

export async function deleteSubtree(path: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const paths = await listSubtree(path);
    try {
      for (const p of paths.reverse()) {
        await client.delete(p).catch((error: unknown) => {
          if (!isCode(error, 'NONODE')) throw error;
        });
      }
      return paths.length;
    } catch (error) {
      if (!isCode(error, 'NOTEMPTY') || attempt >= ATTEMPTS_MAX) throw error;
    }
  }
}
