/**
 * A session holding several kinds of watch on one path (recursive, persistent and a one-shot
 * read) taken over by another gateway: the new gateway re-registers them with setWatches2 on
 * ZooKeeper 3.8, which keeps one watch mode per connection and path (ZOOKEEPER-4466), so only
 * the strongest kind may go to the server; the session goes on hearing what each kind hears.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../../../src/backend/zookeeper/gateway-server.ts';
import { startZooKeeper, type ZooKeeperHandle } from '../../oracle/zookeeper-server.ts';
import { SseStream } from '../../http/sse-reader.ts';
import { GATEWAY_KEY, wipe } from './gateway-test-node.ts';
import { fetchJson } from '../../support/fetch-json.ts';

const call = (base: string, method: string, path: string, body?: string | object, headers: Record<string, string> = {}) =>
  fetchJson(method, base + path, { body, headers });

describe('a session with several kinds of watch on one path, taken over by another gateway', () => {
  const streams: SseStream[] = [];
  let zk: ZooKeeperHandle;
  let first: RunningGateway | undefined;
  let second: RunningGateway | undefined;
  /** A gateway of its own for the change made while no gateway holds the session. */
  let bystander: RunningGateway | undefined;
  const start = () => startGateway({ host: '127.0.0.1', port: 0, backend: `zookeeper://127.0.0.1:${zk.port}`, gatewayKey: GATEWAY_KEY });

  beforeAll(async () => {
    zk = await startZooKeeper();
    bystander = await start();
  });

  afterAll(async () => {
    for (const s of streams) s.abort();
    await first?.close();
    await second?.close();
    await bystander?.close();
    if (zk) await wipe(zk.port);
    await zk?.stop();
  });

  it('hears through the new gateway what each kind hears, once per change', async () => {
    first = await start();
    const opened = await call(first.url, 'POST', '/v1/sessions', { timeoutMs: 20_000 });
    expect(opened.status).toBe(201);
    const { id, token } = opened.body as { id: string; token: string };
    const as = { 'zk-session-id': id, 'zk-session-token': token };
    expect((await call(first.url, 'POST', '/v1/znodes/tk', '')).status).toBe(201);
    for (const mode of ['persistent_recursive', 'persistent']) {
      expect((await call(first.url, 'POST', `/v1/sessions/${id}/watches`, { path: '/tk', mode }, as)).status).toBe(201);
    }
    expect((await call(first.url, 'GET', '/v1/znodes/tk?watch=true', undefined, as)).status).toBe(200);
    const before = await SseStream.open(`${first.url}/v1/sessions/${id}/events`, { headers: { 'zk-session-token': token }, controller: new AbortController() });
    streams.push(before);
    expect((await call(first.url, 'POST', '/v1/znodes/tk/a', '')).status).toBe(201);
    await before.until(() => before.watchEvents().length >= 2, 10_000, 'the events of the first create');
    const lastId = before.events.filter((e) => e.event === 'watch').at(-1)!.id!;
    expect(before.watchEvents()).toEqual(['NodeCreated /tk/a', 'NodeChildrenChanged /tk']);
    await first.close();
    first = undefined;
    before.abort();

    // No gateway holds the session while these happen.
    expect((await call(bystander!.url, 'PUT', '/v1/znodes/tk', '1')).status).toBe(200);
    second = await start();
    const after = await SseStream.open(`${second.url}/v1/sessions/${id}/events`, { headers: { 'zk-session-token': token, 'last-event-id': lastId }, controller: new AbortController() });
    streams.push(after);
    expect(after.status).toBe(200);
    // A request of the session's own through the new gateway: answered once the takeover is done
    // (its watches re-registered), so the writes below come after it.
    expect((await call(second.url, 'GET', '/v1/znodes/tk', undefined, as)).status).toBe(200);
    expect((await call(second.url, 'POST', '/v1/znodes/tk/b', '')).status).toBe(201);
    expect((await call(second.url, 'PUT', '/v1/znodes/tk/b', 'x')).status).toBe(200);
    expect((await call(second.url, 'PUT', '/v1/znodes/tk', '2')).status).toBe(200);
    // The last change is heard by the persistent watch alone: every event before it is on the stream by then.
    expect((await call(second.url, 'POST', '/v1/znodes/tk/end', '')).status).toBe(201);
    await after.until(() => after.watchEvents().includes('NodeChildrenChanged /tk') && after.watchEvents().includes('NodeCreated /tk/end'), 10_000, 'the events after the takeover');
    // Persistent watches do not catch up at a takeover (ZooKeeper re-adds them without comparing
    // zxids): what changed while away is an `overflow` first (docs/operations.md), then every
    // change after it once, as each kind hears it.
    expect(after.events[0]?.event).toBe('overflow');
    expect(after.watchEvents()).toEqual([
      'NodeCreated /tk/b', 'NodeChildrenChanged /tk', 'NodeDataChanged /tk/b', 'NodeDataChanged /tk',
      'NodeCreated /tk/end', 'NodeChildrenChanged /tk',
    ]);
    await call(second.url, 'DELETE', `/v1/sessions/${id}`, undefined, { 'zk-session-token': token });
  });

});
