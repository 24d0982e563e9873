/**
 * The load generator's HTTP: HTTP/1.1 keep-alive over plain TCP sockets, one socket per request
 * in flight (no pipelining), requests written as one buffer and answers parsed by Content-Length
 * or chunked encoding. It is hand-written rather than node:http or undici because the client
 * shares two cores with the servers it measures: against a trivial server it costs ~35 µs of CPU
 * per request where node:http's Agent costs ~225 and undici's Pool ~90 (bench/client-overhead.ts),
 * which would otherwise cap every HTTP target below what it can serve (wrk and autocannon work
 * the same way). Only 127.0.0.1 is ever addressed.
 */
import { connect, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { request, type IncomingMessage } from 'node:http';
import { ResponseParser, type HttpReply } from './http-response-parser.ts';

export type { HttpReply } from './http-response-parser.ts';

const REQUEST_TIMEOUT_MS = 30_000;
const HEADS_CACHED_MAX = 4096;

export class HttpError extends Error {
  constructor(readonly status: number, readonly body: string, what: string) {
    super(`${what}: HTTP ${status} ${body.slice(0, 300)}`);
  }
}

interface Pending {
  readonly head: Buffer;
  readonly body: Buffer | undefined;
  readonly noBody: boolean;
  readonly what: string;
  resolve(reply: HttpReply): void;
  reject(error: Error): void;
}

/** One keep-alive socket with at most one request outstanding. */
class Connection {
  private readonly socket: Socket;
  private readonly parser = new ResponseParser();
  private current: Pending | undefined;
  /** When the request in flight times out (checked by the client's sweep, not a timer each). */
  deadline = Infinity;
  private used = false;
  closed = false;

  constructor(port: number, ca: Buffer | undefined, private readonly onIdle: (c: Connection) => void, private readonly onClose: (c: Connection) => void) {
    // HTTPS is HTTP/1.1 over TLS here (no ALPN): what a keep-alive client of a TLS node pays.
    this.socket = ca === undefined ? connect(port, '127.0.0.1') : connectTls({ port, host: '127.0.0.1', ca });
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('close', () => this.fail(new Error('socket closed')));
  }

  send(pending: Pending): void {
    this.current = pending;
    this.parser.reset(pending.noBody);
    this.deadline = performance.now() + REQUEST_TIMEOUT_MS;
    if (pending.body && pending.body.length > 0) {
      this.socket.cork();
      this.socket.write(pending.head);
      this.socket.write(pending.body);
      this.socket.uncork();
    } else {
      this.socket.write(pending.head);
    }
  }

  /** Whether the request in flight may be sent again: this socket was reused and the server said nothing. */
  private get retriable(): boolean {
    return this.used && !this.parser.started;
  }

  private onData(chunk: Buffer): void {
    if (!this.current) {
      this.fail(new Error('unexpected bytes from the server'));
      return;
    }
    let reply: HttpReply | undefined;
    try {
      reply = this.parser.push(chunk);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    if (!reply) return;
    const pending = this.current;
    this.current = undefined;
    this.used = true;
    this.deadline = Infinity;
    if (reply.closes) this.close();
    pending.resolve(reply);
    if (!this.closed) this.onIdle(this);
  }

  /** Fails the request in flight if it is past its deadline. */
  expire(now: number): void {
    if (now >= this.deadline) this.fail(new Error(`${this.current?.what ?? 'a request'} timed out`));
  }

  private fail(error: Error): void {
    const pending = this.current;
    const retriable = this.retriable;
    this.current = undefined;
    this.deadline = Infinity;
    this.close();
    if (pending) pending.reject(Object.assign(error, { retriable }));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.onClose(this);
  }
}

export class HttpClient {
  private readonly port: number;
  private readonly hostHeader: string;
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly queue: Pending[] = [];
  /** Request heads already encoded, by method, path and headers (the bench repeats them). */
  private readonly heads = new Map<string, Buffer>();
  private readonly sweep: NodeJS.Timeout;
  private closed = false;

  /** `ca`: the CA of an https:// base URL's certificate. */
  constructor(baseUrl: string, private readonly maxSockets: number, private readonly ca?: Buffer) {
    const url = new URL(baseUrl);
    if (url.hostname !== '127.0.0.1') throw new Error(`the bench only talks to 127.0.0.1, not ${url.hostname}`);
    if ((url.protocol === 'https:') !== (ca !== undefined)) throw new Error('an https:// base URL needs its CA, and only it');
    this.port = Number(url.port);
    this.hostHeader = url.host;
    this.sweep = setInterval(() => {
      const now = performance.now();
      for (const connection of this.all) connection.expire(now);
    }, 1000);
    this.sweep.unref();
  }

  private headOf(method: string, path: string, bodyLength: number | undefined, headers: Record<string, string>): Buffer {
    let key = `${method} ${path} ${bodyLength}`;
    for (const name in headers) key += `\n${name}:${headers[name]}`;
    let bytes = this.heads.get(key);
    if (bytes === undefined) {
      let head = `${method} ${path} HTTP/1.1\r\nhost: ${this.hostHeader}\r\n`;
      for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
      if (bodyLength !== undefined) head += `content-length: ${bodyLength}\r\n`;
      bytes = Buffer.from(`${head}\r\n`, 'latin1');
      if (this.heads.size >= HEADS_CACHED_MAX) this.heads.clear();
      this.heads.set(key, bytes);
    }
    return bytes;
  }

  /**
   * One request. A keep-alive socket the server closed just as it was reused fails before any
   * answer; that request is sent once more on a new socket.
   */
  request(method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<HttpReply> {
    const bytes = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
    const headBytes = this.headOf(method, path, bytes?.length, headers);
    return this.enqueue(headBytes, bytes, method, path).catch((error: unknown) => {
      if ((error as { retriable?: boolean }).retriable) return this.enqueue(headBytes, bytes, method, path);
      throw error;
    });
  }

  private enqueue(head: Buffer, body: Buffer | undefined, method: string, path: string): Promise<HttpReply> {
    if (this.closed) return Promise.reject(new Error('client closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ head, body, noBody: method === 'HEAD', what: `${method} ${path}`, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let connection = this.idle.pop();
      if (!connection) {
        if (this.all.size >= this.maxSockets) return;
        connection = new Connection(this.port, this.ca, (c) => this.release(c), (c) => this.forget(c));
        this.all.add(connection);
      }
      connection.send(this.queue.shift()!);
    }
  }

  private release(connection: Connection): void {
    this.idle.push(connection);
    this.dispatch();
  }

  private forget(connection: Connection): void {
    this.all.delete(connection);
    const at = this.idle.indexOf(connection);
    if (at !== -1) this.idle.splice(at, 1);
    if (!this.closed) this.dispatch();
  }

  /** A request whose answer must have `status`; returns the parsed JSON body. */
  async json(method: string, path: string, status: number, body?: Buffer | string, headers?: Record<string, string>): Promise<any> {
    const reply = await this.expect(method, path, status, body, headers);
    return reply.body.length === 0 ? undefined : JSON.parse(reply.body.toString('utf8'));
  }

  /** A request whose answer must have `status`; the body is read and dropped. */
  expect(method: string, path: string, status: number, body?: Buffer | string, headers?: Record<string, string>): Promise<HttpReply> {
    return this.request(method, path, body, headers).then((reply) => {
      if (reply.status !== status) throw new HttpError(reply.status, reply.body.toString('utf8'), `${method} ${path}`);
      return reply;
    });
  }

  close(): void {
    this.closed = true;
    clearInterval(this.sweep);
    for (const pending of this.queue.splice(0)) pending.reject(new Error('client closed'));
    for (const connection of [...this.all]) connection.close();
  }
}

export interface OpenStream {
  /** Resolves once the response headers arrived with 200. */
  readonly opened: Promise<void>;
  close(): void;
}

/**
 * A long-lived streaming request on its own socket (SSE, etcd's watch stream): `onText` gets
 * each chunk as it arrives, decoded as UTF-8.
 */
export function openStream(
  baseUrl: string, method: string, path: string, body: string | undefined, headers: Record<string, string>,
  onText: (text: string) => void, onEnd: (error?: Error) => void,
): OpenStream {
  const url = new URL(baseUrl);
  let response: IncomingMessage | undefined;
  const all: Record<string, string | number> = { ...headers };
  if (body !== undefined) all['content-length'] = Buffer.byteLength(body);
  const req = request({ host: url.hostname, port: Number(url.port), method, path, headers: all, agent: false });
  const opened = new Promise<void>((resolve, reject) => {
    req.on('response', (res) => {
      response = res;
      if (res.statusCode !== 200) {
        reject(new Error(`${method} ${path}: HTTP ${res.statusCode}`));
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (text: string) => onText(text));
      res.on('end', () => onEnd());
      res.on('error', (error) => onEnd(error));
      resolve();
    });
    req.on('error', (error) => {
      reject(error);
      onEnd(error);
    });
  });
  opened.catch(() => undefined);
  req.end(body);
  return {
    opened,
    close: () => {
      response?.destroy();
      req.destroy();
    },
  };
}
