import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assertSpecCovers } from '../support/openapi.ts';
import { startTestNode, type TestNode } from '../support/test-node.ts';

let t: TestNode;
beforeEach(() => {
  t = startTestNode();
});
afterEach(async () => {
  await t.close();
});

describe('the HTTP surface', () => {
  it('serves exactly the routes openapi.yaml describes', () => {
    const routes = t.app.routes.filter((r) => r.method !== 'ALL').map((r) => [r.method, r.path] as const);
    expect(() => assertSpecCovers(routes)).not.toThrow();
  });

  it('carries Zk-Zxid on every response, errors and unknown routes included', async () => {
    await t.request('POST', '/v1/znodes/z', { body: '' });
    for (const [method, url] of [['GET', '/v1/znodes/z'], ['GET', '/v1/znodes/none'], ['GET', '/nowhere'], ['GET', '/healthz']]) {
      const res = await t.request(method!, url!);
      expect(res.headers.get('zk-zxid'), url).toMatch(/^\d+$/);
    }
  });

  it('answers unknown routes 404 and wrong methods 405 with Allow, in the error body', async () => {
    const unknown = await t.request('GET', '/v2/nothing');
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('UNIMPLEMENTED');
    const wrong = await t.request('PATCH', '/v1/znodes/a');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toContain('PUT');
  });
});

describe('Zk-Min-Zxid', () => {
  it('answers at once when the zxid is applied and 503 with Retry-After when it is not', async () => {
    const fast = startTestNode({ minZxidWaitMs: 50 });
    try {
      const created = await fast.request('POST', '/v1/znodes/a', { body: '' });
      const ok = await fast.request('GET', '/v1/znodes/a', { headers: { 'zk-min-zxid': created.body.stat.czxid } });
      expect(ok.status).toBe(200);
      const ahead = String(BigInt(created.body.stat.czxid) + 1000n);
      const late = await fast.request('GET', '/v1/znodes/a', { headers: { 'zk-min-zxid': ahead } });
      expect(late.status).toBe(503);
      expect(late.headers.get('retry-after')).toBe('1');
      expect(late.body.code).toBe('OPERATIONTIMEOUT');
      expect((await fast.request('GET', '/v1/znodes/a', { headers: { 'zk-min-zxid': 'x1' } })).status).toBe(400);
    } finally {
      await fast.close();
    }
  });
});

describe('operations endpoints', () => {
  it('answers /healthz and /readyz', async () => {
    expect((await t.request('GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await t.request('GET', '/readyz')).body).toEqual({ status: 'ready' });
  });

  it('describes a cluster of one in /v1/cluster', async () => {
    const res = await t.request('GET', '/v1/cluster');
    expect(res.body).toMatchObject({ self: 1, role: 'leader', leader: 1, members: [{ id: 1, role: 'leader', lag: 0 }] });
    expect(res.body.commitZxid).toBe(res.headers.get('zk-zxid'));
  });

  it('exposes Prometheus metrics for requests, znodes, the log, fsync and checkpoints', async () => {
    await t.request('POST', '/v1/znodes/m', { body: '' });
    await t.node.checkpointer.checkpointNow();
    const text = (await t.request('GET', '/metrics')).body as string;
    expect(text).toMatch(/corral_http_requests_total\{method="POST",route="\/v1\/znodes\/\*",status="201"\} 1/);
    expect(text).toMatch(/corral_http_request_duration_seconds_bucket/);
    expect(text).toMatch(/^corral_znodes 5$/m);
    expect(text).toMatch(/^corral_log_entries 0$/m);
    expect(text).toMatch(/corral_log_fsync_duration_seconds_count [1-9]/);
    expect(text).toMatch(/corral_checkpoint_duration_seconds_count 1/);
  });

  it('serves the spec and a readable reference page', async () => {
    const spec = await t.request('GET', '/openapi.yaml');
    expect(spec.body).toContain('openapi: 3.1');
    expect(spec.body).toContain('operationId: getData');
    const docs = await t.request('GET', '/docs');
    expect(docs.headers.get('content-type')).toContain('text/html');
    // The page is Swagger UI reading this node's spec (test/docs/ checks it in a browser).
    expect(docs.body).toContain('<div id="swagger-ui">');
    const start = await t.request('GET', '/docs/assets/corral-docs.js');
    expect(start.body).toContain("url: '/openapi.yaml'");
  });
});

describe('cross-origin requests', () => {
  it('refuses a browser request from an origin that is not allowed, before it acts (403 NOAUTH)', async () => {
    const res = await t.request('POST', '/v1/znodes/victim', { body: 'x', headers: { origin: 'http://evil.example', 'content-type': 'text/plain' } });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('NOAUTH');
    expect((await t.request('GET', '/v1/znodes/victim')).status).toBe(404);
  });

  it('lets requests without an Origin, from the node itself, and from allowed origins through', async () => {
    const open = startTestNode({ corsOrigins: ['http://app.example'] });
    try {
      expect((await open.request('POST', '/v1/znodes/a', { body: '', headers: { origin: 'http://app.example' } })).status).toBe(201);
      expect((await open.request('GET', '/v1/znodes/a', { headers: { origin: 'http://localhost', host: 'localhost' } })).status).toBe(200);
      expect((await open.request('POST', '/v1/znodes/b', { body: '' })).status).toBe(201);
    } finally {
      await open.close();
    }
  });
});
