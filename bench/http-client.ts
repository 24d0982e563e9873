/**
 * The load generator's HTTP: node:http over a keep-alive Agent with one socket per request in
 * flight (HTTP/1.1 has no pipelining here), bodies sent with Content-Length. Measured against
 * global fetch in BENCHMARKS.md: node:http costs the client less CPU, which matters on 2 cores.
 * Only 127.0.0.1 is ever addressed.
 */
import { Agent, request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';

const REQUEST_TIMEOUT_MS = 30_000;

export interface HttpReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export class HttpError extends Error {
  constructor(readonly status: number, readonly body: string, what: string) {
    super(`${what}: HTTP ${status} ${body.slice(0, 300)}`);
  }
}

export class HttpClient {
  private readonly agent: Agent;
  private readonly host: string;
  private readonly port: number;

  constructor(baseUrl: string, maxSockets: number) {
    const url = new URL(baseUrl);
    if (url.hostname !== '127.0.0.1') throw new Error(`the bench only talks to 127.0.0.1, not ${url.hostname}`);
    this.host = url.hostname;
    this.port = Number(url.port);
    this.agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'fifo' });
  }

  /**
   * One request. A keep-alive socket the server closed just as it was reused fails with
   * ECONNRESET before any answer; that request is sent once more on a new socket (Node's advice).
   */
  async request(method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<HttpReply> {
    try {
      return await this.send(method, path, body, headers);
    } catch (error) {
      if ((error as { reusedSocket?: boolean }).reusedSocket && (error as NodeJS.ErrnoException).code === 'ECONNRESET') {
        return this.send(method, path, body, headers);
      }
      throw error;
    }
  }

  private send(method: string, path: string, body: Buffer | string | undefined, headers: Record<string, string>): Promise<HttpReply> {
    const all: Record<string, string | number> = { ...headers };
    if (body !== undefined) all['content-length'] = Buffer.byteLength(body);
    return new Promise((resolve, reject) => {
      const req = request({ host: this.host, port: this.port, method, path, headers: all, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => resolve({
          status: res.statusCode ?? 0, headers: res.headers,
          body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks),
        }));
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', (error) => reject(Object.assign(error, { reusedSocket: req.reusedSocket })));
      req.end(body);
    });
  }

  /** A request whose answer must have `status`; returns the parsed JSON body. */
  async json(method: string, path: string, status: number, body?: Buffer | string, headers?: Record<string, string>): Promise<any> {
    const reply = await this.request(method, path, body, headers);
    if (reply.status !== status) throw new HttpError(reply.status, reply.body.toString('utf8'), `${method} ${path}`);
    return reply.body.length === 0 ? undefined : JSON.parse(reply.body.toString('utf8'));
  }

  /** A request whose answer must have `status`; the body is read and dropped. */
  async expect(method: string, path: string, status: number, body?: Buffer | string, headers?: Record<string, string>): Promise<HttpReply> {
    const reply = await this.request(method, path, body, headers);
    if (reply.status !== status) throw new HttpError(reply.status, reply.body.toString('utf8'), `${method} ${path}`);
    return reply;
  }

  close(): void {
    this.agent.destroy();
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
