// HTTPS clients for the TLS tests, trusting a test CA (Node's fetch takes no CA option):
// an HTTP/2 client (node:http2, one session, many streams — event streams included) and an
// HTTP/1.1 one (node:https, a fresh connection per request). Every request is bounded in time;
// every session and stream is closed by the test that opened it.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as connectH2, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { connect as connectTls } from 'node:tls';
import { SseParser, type SseEvent } from '../http/sse-reader.ts';

const REQUEST_TIMEOUT_MS = 5000;

/** What a client presents and trusts (PEM file paths). */
export interface ClientTls {
  readonly ca: string | readonly string[];
  readonly cert?: string;
  readonly key?: string;
}

export interface TlsReply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** Parsed JSON when the answer is JSON. */
  readonly body: any;
}

export interface CallOptions {
  readonly headers?: Record<string, string>;
  readonly body?: string | object;
}

function secureOptionsOf(tls: ClientTls) {
  const cas = typeof tls.ca === 'string' ? [tls.ca] : tls.ca;
  return {
    ca: cas.map((f) => readFileSync(f)),
    ...(tls.cert === undefined ? {} : { cert: readFileSync(tls.cert) }),
    ...(tls.key === undefined ? {} : { key: readFileSync(tls.key) }),
  };
}

function bodyOf(options: CallOptions): { text: string | undefined; headers: Record<string, string> } {
  const { body, headers = {} } = options;
  if (body === undefined) return { text: undefined, headers };
  if (typeof body === 'string') return { text: body, headers };
  return { text: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } };
}

function replyOf(status: number, headers: TlsReply['headers'], text: string): TlsReply {
  const type = String(headers['content-type'] ?? '');
  return { status, headers, text, body: type.includes('json') && text !== '' ? JSON.parse(text) : text };
}

/** One request over HTTP/1.1 on a connection of its own (ALPN offers only http/1.1). */
export function h1Request(base: string, tls: ClientTls, method: string, path: string, options: CallOptions = {}): Promise<TlsReply> {
  const { text, headers } = bodyOf(options);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${base}${path}`, { method, headers, agent: false, timeout: REQUEST_TIMEOUT_MS, ...secureOptionsOf(tls) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(replyOf(res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString('utf8'))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(text);
  });
}

/** An HTTP/2 connection: requests and event streams multiplexed on one TLS session. */
export class H2Client {
  private readonly streams = new Set<TlsEventStream>();

  private constructor(readonly session: ClientHttp2Session) {}

  static connect(base: string, tls: ClientTls): Promise<H2Client> {
    return new Promise((resolve, reject) => {
      const session = connectH2(base, secureOptionsOf(tls));
      const timer = setTimeout(() => {
        session.destroy();
        reject(new Error(`no HTTP/2 session with ${base} within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      session.once('connect', () => {
        clearTimeout(timer);
        session.off('error', failed);
        session.on('error', () => {}); // a session the server ends later; requests report their own errors
        resolve(new H2Client(session));
      });
      const failed = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      session.once('error', failed);
    });
  }

  /** The negotiated protocol (`h2`). */
  get alpnProtocol(): string | undefined {
    return this.session.alpnProtocol;
  }

  request(method: string, path: string, options: CallOptions = {}): Promise<TlsReply> {
    const { text, headers } = bodyOf(options);
    return new Promise((resolve, reject) => {
      const stream = this.session.request({ [constants.HTTP2_HEADER_METHOD]: method, [constants.HTTP2_HEADER_PATH]: path, ...headers }, { endStream: text === undefined });
      stream.setTimeout(REQUEST_TIMEOUT_MS, () => stream.close(constants.NGHTTP2_CANCEL));
      let status = 0;
      let responseHeaders: TlsReply['headers'] = {};
      const chunks: Buffer[] = [];
      stream.on('response', (h) => {
        status = Number(h[constants.HTTP2_HEADER_STATUS]);
        responseHeaders = h as TlsReply['headers'];
      });
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => resolve(replyOf(status, responseHeaders, Buffer.concat(chunks).toString('utf8'))));
      stream.on('close', () => {
        if (status === 0) reject(new Error(`${method} ${path}: stream closed without an answer (code ${stream.rstCode})`));
      });
      stream.on('error', reject);
      if (text !== undefined) stream.end(text);
    });
  }

  /** Opens an event stream on this connection; resolves once its response headers are in. */
  async events(path: string, headers: Record<string, string> = {}): Promise<TlsEventStream> {
    const stream = this.session.request({ [constants.HTTP2_HEADER_PATH]: path, accept: 'text/event-stream', ...headers });
    const events = await TlsEventStream.overHttp2(stream);
    this.streams.add(events);
    return events;
  }

  close(): void {
    for (const s of this.streams) s.close();
    this.session.destroy();
  }
}

/** An SSE response, read from an HTTP/2 stream or an HTTP/1.1 response. */
export class TlsEventStream {
  readonly events: SseEvent[] = [];
  ended = false;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly status: number, readonly headers: Record<string, string | string[] | undefined>,
    stream: Readable, private readonly closer: () => void,
  ) {
    const parser = new SseParser();
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => {
      for (const item of parser.feed(text)) if (item.kind === 'event') this.events.push({ ...item.event, atMs: Date.now() });
      this.notify();
    });
    const ended = () => {
      this.ended = true;
      this.notify();
    };
    stream.on('close', ended).on('end', ended).on('error', ended);
  }

  /** Reads an HTTP/2 stream's response. */
  static overHttp2(stream: ClientHttp2Stream): Promise<TlsEventStream> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stream.close(constants.NGHTTP2_CANCEL);
        reject(new Error('no response headers for the event stream'));
      }, REQUEST_TIMEOUT_MS);
      stream.once('response', (h) => {
        clearTimeout(timer);
        const close = () => {
          if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
        };
        resolve(new TlsEventStream(Number(h[constants.HTTP2_HEADER_STATUS]), h as TlsEventStream['headers'], stream, close));
      });
      stream.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /** Opens `path` over HTTP/1.1 on a connection of its own. */
  static overHttp1(base: string, tls: ClientTls, path: string, headers: Record<string, string> = {}): Promise<TlsEventStream> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(`${base}${path}`, { headers: { accept: 'text/event-stream', ...headers }, agent: false, ...secureOptionsOf(tls) }, (res) => {
        clearTimeout(timer);
        resolve(new TlsEventStream(res.statusCode ?? 0, res.headers, res, () => req.destroy()));
      });
      const timer = setTimeout(() => req.destroy(new Error('no response headers for the event stream')), REQUEST_TIMEOUT_MS);
      req.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      req.end();
    });
  }

  /** The `event: watch` payloads so far, as `Type path`. */
  watchEvents(): string[] {
    return this.events.filter((e) => e.event === 'watch').map((e) => {
      const data = JSON.parse(e.data) as { type: string; path: string };
      return `${data.type} ${data.path}`;
    });
  }

  /** Waits (bounded) until `count` events arrived. */
  untilEvents(count: number, timeoutMs = 5000): Promise<SseEvent[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.events.length >= count) finish(() => resolve(this.events));
        else if (this.ended) finish(() => reject(new Error(`stream ended with ${this.events.length} of ${count} events`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`timed out waiting for ${count} events; got ${this.events.length}`))), timeoutMs);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        settle();
      };
      this.listeners.add(check);
      check();
    });
  }

  close(): void {
    this.closer();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

/** The certificate a fresh TLS connection to `base` is served (no HTTP request made). */
export function servedCertificate(base: string, tls: ClientTls): Promise<X509Certificate> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connectTls({ host: hostname, port: Number(port), servername: undefined, ...secureOptionsOf(tls), ALPNProtocols: ['http/1.1'] }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.destroy();
      if (cert) resolve(cert);
      else reject(new Error('no certificate served'));
    });
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy(new Error('TLS handshake timed out')));
    socket.on('error', reject);
  });
}

/** Whether a TLS handshake (and a first read) with these credentials succeeds: 'ok', or the error's code. */
export function handshake(base: string, tls: ClientTls): Promise<string> {
  return h1Request(base, tls, 'GET', '/healthz').then((r) => (r.status === 200 ? 'ok' : `status ${r.status}`), (error: NodeJS.ErrnoException) => error.code ?? error.message);
}
