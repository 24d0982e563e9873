/**
 * The typed Corral client: openapi-fetch over the types generated from openapi.yaml
 * (api-types.ts, `npm run generate:client`), plus what a ZooKeeper client does for you: it
 * remembers the newest zxid it has seen and sends it as Zk-Min-Zxid, so it never reads older
 * data than it has already seen; it follows a cluster (a list of node URLs: on a connection
 * error or a 503 it moves to the next node, carrying that zxid), giving every write a
 * Zk-Request-Id so a retried write is applied once; and it turns error bodies into CorralError.
 * Znode data is bytes: a string or Uint8Array body is sent as given (never JSON-encoded), and
 * getData returns the stored bytes, or their UTF-8 text, as the caller asks.
 */
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { paths } from './api-types.ts';
import { CorralError, errorFromResponse } from './errors.ts';
import { Failover } from './failover.ts';

export type { paths };
export { CorralError };

/** Data as the caller gives it: text (stored as its UTF-8 bytes) or bytes. */
export type ZnodeData = string | Uint8Array;

export type CreateMode = 'persistent' | 'ephemeral' | 'persistent_sequential' | 'ephemeral_sequential' | 'container' | 'persistent_with_ttl' | 'persistent_sequential_with_ttl';

export interface ZnodeStat {
  readonly czxid: string;
  readonly mzxid: string;
  readonly version: number;
  readonly cversion: number;
  readonly aversion: number;
  readonly ephemeralOwner: string;
  readonly dataLength: number;
  readonly numChildren: number;
  readonly [field: string]: unknown;
}

export interface CorralClientOptions {
  /** One node, or `urls` for a cluster. */
  readonly baseUrl?: string;
  /** Every node of a cluster: requests fail over from one to the next. */
  readonly urls?: readonly string[];
  readonly fetch?: typeof fetch;
  /**
   * How long a request keeps failing over (connection errors, 503s) before it gives up; at least
   * one leader election (default 5000 ms).
   */
  readonly retryForMs?: number;
}

const WRITE = /^\/v1\/(znodes|multi)(\/|$)/;

export class CorralClient {
  readonly api: Client<paths>;
  /** The newest zxid any response has shown this client ("0" before the first). */
  lastZxid = 0n;
  readonly failover: Failover;
  private readonly clientId = globalThis.crypto.randomUUID();
  private requests = 0;

  constructor(readonly options: CorralClientOptions) {
    const urls = options.urls ?? (options.baseUrl === undefined ? [] : [options.baseUrl]);
    this.failover = new Failover({
      urls, fetch: options.fetch ?? ((input, init) => fetch(input, init)),
      ...(options.retryForMs === undefined ? {} : { retryForMs: options.retryForMs }),
    });
    this.api = createClient<paths>({ baseUrl: urls[0], fetch: (request) => this.failover.fetch(request), bodySerializer });
    this.api.use(this.zxidTracking());
  }

  /** The node requests go to now. */
  get baseUrl(): string {
    return this.failover.url;
  }

  /** Sets what every request carries: the newest zxid seen, and a request id on writes. */
  private stamp(method: string, pathname: string, headers: Headers): void {
    if (this.lastZxid > 0n && !headers.has('Zk-Min-Zxid')) headers.set('Zk-Min-Zxid', String(this.lastZxid));
    if (method !== 'GET' && method !== 'HEAD' && WRITE.test(pathname) && !headers.has('Zk-Request-Id')) {
      headers.set('Zk-Request-Id', `${this.clientId}.${++this.requests}`);
    }
  }

  private zxidTracking(): Middleware {
    return {
      onRequest: ({ request }) => {
        this.stamp(request.method, new URL(request.url).pathname, request.headers);
        return request;
      },
      onResponse: ({ response }) => {
        const zxid = response.headers.get('Zk-Zxid');
        if (zxid && BigInt(zxid) > this.lastZxid) this.lastZxid = BigInt(zxid);
        return response;
      },
    };
  }

  /** A fetch that carries the client's zxid, for the endpoints openapi-fetch does not stream. */
  async raw(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    this.stamp(init.method ?? 'GET', path.split('?')[0]!, headers);
    const response = await this.failover.fetch(`${this.options.urls?.[0] ?? this.options.baseUrl}${path}`, { ...init, headers });
    const zxid = response.headers.get('Zk-Zxid');
    if (zxid && BigInt(zxid) > this.lastZxid) this.lastZxid = BigInt(zxid);
    return response;
  }

  /** Creates a znode holding `data` exactly as given; answers the created path (sequential names included). */
  async create(path: string, data: ZnodeData = '', options: { mode?: CreateMode; ttlMs?: number; headers?: HeadersInit } = {}): Promise<string> {
    const query = new URLSearchParams();
    if (options.mode) query.set('mode', options.mode);
    if (options.ttlMs !== undefined) query.set('ttl', String(options.ttlMs));
    const body = await this.expect(201, `${znodeUrl('/v1/znodes', path)}${query.size > 0 ? `?${query}` : ''}`, { method: 'POST', body: bytesOf(data), headers: dataHeaders(options.headers) });
    return ((await body.json()) as { path: string }).path;
  }

  /** Replaces a znode's data (only at `version` when given); answers the new stat. */
  async setData(path: string, data: ZnodeData, options: { version?: number; headers?: HeadersInit } = {}): Promise<ZnodeStat> {
    const query = options.version === undefined ? '' : `?version=${options.version}`;
    const body = await this.expect(200, `${znodeUrl('/v1/znodes', path)}${query}`, { method: 'PUT', body: bytesOf(data), headers: dataHeaders(options.headers) });
    return ((await body.json()) as { stat: ZnodeStat }).stat;
  }

  /** A znode's data as stored: bytes by default, or its UTF-8 text with `{ as: 'string' }`. */
  async getData(path: string, options?: { as?: 'bytes'; headers?: HeadersInit }): Promise<{ data: Uint8Array; version: number }>;
  async getData(path: string, options: { as: 'string'; headers?: HeadersInit }): Promise<{ data: string; version: number }>;
  async getData(path: string, options: { as?: 'bytes' | 'string'; headers?: HeadersInit } = {}): Promise<{ data: Uint8Array | string; version: number }> {
    const headers = new Headers(options.headers);
    headers.set('Accept', 'application/octet-stream');
    const response = await this.expect(200, znodeUrl('/v1/znodes', path), { headers });
    const bytes = new Uint8Array(await response.arrayBuffer());
    const version = Number((response.headers.get('ETag') ?? '').replace(/"/g, ''));
    return { data: options.as === 'string' ? new TextDecoder().decode(bytes) : bytes, version };
  }

  /** Deletes a znode (only at `version` when given). */
  async delete(path: string, options: { version?: number; headers?: HeadersInit } = {}): Promise<void> {
    const query = options.version === undefined ? '' : `?version=${options.version}`;
    const response = await this.expect(204, `${znodeUrl('/v1/znodes', path)}${query}`, { method: 'DELETE', headers: options.headers ?? {} });
    await response.body?.cancel();
  }

  /** raw() that throws the error body as a CorralError unless the status is `status`. */
  private async expect(status: number, path: string, init: RequestInit): Promise<Response> {
    const response = await this.raw(path, init);
    if (response.status !== status) throw await errorFromResponse(response);
    return response;
  }
}

/** openapi-fetch JSON-encodes every body by default; znode data (text or bytes) must go as is. */
function bodySerializer(body: unknown): BodyInit {
  if (typeof body === 'string' || body instanceof Uint8Array || body instanceof ArrayBuffer || body instanceof Blob) return body as BodyInit;
  return JSON.stringify(body);
}

function bytesOf(data: ZnodeData): BodyInit {
  return typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data); // a copy: BodyInit wants an ArrayBuffer-backed view
}

function dataHeaders(extra: HeadersInit | undefined): Headers {
  const headers = new Headers(extra);
  if (!headers.has('Content-Type')) headers.set('Content-Type', 'application/octet-stream');
  return headers;
}

/** Throws CorralError for an error body; returns the data otherwise. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || !result.response.ok) {
    const body = (result.error ?? {}) as { code?: string; zkCode?: number; message?: string };
    throw new CorralError(result.response.status, body.code ?? 'SYSTEMERROR', body.zkCode ?? -1, body.message ?? result.response.statusText);
  }
  return result.data as T;
}

/** The URL path of a znode under a prefix, each name percent-encoded. */
export function znodeUrl(prefix: string, path: string): string {
  return path === '/' ? prefix : `${prefix}${path.split('/').map(encodeURIComponent).join('/')}`;
}
