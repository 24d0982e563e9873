import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorralClient, CorralSession, unwrap, type WatchEvent } from '../../src/client/index.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { waitFor } from '../support/corral-process.ts';

let server: RunningServer;
let dir: string;
let client: CorralClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'corral-client-'));
  server = await startServer({ dataDir: dir, port: 0, host: '127.0.0.1', tickTimeMs: 200 });
  client = new CorralClient({ baseUrl: server.url });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('CorralClient', () => {
  it('calls the API with types generated from openapi.yaml and tracks the newest zxid', async () => {
    await client.raw('/v1/znodes/typed', { method: 'POST', body: 'hello' });
    const seen = client.lastZxid;
    const data = unwrap(await client.api.GET('/v1/znodes/{path}', { params: { path: { path: 'typed' } } }));
    expect(data).toMatchObject({ path: '/typed', data: 'hello', encoding: 'utf8' });
    expect(client.lastZxid).toBeGreaterThanOrEqual(seen);
    expect(seen).toBeGreaterThan(0n);
  });

  it('stores a string body exactly as given (no JSON quotes), through create and through api.POST', async () => {
    expect(await client.create('/text', 'hello')).toBe('/text');
    unwrap(await client.api.POST('/v1/znodes/{path}', { params: { path: { path: 'text-api' } }, body: 'hello' }));
    for (const path of ['/text', '/text-api']) {
      const raw = await fetch(`${server.url}/v1/znodes${path}`, { headers: { accept: 'application/octet-stream' } });
      expect(await raw.text()).toBe('hello');
      expect(await client.getData(path, { as: 'string' })).toEqual({ data: 'hello', version: 0 });
    }
  });

  it('stores bytes exactly (also bytes that are not UTF-8) and reads them back as bytes', async () => {
    const bytes = new Uint8Array([0, 255, 1, 128, 0xc3, 0x28]);
    await client.create('/bytes', bytes);
    expect((await client.getData('/bytes')).data).toEqual(bytes);
    const stat = await client.setData('/bytes', new Uint8Array([7]), { version: 0 });
    expect(stat.version).toBe(1);
    expect(await client.getData('/bytes')).toEqual({ data: new Uint8Array([7]), version: 1 });
    await client.delete('/bytes', { version: 1 });
    await expect(client.getData('/bytes')).rejects.toMatchObject({ status: 404, code: 'NONODE' });
  });

  it('answers the created name of a sequential node and refuses a stale version with BADVERSION', async () => {
    await client.create('/seq', '');
    expect(await client.create('/seq/item-', 'a', { mode: 'persistent_sequential' })).toMatch(/^\/seq\/item-\d{10}$/);
    await expect(client.setData('/seq', 'x', { version: 5 })).rejects.toMatchObject({ status: 409, code: 'BADVERSION' });
  });

  it('turns error bodies into CorralError with the ZooKeeper code', async () => {
    const result = await client.api.GET('/v1/znodes/{path}', { params: { path: { path: 'missing' } } });
    expect(() => unwrap(result)).toThrow(/NONODE: \/missing does not exist/);
  });
});

describe('CorralSession', () => {
  it('fires a one-shot watch callback once, before the read that reflects the change returns', async () => {
    const session = await CorralSession.open(client, 4000);
    try {
      await session.request('/v1/znodes/watched', { method: 'POST', body: 'v0' });
      const fired: WatchEvent[] = [];
      await session.request('/v1/znodes/watched?watch=true', {}, { path: '/watched', callback: (e) => fired.push(e) });
      await session.request('/v1/znodes/watched', { method: 'PUT', body: 'v1' });
      // The write's answer carried Zk-Last-Event-Id: the stream had delivered the event by then.
      expect(fired.map((e) => e.type)).toEqual(['NodeDataChanged']);
      await session.request('/v1/znodes/watched', { method: 'PUT', body: 'v2' });
      expect(fired).toHaveLength(1);
    } finally {
      await session.close();
    }
  });

  it('resumes its stream after a drop with Last-Event-ID: every event once, in order', async () => {
    const session = await CorralSession.open(client, 4000);
    const seen: string[] = [];
    session.onEvent((e) => seen.push(`${e.type} ${e.path}`));
    try {
      await session.request('/v1/sessions/' + session.id + '/watches', {
        method: 'POST', body: JSON.stringify({ path: '/resume', mode: 'persistent_recursive' }),
      });
      await session.request('/v1/znodes/resume', { method: 'POST' });
      session.reconnect();
      for (let i = 0; i < 5; i++) await client.raw(`/v1/znodes/resume/n${i}`, { method: 'POST' });
      await waitFor(() => seen.length >= 6, { timeoutMs: 10_000, what: 'six events' });
      expect(seen).toEqual(['NodeCreated /resume', ...[0, 1, 2, 3, 4].map((i) => `NodeCreated /resume/n${i}`)]);
    } finally {
      await session.close();
    }
    expect(session.ended).toBe('closed');
  });
});
