/**
 * The typed Corral client: openapi-fetch over the types generated from openapi.yaml
 * (api-types.ts, `npm run generate:client`), plus what a ZooKeeper client does for you: it
 * remembers the newest zxid it has seen and sends it as Zk-Min-Zxid, so it never reads older
 * data than it has already seen; it follows a cluster (a list of node URLs: on a connection
 * error or a 503 it moves to the next node, carrying that zxid), giving every write a
 * Zk-Request-Id so a retried write is applied once; and it turns error bodies into CorralError.
 */
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { paths } from './api-types.ts';
import { Failover } from './failover.ts';

export type { paths };

export class CorralError extends Error {
  constructor(readonly status: number, readonly code: string, readonly zkCode: number, message: string) {
    super(`${code}: ${message}`);
  }
}

export interface CorralClientOptions {
  /** One node, or `urls` for a cluster. */
  readonly baseUrl?: string;
  /** Every node of a cluster: requests fail over from one to the next. */
  readonly urls?: readonly string[];
  readonly fetch?: typeof fetch;
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
    this.failover = new Failover({ urls, fetch: options.fetch ?? ((input, init) => fetch(input, init)) });
    this.api = createClient<paths>({ baseUrl: urls[0], fetch: (request) => this.failover.fetch(request) });
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
