/**
 * A gateway process SIGKILLed mid-stream (nothing flushed, no detach): its session, the session's
 * one-shot watches and its event stream continue through another gateway from the token and
 * Last-Event-ID, with no event lost and none repeated, over a real ZooKeeper 3.8.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../../../src/backend/zookeeper/gateway-server.ts';
import { startZooKeeper, type ZooKeeperHandle } from '../../oracle/zookeeper-server.ts';
import { SseStream } from '../../http/sse-reader.ts';
import { freePort, makeTempDir, ProcessPool, removeDir } from '../../support/corral-process.ts';
import { GATEWAY_KEY, wipe } from './gateway-test-node.ts';
import { fetchJson } from '../../support/fetch-json.ts';

const call = (base: string, method: string, path: string, body?: string | object, headers: Record<string, string> = {}) =>
  fetchJson(method, base + path, { body, headers });

describe('a gateway killed mid-stream', () => {
  const pool = new ProcessPool();
  const dir = makeTempDir('corral-gateway-kill-');
  const streams: SseStream[] = [];
  let zk: ZooKeeperHandle;
  let survivor: RunningGateway;

  beforeAll(async () => {
    zk = await startZooKeeper();
    survivor = await startGateway({ host: '127.0.0.1', port: 0, backend: `zookeeper://127.0.0.1:${zk.port}`, gatewayKey: GATEWAY_KEY });
  });

  afterAll(async () => {
    for (const s of streams) s.abort();
    await pool.killAll();
    await survivor?.close();
    if (zk) await wipe(zk.port);
    await zk?.stop();
    removeDir(dir);
  });

  it('leaves the session, its one-shot watches and its stream to another gateway, losing and repeating nothing', async () => {
    const doomed = pool.spawn(join(dir, 'data'), await freePort(), ['--backend', `zookeeper://127.0.0.1:${zk.port}`, '--gateway-key', GATEWAY_KEY]);
    await doomed.waitHealthy();
    const opened = await call(doomed.url, 'POST', '/v1/sessions', { timeoutMs: 20_000 });
    expect(opened.status).toBe(201);
    const { id, token } = opened.body as { id: string; token: string };
    const as = { 'zk-session-id': id, 'zk-session-token': token };
    await call(survivor.url, 'POST', '/v1/znodes/k', '');
    await call(survivor.url, 'POST', '/v1/znodes/k/data', 'v0');
    const first = await SseStream.open(`${doomed.url}/v1/sessions/${id}/events`, { headers: { 'zk-session-token': token }, controller: new AbortController() });
    streams.push(first);
    expect((await call(doomed.url, 'GET', '/v1/znodes/k/data?watch=true', undefined, as)).status).toBe(200);
    expect((await call(doomed.url, 'GET', '/v1/children/k?watch=true', undefined, as)).status).toBe(200);
    expect((await call(doomed.url, 'GET', '/v1/stat/k/later?watch=true', undefined, as)).status).toBe(404);
    await call(survivor.url, 'PUT', '/v1/znodes/k/data', 'v1');
    await first.until(() => first.watchEvents().length >= 1, 5000, 'the first event');
    const lastId = first.events.filter((e) => e.event === 'watch').at(-1)!.id!;
    await doomed.kill();
    first.abort();
    // While no gateway holds the session: two watches fire, a fired one must not fire again.
    await call(survivor.url, 'POST', '/v1/znodes/k/child', '');
    await call(survivor.url, 'POST', '/v1/znodes/k/later', '');
    await call(survivor.url, 'PUT', '/v1/znodes/k/data', 'v2');
    const second = await SseStream.open(`${survivor.url}/v1/sessions/${id}/events`, { headers: { 'zk-session-token': token, 'last-event-id': lastId }, controller: new AbortController() });
    streams.push(second);
    expect(second.status).toBe(200);
    // A watch set through the survivor last: every earlier event is on the stream before its one.
    expect((await call(survivor.url, 'GET', '/v1/stat/k/end?watch=true', undefined, as)).status).toBe(404);
    await call(survivor.url, 'POST', '/v1/znodes/k/end', '');
    await second.until(() => second.watchEvents().includes('NodeCreated /k/end'), 10_000, 'the event of the last watch');
    expect(second.watchEvents().sort()).toEqual(['NodeChildrenChanged /k', 'NodeCreated /k/end', 'NodeCreated /k/later']);
    expect(second.watchEvents().at(-1)).toBe('NodeCreated /k/end');
    expect(second.events.some((e) => e.event === 'overflow')).toBe(false);
    const ids = second.events.filter((e) => e.event === 'watch').map((e) => e.id!);
    expect(new Set([...ids, lastId]).size).toBe(ids.length + 1);
    await call(survivor.url, 'DELETE', `/v1/sessions/${id}`, undefined, { 'zk-session-token': token });
  });
});
