import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorralClient, NodeCache, TreeCache, type CacheChange } from '../../../src/client/index.ts';
import { startServer, type RunningServer } from '../../../src/server.ts';
import { waitFor } from '../../support/corral-process.ts';
import { cachedView, seededRandom, subtreeNow } from './recipe-truth.ts';

let server: RunningServer;
let dir: string;
let writer: CorralClient;
const caches: Array<TreeCache | NodeCache> = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'corral-tree-cache-'));
  // A history of (at least) one event: trimmed a batch (1,024 events) at a time, so a test can push a stream's resume point out of it.
  server = await startServer({ dataDir: dir, port: 0, host: '127.0.0.1', tickTimeMs: 100, historyEventsMax: 1 });
  writer = new CorralClient({ baseUrl: server.url });
});
afterAll(async () => {
  await Promise.all(caches.map((c) => c.close()));
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function track<T extends TreeCache | NodeCache>(cache: T): T {
  caches.push(cache);
  return cache;
}

function recorder(cache: TreeCache | NodeCache): string[] {
  const seen: string[] = [];
  cache.onChange((c: CacheChange) => seen.push(`${c.type} ${c.path} ${new TextDecoder().decode(c.node.data)}`));
  return seen;
}

describe('NodeCache', () => {
  it('caches a node and fires changed, deleted and created as it changes', async () => {
    await writer.create('/nc', 'one');
    const cache = track(new NodeCache(new CorralClient({ baseUrl: server.url }), '/nc'));
    const seen = recorder(cache);
    await cache.start();
    expect(cache.text()).toBe('one');
    await writer.setData('/nc', 'two');
    await waitFor(() => cache.text() === 'two', { timeoutMs: 5000, what: 'the change cached' });
    await writer.delete('/nc');
    await waitFor(() => cache.get() === undefined, { timeoutMs: 5000, what: 'the deletion cached' });
    await writer.create('/nc', 'three');
    await waitFor(() => cache.text() === 'three', { timeoutMs: 5000, what: 'the re-creation cached' });
    expect(seen).toEqual(['created /nc one', 'changed /nc two', 'deleted /nc two', 'created /nc three']);
  });

  it('starts on a node that does not exist yet and fires created when it appears', async () => {
    const cache = track(new NodeCache(new CorralClient({ baseUrl: server.url }), '/nc-later'));
    await cache.start();
    expect(cache.get()).toBeUndefined();
    await writer.create('/nc-later', 'here');
    await waitFor(() => cache.text() === 'here', { timeoutMs: 5000, what: 'the node cached' });
    expect(cache.get()!.stat.version).toBe(0);
  });

  it('refuses a relative path with 400 BADARGUMENTS', () => {
    expect(() => new NodeCache(writer, 'nc')).toThrow(expect.objectContaining({ code: 'BADARGUMENTS', status: 400 }));
  });
});

describe('TreeCache', () => {
  it('loads a subtree and follows creations, changes and deletions below it', async () => {
    await writer.create('/tc', 'root');
    await writer.create('/tc/a', 'a');
    await writer.create('/tc/a/deep', 'deep');
    const cache = track(new TreeCache(new CorralClient({ baseUrl: server.url }), '/tc'));
    const seen = recorder(cache);
    await cache.start();
    expect(cachedView(cache)).toEqual({ '/tc': 'root', '/tc/a': 'a', '/tc/a/deep': 'deep' });
    await writer.create('/tc/b', 'b');
    await writer.setData('/tc/a/deep', 'deeper');
    await writer.delete('/tc/a/deep');
    await waitFor(async () => JSON.stringify(cachedView(cache)) === JSON.stringify(await subtreeNow(writer, '/tc')), { timeoutMs: 5000, what: 'the cache to match' });
    expect(cache.children('/tc')).toEqual(['a', 'b']);
    expect(seen.slice(3)).toEqual(['created /tc/b b', 'changed /tc/a/deep deeper', 'deleted /tc/a/deep deeper']);
  });

  it('caches only to maxDepth', async () => {
    await writer.create('/depth', '');
    await writer.create('/depth/one', '1');
    await writer.create('/depth/one/two', '2');
    const cache = track(new TreeCache(writer, '/depth', { maxDepth: 1 }));
    await cache.start();
    await writer.create('/depth/one/three', '3');
    await writer.create('/depth/four', '4');
    await waitFor(() => cache.get('/depth/four') !== undefined, { timeoutMs: 5000, what: '/depth/four cached' });
    await cache.settled();
    expect(Object.keys(cachedView(cache)).sort()).toEqual(['/depth', '/depth/four', '/depth/one']);
  });

  it('misses no change made while it loads, and converges to a direct read (seeded random writes)', async () => {
    const random = seededRandom('TreeCache initial load');
    await writer.create('/load', '');
    for (let i = 0; i < 20; i++) await writer.create(`/load/n${i}`, `v0-${i}`);
    const cache = track(new TreeCache(new CorralClient({ baseUrl: server.url }), '/load'));
    let writes = 0;
    const churn = (async () => {
      for (; writes < 120; writes++) {
        const name = `/load/n${random.int(30)}`;
        const roll = random.next();
        const op = roll < 0.4 ? writer.setData(name, `v${writes}`) : roll < 0.7 ? writer.create(name, `c${writes}`) : writer.delete(name);
        await op.catch(() => undefined); // NONODE / NODEEXISTS are part of the schedule
      }
    })();
    await cache.start();
    expect(writes).toBeLessThan(120); // the load really ran while the writes went on
    await churn;
    await waitFor(async () => JSON.stringify(cachedView(cache)) === JSON.stringify(await subtreeNow(writer, '/load')), { timeoutMs: 10_000, what: `the cache to match (seed ${random.seed})` });
  });

  it('reads everything again when the stream history was reset, firing callbacks for the differences only', async () => {
    let blocked = false;
    const streams = new Set<AbortController>();
    const cuttable: typeof fetch = async (input, init) => {
      const url = new Request(input).url;
      if (!url.includes('/v1/watch/')) return fetch(input, init);
      if (blocked) throw new TypeError('fetch failed (stream cut by the test)');
      const controller = new AbortController();
      streams.add(controller);
      return fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, controller.signal]) : controller.signal });
    };
    await writer.create('/rs', '');
    for (const name of ['a', 'b', 'c']) await writer.create(`/rs/${name}`, name);
    const cache = track(new TreeCache(new CorralClient({ baseUrl: server.url, fetch: cuttable }), '/rs'));
    const seen = recorder(cache);
    await cache.start();
    seen.length = 0;
    const before = writer.lastZxid;
    blocked = true;
    for (const controller of streams) controller.abort(new Error('stream cut'));
    await writer.create('/rs/x', 'x');
    await writer.delete('/rs/a');
    await writer.setData('/rs/b', 'b2');
    // Push the stream's resume point out of the history: it keeps a batch of 1,024 events beyond its bound.
    await writer.create('/bulk', '');
    const history = server.node.changes.history;
    await waitFor(async () => {
      const ops = Array.from({ length: 600 }, () => ({ op: 'setData', path: '/bulk', data: 'x' }));
      await writer.api.POST('/v1/multi', { body: { ops } as never });
      return history.floor() > Number(before);
    }, { timeoutMs: 20_000, what: 'the history trimmed past the stream' });
    blocked = false;
    await waitFor(() => cache.resyncs >= 2 && cache.get('/rs/x') !== undefined, { timeoutMs: 10_000, what: 'a resync' });
    await cache.settled();
    expect(cachedView(cache)).toEqual(await subtreeNow(writer, '/rs'));
    expect(seen.sort()).toEqual(['changed /rs/b b2', 'created /rs/x x', 'deleted /rs/a a']);
  });

  it('reads a node at least as new as the event that announced it, even from a member that lags', async () => {
    // A member as far behind as each read allows: it has applied only up to the read's
    // Zk-Min-Zxid, so a node created after that is not there yet (404).
    const lagging: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      const response = await fetch(request);
      const min = BigInt(request.headers.get('Zk-Min-Zxid') ?? '0');
      if (request.method !== 'GET' || !new URL(request.url).pathname.startsWith('/v1/znodes/lag/') || response.status !== 200) return response;
      const body = (await response.clone().json()) as { stat: { czxid: string } };
      if (BigInt(body.stat.czxid) <= min) return response;
      return new Response(JSON.stringify({ code: 'NONODE', zkCode: -101, message: 'not applied here yet' }), { status: 404, headers: { 'Content-Type': 'application/json' } });
    };
    await writer.create('/lag', '');
    const cache = track(new TreeCache(new CorralClient({ baseUrl: server.url, fetch: lagging }), '/lag'));
    await cache.start();
    await writer.create('/lag/new', 'fresh');
    await waitFor(() => cache.get('/lag/new') !== undefined, { timeoutMs: 5000, what: 'the new node cached' });
    expect(new TextDecoder().decode(cache.get('/lag/new')!.data)).toBe('fresh');
  });

  it('fails start() with NOAUTH-style errors as a CorralError instead of retrying forever', async () => {
    const cache = new TreeCache(new CorralClient({ baseUrl: server.url, retryForMs: 100, fetch: async () => new Response(JSON.stringify({ code: 'NOAUTH', zkCode: -102, message: 'no' }), { status: 403 }) }), '/tc');
    await expect(cache.start()).rejects.toMatchObject({ code: 'NOAUTH', status: 403 });
    expect(cache.state).toBe('failed');
  });
});
