// Specification of how the session-less watch stream (GET /v1/watch/{path}) delivers live events
// over a real socket: many streams of one path each get every event once with the same ids; a
// stream whose client goes away is unsubscribed; a client that stops reading gets what fit in
// order, then `event: overflow`, then the end of the stream, and resumes with its Last-Event-ID
// losing and repeating nothing; streams end when the node closes. Every wait is bounded and
// afterEach aborts every stream and closes the server. The server is the harness's
// startStreamServer: an embedded node, or a gateway over ZooKeeper
// (test/backend/zookeeper/watch-stream-delivery.gateway.e2e.test.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { readSse, type SseEvent } from '../../src/client/sse.ts';
import { waitFor } from '../support/corral-process.ts';
import { harness, startStreamServer, type StreamServer } from '../support/test-node.ts';
import { SseStream } from './sse-reader.ts';

const WAIT_MS = 5000;

let server: StreamServer | undefined;
const controllers = new Set<AbortController>();

async function start(options: { outboxEventsMax?: number } = {}): Promise<StreamServer> {
  server = await startStreamServer(options);
  return server;
}

afterEach(async () => {
  for (const controller of controllers) controller.abort();
  controllers.clear();
  const running = server;
  server = undefined;
  await running?.close();
});

async function call(method: string, path: string, body?: string | object): Promise<{ status: number; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (typeof body === 'object') headers['content-type'] = 'application/json';
  const res = await fetch(`${server!.url}${path}`, {
    method, headers, body: typeof body === 'object' ? JSON.stringify(body) : body, signal: AbortSignal.timeout(20_000),
  });
  await res.arrayBuffer();
  expect(res.status, `${method} ${path}`).toBeLessThan(300);
  return { status: res.status, headers: res.headers };
}

function watchUrl(path: string, recursive: boolean): string {
  return `${server!.url}/v1/watch${path}?recursive=${recursive}`;
}

/** Opens a stream and waits (bounded) for `: connected`: it is subscribed then. */
async function watch(path: string, recursive = false, headers: Record<string, string> = {}): Promise<SseStream> {
  const controller = new AbortController();
  controllers.add(controller);
  const stream = await SseStream.open(watchUrl(path, recursive), { headers, controller });
  expect(stream.status).toBe(200);
  await stream.until(() => stream.comments.some((c) => c.text === 'connected'), WAIT_MS, '": connected"');
  return stream;
}

const watchIds = (stream: SseStream) => stream.events.filter((e) => e.event === 'watch').map((e) => `${e.id} ${e.data}`);

describe('GET /v1/watch/{path}: live delivery', () => {
  it('gives each of many streams of one path every event once, with the same ids, exact and recursive side by side', async () => {
    await start();
    await call('POST', '/v1/znodes/f');
    const exact = await Promise.all(Array.from({ length: 30 }, () => watch('/f')));
    const recursive = await Promise.all(Array.from({ length: 5 }, () => watch('/f', true)));
    for (let i = 0; i < 5; i++) await call('PUT', '/v1/znodes/f', String(i));
    await call('POST', '/v1/znodes/f/child');
    for (const s of exact) await s.until(() => s.watchEvents().length >= 6, WAIT_MS, 'six events');
    for (const s of recursive) await s.until(() => s.watchEvents().length >= 6, WAIT_MS, 'six events');
    expect(exact[0]!.watchEvents()).toEqual([...Array(5).fill('NodeDataChanged /f'), 'NodeChildrenChanged /f']);
    expect(recursive[0]!.watchEvents()).toEqual([...Array(5).fill('NodeDataChanged /f'), 'NodeCreated /f/child']);
    for (const s of exact) expect(watchIds(s)).toEqual(watchIds(exact[0]!));
    for (const s of recursive) expect(watchIds(s)).toEqual(watchIds(recursive[0]!));
    expect(watchIds(exact[0]!).slice(0, 5)).toEqual(watchIds(recursive[0]!).slice(0, 5));
  });

  it('unsubscribes a stream whose client went away; the others go on', async () => {
    const running = await start();
    const [gone, kept, below] = [await watch('/u'), await watch('/u'), await watch('/', true)];
    expect(running.subscribers).toBe(3);
    gone.abort();
    await waitFor(() => running.subscribers === 2, { timeoutMs: WAIT_MS, what: 'the stream unsubscribed' });
    await call('POST', '/v1/znodes/u');
    await kept.until(() => kept.watchEvents().length === 1, WAIT_MS, 'NodeCreated /u');
    await below.until(() => below.watchEvents().length === 1, WAIT_MS, 'NodeCreated /u');
    for (const s of [kept, below]) s.abort();
    await waitFor(() => running.subscribers === 0, { timeoutMs: WAIT_MS, what: 'every stream unsubscribed' });
  });

  it('ends every stream when the node closes', async () => {
    const running = await start();
    const streams = [await watch('/c'), await watch('/', true)];
    server = undefined;
    await running.close();
    for (const s of streams) await s.untilEnded(WAIT_MS);
    expect(running.subscribers).toBe(0);
  });

  // Each multi is ~1.5 MB of frames: a client that reads nothing backs the socket up within a few,
  // then more than outboxEventsMax (2) transactions wait for it. ZooKeeper takes no request over
  // jute.maxbuffer (1 MB), so on a gateway the same bytes come as twice as many multis of half
  // the size. A gateway's history serves a resume only while it holds the path's watch
  // (docs/operations.md): there a reading stream of /h keeps it, else the overflow of the only
  // stream would end the watch and the resume would get `reset`.
  it('sends a client that stopped reading what fit, in order, then overflow and the end; its Last-Event-ID resumes the rest', { timeout: 60_000 }, async () => {
    const [multis, creates] = harness === 'gateway' ? [24, 50] : [12, 100];
    const running = await start({ outboxEventsMax: 2 });
    await call('POST', '/v1/znodes/h');
    const keeper = harness === 'gateway' ? await watch('/h', true) : undefined;
    const others = keeper ? 1 : 0;
    const controller = new AbortController();
    controllers.add(controller);
    const held = await fetch(watchUrl('/h', true), { signal: controller.signal });
    expect(held.status).toBe(200);
    await waitFor(() => running.subscribers === others + 1, { timeoutMs: WAIT_MS, what: 'the held stream subscribed' });
    const name = 'n'.repeat(15_000);
    const expected: string[] = [];
    for (let m = 0; m < multis; m++) {
      const ops = Array.from({ length: creates }, (_, i) => ({ op: 'create', path: `/h/${m}-${i}-${name}` }));
      await call('POST', '/v1/multi', { ops });
      expected.push(...ops.map((o) => `NodeCreated ${o.path}`));
    }
    const events: SseEvent[] = [];
    for await (const e of readSse(held.body!)) events.push(e);
    const watches = events.filter((e) => e.event === 'watch');
    expect(events.at(-1)?.event, 'the last event').toBe('overflow');
    expect(events.filter((e) => e.event !== 'watch').length).toBe(1);
    expect(watches.length, 'some events fit before the overflow').toBeGreaterThan(0);
    expect(watches.length).toBeLessThan(expected.length);
    const lines = watches.map((e) => {
      const data = JSON.parse(e.data) as { type: string; path: string };
      return `${data.type} ${data.path}`;
    });
    expect(lines).toEqual(expected.slice(0, lines.length));
    await waitFor(() => running.subscribers === others, { timeoutMs: WAIT_MS, what: 'the overflowed stream unsubscribed' });

    const resumed = await watch('/h', true, { 'last-event-id': watches.at(-1)!.id! });
    await resumed.until(() => resumed.watchEvents().length >= expected.length - lines.length, 30_000, 'the rest');
    expect(resumed.watchEvents()).toEqual(expected.slice(lines.length));
    expect(resumed.events.every((e) => e.event === 'watch')).toBe(true);
    if (keeper) expect(keeper.watchEvents()).toEqual(expected);
  });
});
