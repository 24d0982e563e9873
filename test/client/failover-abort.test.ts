/**
 * The caller's abort signal reaches an idle stream opened through the failover fetch, however long
 * it has been idle. The bug this guards against: the failover passed down the signal of a Request
 * it made itself, which undici links to the caller's signal only weakly; once that Request was
 * garbage-collected, aborting did nothing and an idle event stream stayed open.
 *
 * Collection is forced with V8's gc() (test/support/collect-garbage.ts).
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorralClient, CorralSession, Failover } from '../../src/client/index.ts';
import { WatchFeed } from '../../src/client/recipes/watch-feed.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { collectGarbage } from '../support/collect-garbage.ts';

/** Long enough that only a stream that ignores its abort reaches it. */
const ENDS_WITHIN_MS = 5000;

/** Resolves with how `promise` settled, or 'still open' after the bound. */
function settledWithin(promise: Promise<unknown>, ms: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still open'), ms)));
  const settled = promise.then(() => 'ended', (error: unknown) => `failed: ${(error as Error).name}`);
  return Promise.race([settled, bound]).finally(() => clearTimeout(timer));
}

/** A node that answers every request with an event stream that sends one comment and then idles. */
/** `open`: the streams the node holds open, by request path. */
let idle: { server: Server; url: string; open: Map<string, ServerResponse> };

beforeAll(async () => {
  const open = new Map<string, ServerResponse>();
  const server = createServer((req, res) => {
    open.set(req.url!, res);
    res.on('close', () => open.delete(req.url!));
    res.writeHead(200, { 'Content-Type': 'text/event-stream' }).write(': open\n\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  idle = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, open };
});

afterAll(async () => {
  idle.server.closeAllConnections();
  await new Promise<void>((resolve) => idle.server.close(() => resolve()));
});

/** Reads the first chunk, then answers the stream's end (the next read), wrapped: an async function would await it. */
async function idleAfterFirstChunk(response: Response): Promise<{ end: Promise<unknown> }> {
  const reader = response.body!.getReader();
  expect((await reader.read()).done).toBe(false);
  const end = reader.read();
  end.catch(() => undefined); // observed by settledWithin; not an unhandled rejection meanwhile
  return { end };
}

describe('Failover: aborting an idle stream', () => {
  /** How the caller hands its signal over: in init, or inside a Request (as openapi-fetch does). */
  const cases = [
    { given: 'a signal in init', open: (failover: Failover, url: string, signal: AbortSignal) => failover.fetch(url, { signal }) },
    { given: 'a Request (as openapi-fetch sends)', open: (failover: Failover, url: string, signal: AbortSignal) => failover.fetch(new Request(url, { signal })) },
  ] as const;

  it.each(cases)('ends a stream opened with $given once the caller aborts, after garbage collection', async ({ open }) => {
    const failover = new Failover({ urls: [idle.url], fetch: (input, init) => fetch(input, init) });
    const abort = new AbortController();
    const { end } = await idleAfterFirstChunk(await open(failover, `${idle.url}/v1/sessions/1/events`, abort.signal));
    await collectGarbage();
    abort.abort();
    expect(await settledWithin(end, ENDS_WITHIN_MS)).toBe('failed: AbortError');
  });

  it('closes the connection to the node when the caller aborts', async () => {
    const failover = new Failover({ urls: [idle.url], fetch: (input, init) => fetch(input, init) });
    const abort = new AbortController();
    const { end } = await idleAfterFirstChunk(await failover.fetch(`${idle.url}/v1/watch/connection`, { signal: abort.signal }));
    expect(idle.open.has('/v1/watch/connection')).toBe(true);
    await collectGarbage();
    abort.abort();
    await settledWithin(end, ENDS_WITHIN_MS);
    const deadline = Date.now() + ENDS_WITHIN_MS;
    while (idle.open.has('/v1/watch/connection') && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    expect(idle.open.has('/v1/watch/connection')).toBe(false);
  });
});

describe('WatchFeed.close and CorralSession streams on a live node', () => {
  let dir: string;
  let server: RunningServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'corral-abort-'));
    server = await startServer({ dataDir: dir, port: 0, host: '127.0.0.1' });
  });

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('WatchFeed.close() ends an idle watch stream after garbage collection', async () => {
    const client = new CorralClient({ baseUrl: server.url, retryForMs: 1000 });
    const events: string[] = [];
    const failures: unknown[] = [];
    const feed = new WatchFeed(client, '/', true, 0n, {
      onEvent: (event) => events.push(`${event.type} ${event.path}`), onResync: () => undefined, onFailure: (error) => failures.push(error),
    });
    feed.start();
    await client.create('/abort-feed', 'x');
    const deadline = Date.now() + ENDS_WITHIN_MS;
    while (events.length === 0 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    expect(events).toContain('NodeCreated /abort-feed');
    await collectGarbage();
    expect(await settledWithin(feed.close(), ENDS_WITHIN_MS)).toBe('ended');
    expect(failures).toEqual([]);
  });

  it('CorralSession.reconnect() drops an idle stream after garbage collection and opens it again', async () => {
    let streamsOpened = 0;
    const counting: typeof fetch = (input, init) => {
      if (String(input).endsWith('/events')) streamsOpened++;
      return fetch(input, init);
    };
    const client = new CorralClient({ baseUrl: server.url, retryForMs: 1000, fetch: counting });
    const session = await CorralSession.open(client, 10_000);
    try {
      await client.create('/abort-session', 'x');
      const fired: string[] = [];
      await session.request('/v1/znodes/abort-session?watch=true', {}, { path: '/abort-session', callback: (e) => fired.push(e.type) });
      expect(streamsOpened).toBe(1);
      await collectGarbage();
      session.reconnect();
      const deadline = Date.now() + ENDS_WITHIN_MS;
      while (streamsOpened < 2 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
      expect(streamsOpened).toBe(2);
      // The new stream delivers the watch set before the reconnect.
      await session.request('/v1/znodes/abort-session', { method: 'PUT', body: 'y' });
      expect(fired).toEqual(['NodeDataChanged']);
    } finally {
      expect(await settledWithin(session.close(), ENDS_WITHIN_MS)).toBe('ended');
    }
    expect(session.ended).toBe('closed');
  });
});
