/**
 * The admin listener (--admin-listen): /metrics and /v1/cluster there and 404 on the public
 * listener (however the path is spelled), the probes on both, nothing else on the admin one.
 * Plain HTTP without TLS; HTTPS with the node's certificate when TLS is on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server.ts';
import { makeTempDir, removeDir } from '../support/corral-process.ts';
import { h1Request } from './tls-client.ts';
import { makeTestPki, startTlsNode, tlsConfigOf, type TestPki, type TlsNode } from './tls-fixture.ts';

async function get(url: string): Promise<{ status: number; text: string; zxid: string | null }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, text: await res.text(), zxid: res.headers.get('zk-zxid') };
}

describe('the admin listener over plain HTTP', () => {
  let server: RunningServer;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = makeTempDir('corral-admin-');
    server = await startServer({ dataDir, host: '127.0.0.1', port: 0, adminListen: '127.0.0.1:0' });
  });

  afterAll(async () => {
    await server.close();
    removeDir(dataDir);
  });

  it('listens on an address of its own', () => {
    expect(server.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.adminUrl).not.toBe(server.url);
  });

  it('serves /metrics and /v1/cluster there', async () => {
    const metrics = await get(`${server.adminUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('# TYPE');
    const cluster = await get(`${server.adminUrl}/v1/cluster`);
    expect(cluster.status).toBe(200);
  });

  it.each(['/metrics', '/metrics/', '/v1/cluster', '/v1/cluster/', '/%6Detrics'])('answers %s with 404 UNIMPLEMENTED on the public listener', async (path) => {
    const reply = await get(`${server.url}${path}`);
    expect(reply.status).toBe(404);
    expect(JSON.parse(reply.text)).toMatchObject({ code: 'UNIMPLEMENTED' });
    expect(reply.zxid).toMatch(/^\d+$/);
  });

  it.each(['/healthz', '/readyz'])('answers %s on both listeners', async (path) => {
    await expect.poll(async () => (await get(`${server.url}${path}`)).status, { timeout: 5000 }).toBe(200);
    expect((await get(`${server.adminUrl}${path}`)).status).toBe(200);
  });

  it('serves no znodes, sessions or docs on the admin listener', async () => {
    for (const path of ['/v1/znodes', '/v1/watch/a', '/openapi.yaml']) expect((await get(`${server.adminUrl}${path}`)).status).toBe(404);
    expect((await get(`${server.url}/v1/znodes`)).status).toBe(200);
  });

  it('counts public requests in the metrics it serves', async () => {
    await get(`${server.url}/v1/children`);
    expect((await get(`${server.adminUrl}/metrics`)).text).toMatch(/route="[^"]*children/);
  });
});

describe('the admin listener with TLS on', () => {
  let pki: TestPki;
  let node: TlsNode;

  beforeAll(async () => {
    pki = makeTestPki();
    node = await startTlsNode({ ...tlsConfigOf(pki.pki), adminListen: '127.0.0.1:0' });
  });

  afterAll(async () => {
    await node.close();
    removeDir(pki.dir);
  });

  it('serves /metrics over HTTPS with the node\'s certificate, and 404 on the public listener', async () => {
    expect(node.server.adminUrl).toMatch(/^https:\/\//);
    const metrics = await h1Request(node.server.adminUrl!, pki.anonymous, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('# TYPE');
    expect((await h1Request(node.url, pki.anonymous, 'GET', '/metrics')).status).toBe(404);
  });
});
