import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorralClient, ServiceDiscovery, type ServiceInstance } from '../../../src/client/index.ts';
import { readNode } from '../../../src/client/recipes/znode-ops.ts';
import { waitFor } from '../../support/corral-process.ts';
import { RecipeHarness } from './recipe-harness.ts';

let harness: RecipeHarness;

beforeAll(async () => {
  harness = await RecipeHarness.start();
});
afterAll(async () => {
  await harness.close();
});

const ids = (instances: readonly ServiceInstance[]) => instances.map((i) => i.id).sort();

describe('ServiceDiscovery', () => {
  it('registers instances as ephemeral nodes with a JSON payload, and lists them', async () => {
    const session = await harness.session();
    const discovery = new ServiceDiscovery(session, '/sd-list');
    const one = await discovery.register({ name: 'api', id: 'one', address: '10.0.0.1', port: 8080, payload: { zone: 'a' } });
    await discovery.register({ name: 'api', id: 'two', address: '10.0.0.2', port: 8080 });
    await discovery.register({ name: 'db', address: '10.0.0.3', port: 5432 });
    expect(await discovery.queryForNames()).toEqual(['api', 'db']);
    expect(ids(await discovery.queryForInstances('api'))).toEqual(['one', 'two']);
    expect(await discovery.queryForInstance('api', 'one')).toEqual(one);
    const client = new CorralClient({ baseUrl: harness.server.url });
    const node = await readNode((url, init) => client.raw(url, init), '/sd-list/api/one');
    expect(node?.stat.ephemeralOwner).toBe(session.id);
    expect(JSON.parse(new TextDecoder().decode(node!.data))).toEqual(one);
    await discovery.unregister('api', 'two');
    expect(ids(await discovery.queryForInstances('api'))).toEqual(['one']);
    await discovery.close();
    expect(await discovery.queryForInstances('api')).toEqual([]);
  });

  it('drops the instances of a session that expires, aborting its lost signal', async () => {
    const cut = await harness.partitionable(400);
    const watcher = new ServiceDiscovery(await harness.session(), '/sd-expiry');
    const discovery = new ServiceDiscovery(cut.session, '/sd-expiry');
    await discovery.register({ name: 'api', id: 'doomed', address: 'h', port: 1 });
    expect(ids(await watcher.queryForInstances('api'))).toEqual(['doomed']);
    cut.cut();
    await waitFor(async () => (await watcher.queryForInstances('api')).length === 0, { timeoutMs: 10_000, what: 'the expired instance gone' });
    cut.heal();
    await waitFor(() => discovery.lost.aborted, { timeoutMs: 10_000, what: 'lost aborted' });
    expect(discovery.lost.reason).toMatchObject({ code: 'SESSIONEXPIRED' });
    await expect(discovery.register({ name: 'api', id: 'again', address: 'h', port: 1 })).rejects.toMatchObject({ code: 'SESSIONEXPIRED' });
  });

  it('replaces an instance id left by another session (a restart before the old session expired)', async () => {
    const [old, restarted] = await Promise.all([harness.session(20_000), harness.session()]);
    await new ServiceDiscovery(old!, '/sd-replace').register({ name: 'api', id: 'w1', address: 'old', port: 1 });
    const discovery = new ServiceDiscovery(restarted!, '/sd-replace');
    await discovery.register({ name: 'api', id: 'w1', address: 'new', port: 2 });
    expect(await discovery.queryForInstance('api', 'w1')).toMatchObject({ address: 'new', port: 2 });
  });

  it('refuses an instance id with a slash with 400 BADARGUMENTS', async () => {
    const discovery = new ServiceDiscovery(await harness.session(), '/sd-bad');
    await expect(discovery.register({ name: 'api', id: 'a/b', address: 'h', port: 1 })).rejects.toMatchObject({ code: 'BADARGUMENTS', status: 400 });
  });
});

describe('ServiceCache', () => {
  it('follows instances coming and going, with change callbacks, and ignores foreign nodes', async () => {
    const discovery = new ServiceDiscovery(await harness.session(), '/sd-cache');
    await discovery.register({ name: 'api', id: 'first', address: 'h1', port: 1 });
    const cache = new ServiceDiscovery(await harness.session(), '/sd-cache').serviceCache('api');
    const views: string[][] = [];
    cache.onChange((instances) => views.push(ids(instances)));
    await cache.start();
    try {
      expect(ids(cache.instances())).toEqual(['first']);
      const second = await discovery.register({ name: 'api', id: 'second', address: 'h2', port: 2 });
      await new CorralClient({ baseUrl: harness.server.url }).create('/sd-cache/api/not-json', '{oops');
      await discovery.update({ ...second, port: 3 });
      await discovery.unregister('api', 'first');
      await waitFor(() => JSON.stringify(ids(cache.instances())) === '["second"]' && cache.instances()[0]!.port === 3, { timeoutMs: 5000, what: 'the cache current' });
      expect(views[0]).toEqual(['first']);
      expect(views).toContainEqual(['first', 'second']);
      expect(views[views.length - 1]).toEqual(['second']);
    } finally {
      await cache.close();
    }
  });
});
