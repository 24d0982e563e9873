// The part-B recipes act through ordinary requests, so the server's ACL checks apply to them: on a
// path the caller may only read, each that writes refuses with the server's 403 NOAUTH (a typed
// CorralError) and leaves nothing behind; a cache shows only what the caller may READ.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorralClient, DistributedQueue, DoubleBarrier, NodeCache, ServiceDiscovery, SharedCount, TreeCache, type CorralSession } from '../../../src/client/index.ts';
import { RecipeHarness } from './recipe-harness.ts';
import { cachedView, childrenNow } from './recipe-truth.ts';

let harness: RecipeHarness;
let session: CorralSession;

async function createWithAcl(path: string, acl: string, data = ''): Promise<void> {
  const response = await session.request(`/v1/znodes${path}`, { method: 'POST', body: new TextEncoder().encode(data), headers: { 'Content-Type': 'application/octet-stream', 'Zk-Acl': acl } });
  expect(response.status).toBe(201);
  await response.body?.cancel();
}

beforeAll(async () => {
  harness = await RecipeHarness.start();
  session = await harness.session();
  await createWithAcl('/recipes-b-ro', 'world:anyone:r');
  await createWithAcl('/recipes-b-tree', 'world:anyone:cdrwa', 'root');
  await createWithAcl('/recipes-b-tree/open', 'world:anyone:cdrwa', 'open');
  await createWithAcl('/recipes-b-tree/secret', 'world:anyone:cd', 'secret');
});
afterAll(async () => {
  await harness.close();
});

const writers = [
  { recipe: 'a DistributedQueue put', run: (s: CorralSession) => new DistributedQueue(s, '/recipes-b-ro').put('x') },
  { recipe: 'a ServiceDiscovery register', run: (s: CorralSession) => new ServiceDiscovery(s, '/recipes-b-ro').register({ name: 'api', address: 'h', port: 1 }) },
  { recipe: 'a DoubleBarrier enter', run: (s: CorralSession) => new DoubleBarrier(s, '/recipes-b-ro', 2).enter({ timeoutMs: 5000 }) },
  { recipe: 'a SharedCount start', run: (s: CorralSession) => new SharedCount(s, '/recipes-b-ro/count').start() },
] as const;

describe('part-B recipes under ACLs', () => {
  it.each(writers)('$recipe refuses with 403 NOAUTH on a path the caller may only read', async ({ run }) => {
    await expect(run(session)).rejects.toMatchObject({ status: 403, code: 'NOAUTH' });
    expect(await childrenNow(session, '/recipes-b-ro')).toEqual([]);
  });

  it('a TreeCache leaves out a node the caller may not read, and a NodeCache on it refuses with 403 NOAUTH', async () => {
    const client = new CorralClient({ baseUrl: harness.server.url });
    const tree = new TreeCache(client, '/recipes-b-tree');
    await tree.start();
    try {
      expect(cachedView(tree)).toEqual({ '/recipes-b-tree': 'root', '/recipes-b-tree/open': 'open' });
    } finally {
      await tree.close();
    }
    await expect(new NodeCache(client, '/recipes-b-tree/secret').start()).rejects.toMatchObject({ status: 403, code: 'NOAUTH' });
  });
});
