// Specification of the session-less watch streams' fan-out at scale (src/node/change-feed.ts,
// src/http/watch-stream.ts, src/http/sse-sink.ts): the writer's answer is written before any
// stream's event of that write (the fan-out runs after the apply loop, in slices), and many
// streams under concurrent writes each get every event once, in zxid order, with the same ids.
// Real server on 127.0.0.1 (the harness's startStreamServer: an embedded node, or a gateway over
// ZooKeeper in test/backend/zookeeper/watch-stream-fanout.gateway.e2e.test.ts), real sockets;
// every wait is bounded and afterEach aborts every stream and closes the server.
import { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { harness, startStreamServer, type StreamServer } from '../support/test-node.ts';
import { SseStream } from './sse-reader.ts';

const WAIT_MS = 20_000;

let server: StreamServer | undefined;
const controllers = new Set<AbortController>();

afterEach(async () => {
  for (const controller of controllers) controller.abort();
  controllers.clear();
  const running = server;
  server = undefined;
  await running?.close();
});

async function start(): Promise<StreamServer> {
  server = await startStreamServer();
  return server;
}

async function call(method: string, path: string, body = ''): Promise<{ status: number; json: { stat?: { mzxid: string } } }> {
  const res = await fetch(`${server!.url}${path}`, { method, body, signal: AbortSignal.timeout(WAIT_MS) });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as { stat?: { mzxid: string } }) : {} };
}

async function watch(path: string): Promise<SseStream> {
  const controller = new AbortController();
  controllers.add(controller);
  const stream = await SseStream.open(`${server!.url}/v1/watch${path}?recursive=false`, { controller });
  expect(stream.status).toBe(200);
  await stream.until(() => stream.comments.some((c) => c.text === 'connected'), WAIT_MS, '": connected"');
  return stream;
}

/** Opens `count` streams, a few dozen at a time. */
async function watchMany(path: string, count: number): Promise<SseStream[]> {
  const streams: SseStream[] = [];
  for (let i = 0; i < count; i += 50) streams.push(...await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => watch(path))));
  return streams;
}

const watchIds = (stream: SseStream) => stream.events.filter((e) => e.event === 'watch').map((e) => e.id ?? '');
const zxidOf = (id: string) => BigInt(id.split('-')[0]!);

describe('GET /v1/watch/{path}: fan-out to many streams', () => {
  it('writes the writer\'s answer to its socket before any stream\'s event of that write', async () => {
    await start();
    expect((await call('POST', '/v1/znodes/first')).status).toBe(201);
    const streams = await watchMany('/first', 60);
    const writes: string[] = [];
    const original = Socket.prototype.write;
    Socket.prototype.write = function (this: Socket, chunk: unknown, ...rest: unknown[]) {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      if (text.includes('event: watch')) writes.push('event');
      else if (text.startsWith('HTTP/1.1 200')) writes.push('answer');
      return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof original;
    try {
      for (let round = 1; round <= 3; round++) {
        writes.length = 0;
        expect((await call('PUT', '/v1/znodes/first', String(round))).status).toBe(200);
        for (const s of streams) await s.until(() => watchIds(s).length >= round, WAIT_MS, `event ${round}`);
        expect(writes[0], `round ${round}: ${writes.slice(0, 3).join(',')}…`).toBe('answer');
        expect(writes.filter((w) => w === 'event')).toHaveLength(streams.length);
      }
    } finally {
      Socket.prototype.write = original;
    }
  });

  it('gives each of 300 streams every event of 60 concurrent writes once, in zxid order, with the same ids', async () => {
    await start();
    expect((await call('POST', '/v1/znodes/many')).status).toBe(201);
    const streams = await watchMany('/many', 300);
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => call('PUT', '/v1/znodes/many', String(i))));
    for (const a of answers) expect(a.status).toBe(200);
    const written = answers.map((a) => BigInt(a.json.stat!.mzxid)).sort((a, b) => (a < b ? -1 : 1));
    for (const s of streams) await s.until(() => watchIds(s).length >= 60, WAIT_MS, 'sixty events');
    const first = watchIds(streams[0]!);
    if (harness === 'gateway') {
      // A gateway dates each burst of notifications with a read right after it: the i-th event's
      // zxid is at or after the i-th write's, and the writes of one burst share a zxid, k counting
      // them (docs/operations.md, "event zxids").
      expect(new Set(first).size, 'no id twice').toBe(60);
      first.forEach((id, i) => {
        expect(zxidOf(id) >= written[i]!, `event ${id} dates write ${written[i]}`).toBe(true);
        if (i > 0) expect(zxidOf(id) >= zxidOf(first[i - 1]!), `${first[i - 1]} then ${id}`).toBe(true);
        expect(zxidOf(id) <= written.at(-1)!, `${id} is no later than the last write (there is no other)`).toBe(true);
      });
    } else {
      expect(first.map(zxidOf)).toEqual(written);
      expect(first.every((id) => id.endsWith('-0'))).toBe(true);
    }
    for (const s of streams) expect(watchIds(s)).toEqual(first);
  });
});
