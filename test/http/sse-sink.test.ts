// sseResponse and serveStreamsDirectly (src/http/sse-sink.ts): under a Node server the wrapper
// writes the head exactly as the app and its middleware left it (headers added after the handler
// returned included) and starts the stream once on the Node response; without the wrapper (or
// through app.request) the same stream is carried by the ReadableStream body. A HEAD gets the head
// and no body. Real node:http server on 127.0.0.1; every wait is bounded and the server closed.
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { serveStreamsDirectly, sseFrame, sseResponse, type SseSink } from '../../src/http/sse-sink.ts';

const WAIT_MS = 5_000;

interface Served {
  readonly app: Hono;
  readonly starts: SseSink[];
}

/** An app whose /events answers a stream of two frames then ends it, behind a middleware that sets a header after the handler. */
function streamingApp(): Served {
  const app = new Hono();
  const starts: SseSink[] = [];
  app.use('*', async (c, next) => {
    await next();
    c.header('X-After-Handler', 'kept');
  });
  app.on(['GET', 'HEAD'], '/events', (c) => sseResponse(c, (sink) => {
    starts.push(sink);
    sink.write(sseFrame('one', '1', '1-0'));
    sink.write(sseFrame('two', '2'));
    sink.end();
  }));
  return { app, starts };
}

let server: Server | undefined;

afterEach(async () => {
  const closing = server;
  server = undefined;
  if (closing) {
    closing.closeAllConnections();
    await new Promise<void>((resolve) => closing.close(() => resolve()));
  }
});

async function serve(fetch: Parameters<typeof getRequestListener>[0]): Promise<string> {
  server = createServer(getRequestListener(fetch));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Raw {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One request, read to its end, bounded in time. */
function get(url: string, method = 'GET'): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, timeout: WAIT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no whole answer within ${WAIT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

const FRAMES = 'event: one\ndata: 1\nid: 1-0\n\nevent: two\ndata: 2\n\n';

describe('serveStreamsDirectly', () => {
  it('writes the head as the middleware left it, then the frames, starting the stream once', async () => {
    const { app, starts } = streamingApp();
    const url = await serve(serveStreamsDirectly(app.fetch));
    const answer = await get(`${url}/events`);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('text/event-stream');
    expect(answer.headers['x-after-handler']).toBe('kept');
    expect(answer.headers['transfer-encoding']).toBe('chunked');
    expect(answer.body).toBe(FRAMES);
    expect(starts).toHaveLength(1);
    // Written to the Node response itself, not through the body's ReadableStream.
    expect(starts[0]!.constructor.name).toBe('NodeSink');
  });

  it('answers a HEAD with the head and no body', async () => {
    const { app } = streamingApp();
    const url = await serve(serveStreamsDirectly(app.fetch));
    const answer = await get(`${url}/events`, 'HEAD');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('text/event-stream');
    expect(answer.body).toBe('');
  });

  it('leaves every other answer to the server as it is', async () => {
    const { app } = streamingApp();
    app.get('/plain', (c) => c.text('plain'));
    const url = await serve(serveStreamsDirectly(app.fetch));
    const answer = await get(`${url}/plain`);
    expect(answer.body).toBe('plain');
    expect(answer.headers['x-after-handler']).toBe('kept');
  });
});

describe('sseResponse without the wrapper', () => {
  it('carries the same frames in the body under a Node server', async () => {
    const { app, starts } = streamingApp();
    const url = await serve(app.fetch);
    const answer = await get(`${url}/events`);
    expect(answer.headers['x-after-handler']).toBe('kept');
    expect(answer.body).toBe(FRAMES);
    expect(starts).toHaveLength(1);
  });

  it('carries them through app.request', async () => {
    const { app } = streamingApp();
    const answer = await app.request('/events');
    expect(answer.headers.get('X-After-Handler')).toBe('kept');
    expect(await answer.text()).toBe(FRAMES);
  });
});
