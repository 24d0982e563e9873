// A small HTTP client for the limit tests that can choose its source address (127.0.0.2 is
// another caller than 127.0.0.1 on loopback), hold event streams and bare connections open,
// and read the refusal counters from /metrics. Every request has a timeout and every held
// socket is tracked, so `closeAll()` leaves nothing open.
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';

const TIMEOUT_MS = 5000;

export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: any;
}

export interface SendOptions {
  readonly from?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | object;
}

/** A held event stream: its status, and what it received so far. */
export interface HeldStream {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The error body when status is not 200. */
  readonly body: any;
  text(): string;
  close(): void;
}

function parse(text: string, headers: IncomingHttpHeaders): unknown {
  return (headers['content-type'] ?? '').includes('json') && text !== '' ? JSON.parse(text) : text;
}

export class LimitsClient {
  private readonly sockets = new Set<Socket>();

  constructor(private readonly baseUrl: string) {}

  private get target(): { host: string; port: number } {
    const url = new URL(this.baseUrl);
    return { host: url.hostname, port: Number(url.port) };
  }

  send(method: string, path: string, options: SendOptions = {}): Promise<Answer> {
    const { body, from, headers = {} } = options;
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request({ ...this.target, method, path, headers, localAddress: from, agent: false, timeout: TIMEOUT_MS }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: parse(Buffer.concat(chunks).toString('utf8'), res.headers) }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Opens an event stream; resolves once its head is in (and, when refused, its body). */
  stream(path: string, options: SendOptions = {}): Promise<HeldStream> {
    const { from, headers = {} } = options;
    return new Promise((resolve, reject) => {
      const req = request({ ...this.target, method: 'GET', path, headers: { accept: 'text/event-stream', ...headers }, localAddress: from, agent: false }, (res) => {
        const socket = res.socket;
        this.sockets.add(socket);
        socket.once('close', () => this.sockets.delete(socket));
        let text = '';
        res.setEncoding('utf8');
        const held = (body: unknown): HeldStream => ({
          status: res.statusCode!, headers: res.headers, body, text: () => text, close: () => socket.destroy(),
        });
        if (res.statusCode !== 200) {
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve(held(parse(text, res.headers))));
          return;
        }
        res.on('data', (c: string) => (text += c));
        res.on('error', () => undefined);
        resolve(held(undefined));
      });
      req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error(`stream ${path} gave no head`)));
      req.on('error', reject);
      req.end();
    });
  }

  /** A bare TCP connection from `from`, held open until closeAll (or its own close). */
  connection(from?: string): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ ...this.target, localAddress: from });
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      socket.once('connect', () => resolve(socket));
      socket.once('error', reject);
    });
  }

  /** `corral_limit_refusals_total{limit}` as the node reports it now. */
  async refusals(limit: string, from?: string): Promise<number> {
    const res = await this.send('GET', '/metrics', { from });
    const line = String(res.body).split('\n').find((l) => l.startsWith(`corral_limit_refusals_total{limit="${limit}"}`));
    return line === undefined ? Number.NaN : Number(line.split(' ')[1]);
  }

  closeAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }
}

/** What a raw socket receives until it closes (bounded). */
export function readUntilClosed(socket: Socket, timeoutMs = TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the connection stayed open; got ${JSON.stringify(text)}`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (text += c));
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
}
