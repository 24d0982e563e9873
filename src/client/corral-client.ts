/**
 * The typed Corral client: openapi-fetch over the types generated from openapi.yaml
 * (api-types.ts, `npm run generate:client`), plus what a ZooKeeper client does for you: it
 * remembers the newest zxid it has seen and sends it as Zk-Min-Zxid, so it never reads older
 * data than it has already seen, and it turns error bodies into CorralError.
 */
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { paths } from './api-types.ts';

export type { paths };

export class CorralError extends Error {
  constructor(readonly status: number, readonly code: string, readonly zkCode: number, message: string) {
    super(`${code}: ${message}`);
  }
}

export interface CorralClientOptions {
  readonly baseUrl: string;
  readonly fetch?: typeof fetch;
}

export class CorralClient {
  readonly api: Client<paths>;
  /** The newest zxid any response has shown this client ("0" before the first). */
  lastZxid = 0n;

  constructor(readonly options: CorralClientOptions) {
    this.api = createClient<paths>({ baseUrl: options.baseUrl, fetch: options.fetch ?? ((r) => fetch(r)) });
    this.api.use(this.zxidTracking());
  }

  private zxidTracking(): Middleware {
    return {
      onRequest: ({ request }) => {
        if (this.lastZxid > 0n && !request.headers.has('Zk-Min-Zxid')) request.headers.set('Zk-Min-Zxid', String(this.lastZxid));
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
    if (this.lastZxid > 0n) headers.set('Zk-Min-Zxid', String(this.lastZxid));
    const response = await (this.options.fetch ?? fetch)(`${this.options.baseUrl}${path}`, { ...init, headers });
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
