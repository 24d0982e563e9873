// The README's "### Recipes" block must run as written: it is taken from README.md, pointed at
// an in-process node and at the client's sources, and run; its console output is checked.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RecipeHarness } from './recipe-harness.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');
const README_NODE = 'http://127.0.0.1:8181';

let harness: RecipeHarness;
let dir: string;

beforeAll(async () => {
  harness = await RecipeHarness.start();
  dir = mkdtempSync(join(tmpdir(), 'corral-readme-recipes-'));
});
afterAll(async () => {
  await harness.close();
  rmSync(dir, { recursive: true, force: true });
});

function recipesSnippet(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.split('\n### Recipes\n')[1];
  const block = section && /```ts\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README.md has no ```ts block under "### Recipes"');
  return block[1]!;
}

describe('README: the recipes snippet', () => {
  it('takes a lock with a fencing token and leads a latch, printing what the comments say', async () => {
    const snippet = recipesSnippet();
    expect(snippet).toContain(README_NODE);
    const file = join(dir, 'snippet.ts');
    writeFileSync(file, snippet
      .replaceAll(README_NODE, harness.server.url)
      .replace("from 'corral/client'", `from ${JSON.stringify(join(REPO_ROOT, 'src/client/index.ts'))}`));
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')));
    try {
      await import(file);
    } finally {
      log.mockRestore();
    }
    expect(lines).toEqual(['holding the lock, token true', 'leading', 'true', 'following']);
  });
});
