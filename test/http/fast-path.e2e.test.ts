/**
 * The direct path for plain znode calls (src/http/fast-path.ts) must answer exactly what the Hono
 * app answers. Two real servers get the same seeded sequence of requests over real sockets: one
 * takes them on the direct path, the other gets an Origin header of its own (allowed, but only
 * the app handles Origin), so every request goes through the app. Answers must agree in status,
 * headers and body (times and zxids aside, which depend on the clock and the node's history).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server.ts';

interface Answer {
  status: number;
  headers: Record<string, string | null>;
  body: string;
}

const COMPARED_HEADERS = ['content-type', 'etag', 'location', 'retry-after', 'allow'];

async function ask(base: string, method: string, target: string, body?: string, headers: Record<string, string> = {}): Promise<Answer & { zxid: string | null }> {
  const res = await fetch(`${base}${target}`, { method, body, headers, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  return {
    status: res.status,
    headers: Object.fromEntries(COMPARED_HEADERS.map((h) => [h, res.headers.get(h)])),
    // ctime/mtime come from each node's clock.
    body: text.replace(/"(ctime|mtime)":\d+/g, '"$1":0'),
    zxid: res.headers.get('zk-zxid'),
  };
}

const NAMES = ['a', 'b', 'a/x', 'a/y', 'b/z', 'a/x/deep', 'zookeeper', 'zookeeper/quota', 'caf%C3%A9', 'a%2Fx', '', 'bad//path', 'a/', 'a/./x'];
const request = fc.record({
  method: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'GET_STAT', 'GET_CHILDREN', 'PATCH'),
  name: fc.constantFrom(...NAMES),
  query: fc.constantFrom('', '?version=0', '?version=1', '?version=-1', '?version=x', '?mode=persistent_sequential',
    '?mode=container', '?mode=persistent_with_ttl&ttl=60000', '?mode=ephemeral', '?mode=nope', '?encoding=base64', '?ttl=5'),
  body: fc.constantFrom(undefined, '', 'hello', '\u00ff\u0000binary'),
  accept: fc.constantFrom(undefined, 'application/octet-stream'),
  ifMatch: fc.constantFrom(undefined, '"0"', '*', '"zz"'),
});

let servers: RunningServer[] = [];
let dirs: string[] = [];

beforeAll(async () => {
  dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'corral-fast-path-')));
  servers = await Promise.all(dirs.map((dataDir) => startServer({ port: 0, dataDir, reapIntervalMs: 3_600_000 })));
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('the direct path for plain znode calls', () => {
  it('answers every request as the Hono app does', async () => {
    const [direct, app] = servers as [RunningServer, RunningServer];
    await fc.assert(fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 25 }), async (requests) => {
      for (const r of requests) {
        const prefix = r.method === 'GET_STAT' ? '/v1/stat/' : r.method === 'GET_CHILDREN' ? '/v1/children/' : '/v1/znodes/';
        const method = r.method.startsWith('GET_') ? 'GET' : r.method;
        const headers: Record<string, string> = {};
        if (r.accept) headers.accept = r.accept;
        if (r.ifMatch) headers['if-match'] = r.ifMatch;
        const body = method === 'GET' || method === 'HEAD' ? undefined : r.body;
        const target = `${prefix}${r.name}${r.query}`;
        const fast = await ask(direct.url, method, target, body, headers);
        const slow = await ask(app.url, method, target, body, { ...headers, origin: app.url });
        expect({ target, method, ...fast, zxid: undefined }).toEqual({ target, method, ...slow, zxid: undefined });
        expect(fast.zxid).toMatch(/^\d+$/);
      }
    }), { numRuns: 40, seed: 20261201 });
  }, 120_000);

  it('leaves requests with a session, a watch or a wait to the app', async () => {
    const [direct] = servers as [RunningServer];
    const session = await (await fetch(`${direct.url}/v1/sessions`, { method: 'POST', body: '{"timeoutMs":10000}' })).json() as { id: string; token: string };
    const auth = { 'zk-session-id': session.id, 'zk-session-token': session.token };
    const created = await fetch(`${direct.url}/v1/znodes/eph?mode=ephemeral`, { method: 'POST', headers: auth });
    expect(created.status).toBe(201);
    const watched = await fetch(`${direct.url}/v1/znodes/eph?watch=true`, { headers: auth });
    expect(watched.status).toBe(200);
    // The watch was set: the change fires it, and the session's next answer names the queued event.
    expect((await fetch(`${direct.url}/v1/znodes/eph`, { method: 'PUT', body: 'v2' })).status).toBe(200);
    const after = await fetch(`${direct.url}/v1/znodes/eph`, { headers: auth });
    expect(after.headers.get('zk-last-event-id')).toMatch(/^\d+-\d+$/);
    const waited = await fetch(`${direct.url}/v1/znodes/eph`, { headers: { 'zk-min-zxid': '999999999999' } });
    expect(waited.status).toBe(503);
    expect((await waited.json() as { code: string }).code).toBe('OPERATIONTIMEOUT');
    await fetch(`${direct.url}/v1/sessions/${session.id}`, { method: 'DELETE', headers: auth });
  }, 30_000);

  it('counts its requests in the metrics under the routes the app names', async () => {
    const [direct] = servers as [RunningServer];
    await fetch(`${direct.url}/v1/znodes/counted`, { method: 'POST' });
    await fetch(`${direct.url}/v1/znodes/counted`);
    const metrics = await (await fetch(`${direct.url}/metrics`)).text();
    expect(metrics).toMatch(/corral_http_requests_total\{method="POST",route="\/v1\/znodes\/\*",status="201"\} [1-9]/);
    expect(metrics).toMatch(/corral_http_requests_total\{method="GET",route="\/v1\/znodes\/\*",status="200"\} [1-9]/);
  });
});
