/**
 * The wire path keeps node:http's limits: its deadlines (read from the server: headersTimeout,
 * requestTimeout, keepAliveTimeout) answered with 408 and close as node:http answers them, its
 * connection limit, a call's body limit before the body is sent (413), and a client going away
 * is no error of the server's.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RawConnection, startWireServer, type WireServer } from './wire-fixture.ts';

const MAX_DATA_BYTES = 256 * 1024;
let wire: WireServer;
const connections: RawConnection[] = [];
const open = () => {
  const c = new RawConnection(wire.port);
  connections.push(c);
  return c;
};
const head = (method: string, path: string, extra = '') => `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${extra}\r\n`;

beforeAll(async () => {
  wire = await startWireServer({ maxDataBytes: MAX_DATA_BYTES });
});

afterEach(() => {
  for (const c of connections.splice(0)) c.socket.destroy();
  vi.restoreAllMocks();
  wire.server.headersTimeout = 60_000;
  wire.server.requestTimeout = 300_000;
  wire.server.keepAliveTimeout = 5_000;
  wire.server.maxConnections = Infinity;
});

afterAll(async () => {
  await wire.close();
});

describe('the wire path\'s deadlines', () => {
  it('answers 408 and closes when a head stalls past the server\'s headersTimeout', async () => {
    wire.server.headersTimeout = 300;
    const c = open();
    c.socket.write('GET /v1/znodes/ HTTP/1.1\r\nhost: 127.0.0.1\r\n');
    const tookMs = await c.whenClosed();
    expect(c.text).toBe('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
    expect(tookMs).toBeGreaterThanOrEqual(200);
  });

  it('answers 408 to a connection that sends nothing within headersTimeout, as node:http does', async () => {
    wire.server.headersTimeout = 300;
    const c = open();
    await c.whenClosed();
    expect(c.statuses()).toEqual([408]);
  });

  it('answers 408 when a body stalls past the server\'s requestTimeout, its head long in', async () => {
    wire.server.requestTimeout = 400;
    wire.server.headersTimeout = 400;
    const c = open();
    c.socket.write(`${head('POST', '/v1/znodes/stalled', 'content-length: 10\r\n')}abc`);
    await c.whenClosed();
    expect(c.statuses()).toEqual([408]);
    const read = open();
    read.socket.write(head('GET', '/v1/znodes/stalled'));
    await read.until(() => read.statuses().length === 1, 'answered');
    expect(read.statuses()).toEqual([404]);
  });

  it('times a later request on a kept-alive connection from its own first byte', async () => {
    wire.server.headersTimeout = 300;
    const c = open();
    c.socket.write(head('GET', '/v1/znodes/'));
    await c.until(() => c.statuses().length === 1, 'answered');
    c.socket.write('GET /v1/znodes/ HTTP/1.1\r\n');
    await c.whenClosed();
    expect(c.statuses()).toEqual([200, 408]);
  });

  it('lets a clientError listener answer a timeout instead, as node:http does', async () => {
    wire.server.headersTimeout = 200;
    const seen: string[] = [];
    const listener = (error: NodeJS.ErrnoException, socket: import('node:net').Socket) => {
      seen.push(error.code ?? '');
      socket.end('HTTP/1.1 408 Request Timeout\r\nX-Told: yes\r\nConnection: close\r\n\r\n');
    };
    wire.server.on('clientError', listener);
    try {
      const c = open();
      c.socket.write('GET / HTTP/1.1\r\n');
      await c.whenClosed();
      expect(seen).toEqual(['ERR_HTTP_REQUEST_TIMEOUT']);
      expect(c.text).toMatch(/X-Told: yes/);
    } finally {
      wire.server.off('clientError', listener);
    }
  });

  it('closes a connection idle past the server\'s keepAliveTimeout without an answer', async () => {
    wire.server.keepAliveTimeout = 100;
    const c = open();
    c.socket.write(head('GET', '/v1/znodes/'));
    await c.until(() => c.statuses().length === 1, 'answered');
    expect(c.text).toMatch(/\r\nKeep-Alive: timeout=0\r\n/);
    await c.whenClosed();
    expect(c.statuses()).toEqual([200]);
  });
});

describe('the wire path\'s connection limit', () => {
  it('refuses connections past the server\'s maxConnections', async () => {
    wire.server.maxConnections = 1;
    const first = open();
    first.socket.write(head('GET', '/v1/znodes/'));
    await first.until(() => first.statuses().length === 1, 'answered');
    const second = open();
    second.socket.write(head('GET', '/v1/znodes/'));
    await second.whenClosed();
    expect(second.statuses()).toEqual([]);
    expect(first.closed).toBe(false);
  });
});

describe('the wire path\'s body limit', () => {
  it('refuses a body over the call\'s limit with 413 before any of it is sent, and skips it as it comes', async () => {
    const c = open();
    const length = MAX_DATA_BYTES + 1;
    c.socket.write(head('POST', '/v1/znodes/huge', `content-length: ${length}\r\n`));
    await c.until(() => c.statuses().length === 1, 'answered');
    expect(c.statuses()).toEqual([413]);
    expect(c.text).toMatch(/"code":"BADARGUMENTS"/);
    // The connection stays in step: the body is dropped as it arrives, and the next request is answered.
    c.socket.write(Buffer.alloc(length, 'x'));
    c.socket.write(head('GET', '/v1/znodes/huge'));
    await c.until(() => c.statuses().length === 2, 'answered twice');
    expect(c.statuses()).toEqual([413, 404]);
  });

  it('assembles a large body trickled in small writes', async () => {
    const c = open();
    const body = Buffer.alloc(MAX_DATA_BYTES);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7 + (i >> 8)) & 0xff;
    const request = Buffer.concat([Buffer.from(head('POST', '/v1/znodes/trickled', `content-length: ${body.length}\r\ncontent-type: application/octet-stream\r\n`)), body]);
    for (let at = 0; at < request.length; at += 300) c.socket.write(request.subarray(at, at + 300));
    await c.until(() => c.statuses().length === 1, 'created');
    expect(c.statuses()).toEqual([201]);
    expect(JSON.parse(c.text.slice(c.text.indexOf('\r\n\r\n') + 4))).toMatchObject({ path: '/trickled', stat: { dataLength: body.length } });
    const stored = await fetch(`http://127.0.0.1:${wire.port}/v1/znodes/trickled`, { headers: { accept: 'application/octet-stream' } });
    expect(Buffer.from(await stored.arrayBuffer()).equals(body)).toBe(true);
  });
});

describe('a client going away on the wire path', () => {
  it('is no error when it closes mid-body: no error logged, not counted as a 500', async () => {
    const statuses: number[] = [];
    const record = wire.deps.metrics.recordRequest.bind(wire.deps.metrics);
    vi.spyOn(wire.deps.metrics, 'recordRequest').mockImplementation((method, route, status, seconds) => {
      statuses.push(status);
      record(method, route, status, seconds);
    });
    const before = wire.logs.length;
    const c = open();
    c.socket.write(`${head('PUT', '/v1/znodes/abandoned', 'content-length: 100\r\n')}0123456789`, () => c.socket.destroy());
    await c.until(() => statuses.length === 1, 'the request counted');
    expect(statuses).toEqual([400]);
    expect(wire.logs.slice(before).filter((l) => l.level >= 40)).toEqual([]);
  });

  it('is no error when it closes before its answer is written', async () => {
    const statuses: number[] = [];
    const record = wire.deps.metrics.recordRequest.bind(wire.deps.metrics);
    vi.spyOn(wire.deps.metrics, 'recordRequest').mockImplementation((method, route, status, seconds) => {
      statuses.push(status);
      record(method, route, status, seconds);
    });
    const before = wire.logs.length;
    const c = open();
    const body = 'y'.repeat(1000);
    c.socket.write(`${head('POST', '/v1/znodes/gone', `content-length: ${body.length}\r\n`)}${body}`, () => c.socket.destroy());
    await c.until(() => statuses.length === 1, 'the request counted');
    expect(statuses).toEqual([201]);
    expect(wire.logs.slice(before).filter((l) => l.level >= 40)).toEqual([]);
  });
});
