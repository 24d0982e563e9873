/** The client follows a cluster: connection errors and 503s move it to the next node, writes carry an id. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CorralClient, CorralError, unwrap } from '../../src/client/index.ts';
import { Failover } from '../../src/client/failover.ts';
import { startServer } from '../../src/server.ts';
import { freePort } from '../support/corral-process.ts';

/** A fake cluster: each node answers by a script, and every call is recorded. */
function fakeFetch(script: Record<string, () => Response>) {
  const calls: Array<{ url: string; headers: Headers }> = [];
  const impl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    calls.push({ url, headers: new Headers(init?.headers) });
    const node = Object.keys(script).find((base) => url.startsWith(base));
    if (!node) throw new TypeError('fetch failed');
    return script[node]!();
  }) as typeof fetch;
  return { impl, calls };
}

const ok = () => new Response('{"ok":true}', { status: 200, headers: { 'content-type': 'application/json' } });
const unavailable = () => new Response('{"code":"CONNECTIONLOSS"}', { status: 503, headers: { 'Retry-After': '1' } });

describe('Failover', () => {
  it('moves past a node that refuses connections and one that answers 503, and stays on the one that works', async () => {
    const { impl, calls } = fakeFetch({ 'http://b': unavailable, 'http://c': ok });
    const failover = new Failover({ urls: ['http://a', 'http://b', 'http://c'], fetch: impl });
    const response = await failover.fetch('http://a/v1/znodes/x');
    expect(response.status).toBe(200);
    expect(calls.map((c) => c.url)).toEqual(['http://a/v1/znodes/x', 'http://b/v1/znodes/x', 'http://c/v1/znodes/x']);
    await failover.fetch('http://a/v1/stat/x');
    expect(calls.at(-1)!.url).toBe('http://c/v1/stat/x');
    expect(failover.url).toBe('http://c');
  });

  it('gives up after a bounded number of rounds, answering the last 503 with its body', async () => {
    const { impl, calls } = fakeFetch({ 'http://a': unavailable, 'http://b': unavailable });
    const failover = new Failover({ urls: ['http://a', 'http://b'], fetch: impl, rounds: 2, pauseMs: 1, retryForMs: 0 });
    const response = await failover.fetch('http://a/v1/znodes/x', { method: 'PUT', body: 'v' });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ code: 'CONNECTIONLOSS' });
    expect(calls).toHaveLength(4);
  });

  it('keeps trying for retryForMs (an election), not a fixed few attempts, and then reaches the new leader', async () => {
    const start = Date.now();
    const electedAfterMs = 600;
    const { impl } = fakeFetch({ 'http://a': () => (Date.now() - start < electedAfterMs ? unavailable() : ok()) });
    const failover = new Failover({ urls: ['http://a'], fetch: impl, pauseMs: 20, retryForMs: 2000 });
    const response = await failover.fetch('http://a/v1/znodes/x');
    expect(response.status).toBe(200);
    expect(Date.now() - start).toBeGreaterThanOrEqual(electedAfterMs);
  });

  it('stops at retryForMs and throws CONNECTIONLOSS naming each node and why, when no node can be reached', async () => {
    const { impl } = fakeFetch({});
    const failover = new Failover({ urls: ['http://a', 'http://b'], fetch: impl, pauseMs: 10, retryForMs: 200 });
    const start = Date.now();
    const error = await failover.fetch('http://a/v1/znodes/x').catch((e: unknown) => e);
    expect(Date.now() - start).toBeGreaterThanOrEqual(200);
    expect(Date.now() - start).toBeLessThan(2000);
    expect(error).toBeInstanceOf(CorralError);
    expect(error).toMatchObject({ code: 'CONNECTIONLOSS', zkCode: -4 });
    expect((error as Error).message).toMatch(/http:\/\/a: fetch failed.*http:\/\/b: fetch failed/);
  });

  it('stops retrying when the caller aborts', async () => {
    const { impl, calls } = fakeFetch({ 'http://a': unavailable });
    const failover = new Failover({ urls: ['http://a'], fetch: impl, pauseMs: 50, retryForMs: 10_000 });
    const abort = new AbortController();
    setTimeout(() => abort.abort(new Error('caller gave up')), 100);
    await expect(failover.fetch('http://a/v1/znodes/x', { signal: abort.signal })).rejects.toThrow('caller gave up');
    expect(calls.length).toBeLessThan(10);
  });
});

describe('CorralClient on a cluster', () => {
  it('sends a retried write with the same Zk-Request-Id and a different one for the next write', async () => {
    let first = true;
    const { impl, calls } = fakeFetch({
      'http://a': () => (first ? ((first = false), unavailable()) : ok()),
      'http://b': ok,
    });
    const client = new CorralClient({ urls: ['http://a', 'http://b'], fetch: impl });
    await client.raw('/v1/znodes/w', { method: 'PUT', body: '1' });
    await client.raw('/v1/znodes/w', { method: 'PUT', body: '2' });
    const ids = calls.map((c) => c.headers.get('Zk-Request-Id'));
    expect(ids[0]).toBeTruthy();
    expect(ids[1]).toBe(ids[0]);
    expect(ids[2]).not.toBe(ids[0]);
    await client.raw('/v1/znodes/w');
    expect(calls.at(-1)!.headers.get('Zk-Request-Id')).toBeNull();
  });

  it('reaches a live node past a dead one, carrying the newest zxid it saw', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'corral-failover-'));
    const server = await startServer({ dataDir: dir, port: 0, host: '127.0.0.1' });
    try {
      const dead = `http://127.0.0.1:${await freePort()}`;
      const client = new CorralClient({ urls: [dead, server.url], retryForMs: 2000 });
      expect((await client.raw('/v1/znodes/f', { method: 'POST', body: 'x' })).status).toBe(201);
      expect(client.baseUrl).toBe(server.url);
      expect(client.lastZxid).toBeGreaterThan(0n);
      const read = unwrap(await client.api.GET('/v1/znodes/{path}', { params: { path: { path: 'f' } } }));
      expect(read).toMatchObject({ path: '/f', data: 'x' });
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
