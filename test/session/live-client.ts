// The client side of the event-stream tests' live server (live-server.ts, and the gateway's
// test/backend/zookeeper/gateway-live-server.ts): fetch helpers that act for a session, each
// request and stream with an AbortController the harness owns, so `abortAll()` leaves nothing open.
import { SseStream } from '../http/sse-reader.ts';
import { withTestAuthorization } from '../support/credentialed-mode.ts';

const REQUEST_TIMEOUT_MS = 5000;

export interface LiveSession {
  readonly id: string;
  readonly token: string;
  readonly timeoutMs: number;
}

export interface LiveReply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
}

export interface CallOptions {
  readonly body?: string | object;
  readonly session?: LiveSession;
  readonly headers?: Record<string, string>;
}

export const sessionHeaders = (s: LiveSession): Record<string, string> => ({ 'zk-session-id': s.id, 'zk-session-token': s.token });

export abstract class LiveClient {
  private readonly controllers = new Set<AbortController>();

  /** The running server's base URL. */
  abstract get url(): string;

  /** Aborts every stream and request this client opened. */
  protected abortAll(): void {
    for (const controller of this.controllers) controller.abort();
    this.controllers.clear();
  }

  async call(method: string, path: string, options: CallOptions = {}): Promise<LiveReply> {
    const headers: Record<string, string> = withTestAuthorization({ ...(options.session ? sessionHeaders(options.session) : {}), ...options.headers });
    let body: string | undefined;
    if (typeof options.body === 'string') body = options.body;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    const controller = this.controller();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      const res = await fetch(`${this.url}${path}`, { method, headers, body, signal: controller.signal });
      const text = await res.text();
      const json = (res.headers.get('content-type') ?? '').includes('json') && text !== '';
      return { status: res.status, headers: res.headers, body: json ? JSON.parse(text) : text };
    } finally {
      clearTimeout(timer);
      this.controllers.delete(controller);
    }
  }

  async openSession(timeoutMs: number): Promise<LiveSession> {
    const res = await this.call('POST', '/v1/sessions', { body: { timeoutMs } });
    if (res.status !== 201) throw new Error(`open session: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as LiveSession;
  }

  /** Opens the session's event stream (token in headers, or as `?token=` when `tokenInQuery`). */
  async stream(s: LiveSession, options: { lastEventId?: string; tokenInQuery?: boolean; token?: string } = {}): Promise<SseStream> {
    const token = options.token ?? s.token;
    const headers: Record<string, string> = options.tokenInQuery ? {} : { 'zk-session-token': token };
    if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
    const query = options.tokenInQuery ? `?token=${encodeURIComponent(token)}` : '';
    return SseStream.open(`${this.url}/v1/sessions/${s.id}/events${query}`, { headers, controller: this.controller() });
  }

  /** Creates `path` (empty data) and returns the answer's body; throws unless 201. */
  async create(path: string, mode = 'persistent', session?: LiveSession): Promise<{ path: string; stat: Record<string, string | number> }> {
    const res = await this.call('POST', `/v1/znodes${path}?mode=${mode}`, { body: '', session });
    if (res.status !== 201) throw new Error(`create ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  private controller(): AbortController {
    const controller = new AbortController();
    this.controllers.add(controller);
    return controller;
  }
}
