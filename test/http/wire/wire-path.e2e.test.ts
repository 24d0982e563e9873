/**
 * The wire path (src/http/wire/) on a real server over raw sockets: what it answers itself,
 * and that a connection it hands to node:http keeps working from the very next byte.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../../src/server.ts';

interface Answer {
  status: number;
  head: string;
  body: string;
}

/** A raw connection that collects answers framed by Content-Length (or none, for HEAD and 204). */
class RawClient {
  readonly socket: Socket;
  private received = Buffer.alloc(0);
  private ended = false;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (chunk: Buffer) => (this.received = Buffer.concat([this.received, chunk])));
    this.socket.on('end', () => (this.ended = true));
    this.socket.on('close', () => (this.ended = true));
    this.socket.on('error', () => (this.ended = true));
  }

  send(text: string | Buffer): void {
    this.socket.write(text);
  }

  /** Waits (bounded) until `count` answers arrived; answers to HEAD must be flagged. */
  async answers(count: number, heads: ReadonlySet<number> = new Set()): Promise<Answer[]> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const parsed = this.split(count, heads);
      if (parsed) return parsed;
      if (this.ended || Date.now() > deadline) throw new Error(`only part of ${count} answers: ${this.received.toString('latin1')}`);
      await new Promise((resolve) => this.socket.once('data', resolve).once('close', resolve));
    }
  }

  async closed(): Promise<boolean> {
    const deadline = Date.now() + 10_000;
    while (!this.ended && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    return this.ended;
  }

  private split(count: number, heads: ReadonlySet<number>): Answer[] | undefined {
    const out: Answer[] = [];
    let at = 0;
    while (out.length < count) {
      const end = this.received.indexOf('\r\n\r\n', at);
      if (end === -1) return undefined;
      const head = this.received.toString('latin1', at, end);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
      const length = heads.has(out.length) || status === 204 ? 0 : Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (this.received.length < end + 4 + length) return undefined;
      out.push({ status, head, body: this.received.toString('utf8', end + 4, end + 4 + length) });
      at = end + 4 + length;
    }
    return out;
  }
}

let server: RunningServer;
let dir: string;
let port: number;
const clients: RawClient[] = [];
const client = () => {
  const c = new RawClient(port);
  clients.push(c);
  return c;
};
const request = (method: string, target: string, body = '', headers = '') =>
  `${method} ${target} HTTP/1.1\r\nhost: 127.0.0.1\r\n${headers}${body || method === 'PUT' || method === 'POST' ? `content-length: ${Buffer.byteLength(body)}\r\n` : ''}\r\n${body}`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'corral-wire-'));
  server = await startServer({ port: 0, dataDir: dir, maxDataBytes: 1024, reapIntervalMs: 3_600_000 });
  port = Number(new URL(server.url).port);
});

afterAll(async () => {
  for (const c of clients) c.socket.destroy();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the wire path', () => {
  it('answers pipelined requests in the order they were sent', async () => {
    const c = client();
    c.send(request('POST', '/v1/znodes/pipe', 'one') + request('PUT', '/v1/znodes/pipe', 'two') + request('GET', '/v1/znodes/pipe') +
      request('HEAD', '/v1/znodes/pipe') + request('DELETE', '/v1/znodes/pipe?version=1') + request('GET', '/v1/znodes/pipe'));
    const answers = await c.answers(6, new Set([3]));
    expect(answers.map((a) => a.status)).toEqual([201, 200, 200, 200, 204, 404]);
    expect(JSON.parse(answers[2]!.body)).toMatchObject({ path: '/pipe', data: 'two', stat: { version: 1 } });
    expect(answers[3]!.head).toMatch(/\r\netag: "1"/i);
    expect(answers[0]!.head).toMatch(/\r\nzk-zxid: \d+\r\n/);
    expect(answers[0]!.head).toMatch(/\r\nconnection: keep-alive\r\n/i);
  });

  it('takes a request that arrives a byte at a time', async () => {
    const c = client();
    const bytes = Buffer.from(request('POST', '/v1/znodes/drip', 'slow'));
    for (let i = 0; i < bytes.length; i++) c.send(bytes.subarray(i, i + 1));
    const [answer] = await c.answers(1);
    expect(answer!.status).toBe(201);
    expect(JSON.parse(answer!.body)).toMatchObject({ path: '/drip', stat: { dataLength: 4 } });
  });

  it('hands the connection to node:http at the first request it does not take, with the bytes read so far', async () => {
    const c = client();
    const chunked = 'PUT /v1/znodes/handed HTTP/1.1\r\nhost: 127.0.0.1\r\ntransfer-encoding: chunked\r\n\r\n3\r\nnew\r\n0\r\n\r\n';
    c.send(request('POST', '/v1/znodes/handed', 'old') + chunked);
    await c.answers(2);
    // (node:http runs pipelined requests concurrently, so the read waits for the write's answer.)
    c.send(request('GET', '/v1/znodes/handed'));
    const answers = await c.answers(3);
    expect(answers.map((a) => a.status)).toEqual([201, 200, 200]);
    expect(JSON.parse(answers[2]!.body)).toMatchObject({ data: 'new', stat: { version: 1 } });
  });

  it('leaves sessions and watch streams to the app on the same connection', async () => {
    const c = client();
    c.send(request('POST', '/v1/znodes/streamed', 'x'));
    expect((await c.answers(1))[0]!.status).toBe(201);
    c.send('GET /v1/watch/streamed HTTP/1.1\r\nhost: 127.0.0.1\r\naccept: text/event-stream\r\n\r\n');
    const deadline = Date.now() + 10_000;
    let text = '';
    while (!text.includes(': connected') && Date.now() < deadline) {
      await new Promise((resolve) => c.socket.once('data', resolve));
      text = (c as unknown as { received: Buffer }).received.toString('latin1');
    }
    expect(text).toMatch(/HTTP\/1\.1 200 OK[\s\S]*text\/event-stream[\s\S]*: connected/);
  });

  // llhttp refuses these at their first bytes; waiting for a head's end that never comes kept
  // a TLS client on the plain port (`curl https://`) waiting for the head timeout (60 s).
  it('refuses at once, as node:http does, a head that begins with no method or has a bare LF', async () => {
    const hello = Buffer.concat([Buffer.from('160301', 'hex'), Buffer.alloc(200, 1)]); // the start of a TLS ClientHello
    for (const bytes of [hello, Buffer.from('GET /v1/znodes/ HTTP/1.1\nhost: 127.0.0.1\n')]) {
      const c = client();
      c.send(bytes);
      // Within 10 s, far below the server's 60 s headersTimeout.
      expect((await c.answers(1))[0]!.status).toBe(400);
      expect(await c.closed()).toBe(true);
    }
  });

  it('answers a TLS client on the plain port with an error it can tell, not silence', async () => {
    const failed = await new Promise<string>((resolve) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
      const timer = setTimeout(() => { socket.destroy(); resolve('no answer within 10 s'); }, 10_000);
      socket.on('error', (error: NodeJS.ErrnoException) => { clearTimeout(timer); resolve(error.code ?? error.message); });
      socket.on('secureConnect', () => { clearTimeout(timer); socket.destroy(); resolve('handshake completed'); });
    });
    expect(failed).toBe('ERR_SSL_WRONG_VERSION_NUMBER');
  });

  it('answers HTTP/1.0 and malformed requests as node:http does', async () => {
    const old = client();
    old.send('GET /v1/znodes/ HTTP/1.0\r\n\r\n');
    expect((await old.answers(1))[0]!.head).toMatch(/^HTTP\/1\.1 200/);
    const bad = client();
    bad.send('GET /v1/znodes/ HTTP/1.1\r\nhost: x\r\nbad header\r\n\r\n');
    expect((await bad.answers(1))[0]!.status).toBe(400);
  });

  it('refuses a body over the limit with 413 and keeps the connection usable', async () => {
    const c = client();
    c.send(request('POST', '/v1/znodes/big', 'x'.repeat(2048)) + request('GET', '/v1/znodes/big'));
    const answers = await c.answers(2);
    expect(answers.map((a) => a.status)).toEqual([413, 404]);
  });

  it('closes the connection after answering a request that asked for it', async () => {
    const c = client();
    c.send(request('GET', '/v1/znodes/', '', 'connection: close\r\n'));
    const [answer] = await c.answers(1);
    expect(answer!.status).toBe(200);
    expect(answer!.head).toMatch(/\r\nconnection: close\r\n/i);
    expect(await c.closed()).toBe(true);
  });
});
