/**
 * A gateway in front of a real three-server ZooKeeper 3.8 ensemble on loopback: kill the server
 * it talks to (the ensemble keeps quorum) and it keeps serving — writes, reads, the session and
 * its ephemeral, the session's watch re-set on another server by setWatches2.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../../../src/backend/zookeeper/gateway-server.ts';
import { SseStream } from '../../http/sse-reader.ts';
import { waitFor } from '../../support/corral-process.ts';
import { GATEWAY_KEY } from './gateway-test-node.ts';
import { startEnsemble, type Ensemble } from './zookeeper-ensemble.ts';
import { fetchJson } from '../../support/fetch-json.ts';

const call = (base: string, method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
  fetchJson(method, base + path, { body, headers });

describe('a gateway over a three-server ensemble', () => {
  let ensemble: Ensemble;
  let gateway: RunningGateway;
  let stream: SseStream | undefined;

  beforeAll(async () => {
    ensemble = await startEnsemble();
    gateway = await startGateway({ host: '127.0.0.1', port: 0, backend: ensemble.url, gatewayKey: GATEWAY_KEY });
  }, 90_000);

  afterAll(async () => {
    stream?.abort();
    await gateway?.close();
    await ensemble?.stop();
  });

  it('keeps serving when the server it talks to dies', async () => {
    const opened = await call(gateway.url, 'POST', '/v1/sessions', JSON.stringify({ timeoutMs: 10_000 }), { 'content-type': 'application/json' });
    const { id, token } = opened.body as { id: string; token: string };
    const headers = { 'zk-session-id': id, 'zk-session-token': token };
    expect((await call(gateway.url, 'POST', '/v1/znodes/survivor?mode=ephemeral', '', headers)).status).toBe(201);
    expect((await call(gateway.url, 'POST', '/v1/znodes/watched', 'v0')).status).toBe(201);
    stream = await SseStream.open(`${gateway.url}/v1/sessions/${id}/events`, { headers: { 'zk-session-token': token }, controller: new AbortController() });
    expect((await call(gateway.url, 'GET', '/v1/znodes/watched?watch=true', undefined, headers)).status).toBe(200);
    const cluster = await call(gateway.url, 'GET', '/v1/cluster');
    const on = (cluster.body.members as Array<{ connected: boolean }>).findIndex((m) => m.connected);
    expect(on).toBeGreaterThanOrEqual(0);
    await ensemble.kill(on);
    // The ensemble keeps quorum with two; the gateway moves to another server by itself.
    await waitFor(async () => ((await call(gateway.url, 'PUT', '/v1/znodes/watched', 'v1')).status === 200 ? true : undefined), {
      timeoutMs: 30_000, what: 'a write through the gateway after the kill',
    });
    expect((await call(gateway.url, 'GET', '/v1/znodes/watched')).body.data).toBe('v1');
    expect((await call(gateway.url, 'GET', '/v1/znodes/survivor')).body.stat.ephemeralOwner).toBe(id);
    await stream.until(() => stream!.watchEvents().includes('NodeDataChanged /watched'), 30_000, 'the session\'s watch firing after the kill');
    expect((await call(gateway.url, 'GET', '/readyz')).status).toBe(200);
  }, 90_000);
});
