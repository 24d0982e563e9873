/**
 * A session as a ZooKeeper client holds one: opened through the API, kept alive by its event
 * stream (with keepalives while the stream is down), the stream resumed with Last-Event-ID after
 * a drop, one-shot watch callbacks, and ZooKeeper's ordering rule: a read made through the
 * session returns only once the stream has delivered every event queued before it
 * (`Zk-Last-Event-Id`), so a watch event is always seen before a result that reflects it.
 */
import type { CorralClient } from './corral-client.ts';
import { CorralError } from './corral-client.ts';
import { pause } from './failover.ts';
import { readSse } from './sse.ts';

export interface WatchEvent {
  readonly type: string;
  readonly path: string;
  readonly zxid: string;
}

export type WatchCallback = (event: WatchEvent) => void;

const RECONNECT_DELAY_MS = 200;
const RECONNECT_DELAY_MS_MAX = 30_000;
const WAIT_FOR_STREAM_MS_MAX = 30_000;
/** How long close() waits for the server to end the stream itself. */
const CLOSE_WAIT_MS = 2000;

function idAtLeast(a: string, b: string): boolean {
  const [az, ak] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bz, bk] = b.split('-').map(BigInt) as [bigint, bigint];
  return az > bz || (az === bz && ak >= bk);
}

export class CorralSession {
  /** Id of the last event the stream delivered (what Last-Event-ID resumes after). */
  lastEventId: string | undefined;
  ended: 'closed' | 'expired' | undefined;
  private readonly callbacks = new Map<string, WatchCallback[]>();
  private readonly listeners: WatchCallback[] = [];
  private readonly delivered: Array<() => void> = [];
  /** Aborts the stream in use; replaced on reconnect(). */
  private abort = new AbortController();
  /** Aborted by close(): ends the reconnect loop. */
  private readonly stopped = new AbortController();
  private running: Promise<void> | undefined;
  /** Pause before reconnecting the stream; the server may change it with `retry:` (bounded). */
  private reconnectDelayMs = RECONNECT_DELAY_MS;

  private constructor(readonly client: CorralClient, readonly id: string, readonly token: string, readonly timeoutMs: number) {}

  static async open(client: CorralClient, timeoutMs: number): Promise<CorralSession> {
    const response = await client.raw('/v1/sessions', { method: 'POST', body: JSON.stringify({ timeoutMs }) });
    const body = (await response.json()) as { id: string; token: string; timeoutMs: number; code?: string; zkCode?: number; message?: string };
    if (response.status !== 201) throw new CorralError(response.status, body.code ?? 'SYSTEMERROR', body.zkCode ?? -1, body.message ?? '');
    const session = new CorralSession(client, body.id, body.token, body.timeoutMs);
    session.running = session.follow();
    return session;
  }

  get headers(): Record<string, string> {
    return { 'Zk-Session-Id': this.id, 'Zk-Session-Token': this.token };
  }

  /** Every watch event of the session, in order. */
  onEvent(listener: WatchCallback): void {
    this.listeners.push(listener);
  }

  /**
   * A request made for the session; a successful answer is returned once the stream has caught
   * up with it. `watch` registers a one-shot callback for the path (with `?watch=true`).
   */
  async request(path: string, init: RequestInit = {}, watch?: { path: string; callback: WatchCallback }): Promise<Response> {
    if (watch) this.callbacks.set(watch.path, [...(this.callbacks.get(watch.path) ?? []), watch.callback]);
    const headers = new Headers(init.headers);
    for (const [k, v] of Object.entries(this.headers)) headers.set(k, v);
    const response = await this.client.raw(path, { ...init, headers });
    const lastId = response.headers.get('Zk-Last-Event-Id');
    if (lastId) await this.caughtUp(lastId);
    return response;
  }

  /** Resolves once the stream has delivered event `id` (bounded). */
  caughtUp(id: string): Promise<void> {
    const deadline = Date.now() + WAIT_FOR_STREAM_MS_MAX;
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.ended || (this.lastEventId && idAtLeast(this.lastEventId, id))) return resolve();
        if (Date.now() > deadline) return reject(new Error(`stream did not deliver ${id} in time`));
        this.delivered.push(check);
      };
      check();
    });
  }

  /**
   * Closes the session. The server ends the stream after the events queued before the close and
   * `event: session` (closed); close() waits for that, bounded (a stream that is down, or on a
   * member that has not heard yet, may never say it), then stops the stream and its reconnects,
   * and resolves once they have stopped.
   */
  async close(): Promise<void> {
    const response = await this.client.raw(`/v1/sessions/${this.id}`, { method: 'DELETE', headers: this.headers });
    if (response.status !== 204 && response.status !== 410) throw new CorralError(response.status, 'SYSTEMERROR', -1, await response.text());
    await settledWithin(this.running, CLOSE_WAIT_MS);
    this.ended ??= 'closed';
    this.stopped.abort();
    this.abort.abort();
    await this.running;
  }

  /** Drops the stream connection (it reconnects by itself); for tests and network changes. */
  reconnect(): void {
    const old = this.abort;
    this.abort = new AbortController();
    old.abort();
  }

  private async follow(): Promise<void> {
    for (let attempt = 0; !this.ended && attempt < 1_000_000; attempt++) {
      try {
        await this.readStream();
      } catch {
        // dropped: keep the session alive and resume after the last event we have
      }
      if (this.ended) return;
      await this.client.raw(`/v1/sessions/${this.id}/keepalive`, { method: 'POST', headers: this.headers, signal: this.stopped.signal }).catch(() => undefined);
      await pause(this.reconnectDelayMs, this.stopped.signal);
    }
  }

  private async readStream(): Promise<void> {
    const headers: Record<string, string> = { 'Zk-Session-Token': this.token };
    if (this.lastEventId) headers['Last-Event-ID'] = this.lastEventId;
    const response = await this.client.raw(`/v1/sessions/${this.id}/events`, { headers, signal: this.abort.signal });
    if (response.status === 410 || response.status === 404) this.ended = 'expired';
    if (!response.ok || !response.body) return;
    const onRetry = (ms: number) => (this.reconnectDelayMs = Math.min(ms, RECONNECT_DELAY_MS_MAX));
    for await (const message of readSse(response.body, { onRetry })) {
      const data = JSON.parse(message.data) as WatchEvent & { state?: 'closed' | 'expired' };
      if (message.event === 'session') this.ended = data.state ?? 'closed';
      if (message.event === 'watch') this.dispatch(data);
      if (message.id) this.lastEventId = message.id;
      for (const check of this.delivered.splice(0)) check();
      if (this.ended) return;
    }
  }

  private dispatch(event: WatchEvent): void {
    const once = this.callbacks.get(event.path);
    this.callbacks.delete(event.path);
    for (const callback of once ?? []) callback(event);
    for (const listener of this.listeners) listener(event);
  }
}

/** Waits for `promise` to settle, or `ms`, whichever comes first (the timer is cleared either way). */
async function settledWithin(promise: Promise<unknown> | undefined, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([promise?.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
