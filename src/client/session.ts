/**
 * A session as a ZooKeeper client holds one: opened through the API, kept alive by its event
 * stream (with keepalives while the stream is down), the stream resumed with Last-Event-ID after
 * a drop, one-shot watch callbacks, and ZooKeeper's ordering rule: a read made through the
 * session returns only once the stream has delivered every event queued before it
 * (`Zk-Last-Event-Id`), so a watch event is always seen before a result that reflects it.
 */
import type { CorralClient } from './corral-client.ts';
import { CorralError } from './corral-client.ts';
import { readSse } from './sse.ts';

export interface WatchEvent {
  readonly type: string;
  readonly path: string;
  readonly zxid: string;
}

export type WatchCallback = (event: WatchEvent) => void;

const RECONNECT_DELAY_MS = 200;
const WAIT_FOR_STREAM_MS_MAX = 30_000;

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
  private abort = new AbortController();
  private running: Promise<void> | undefined;

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

  async close(): Promise<void> {
    const response = await this.client.raw(`/v1/sessions/${this.id}`, { method: 'DELETE', headers: this.headers });
    if (response.status !== 204 && response.status !== 410) throw new CorralError(response.status, 'SYSTEMERROR', -1, await response.text());
    await Promise.race([this.running, new Promise((resolve) => setTimeout(resolve, 2000))]);
    this.abort.abort();
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
      await this.client.raw(`/v1/sessions/${this.id}/keepalive`, { method: 'POST', headers: this.headers }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_DELAY_MS));
    }
  }

  private async readStream(): Promise<void> {
    const headers: Record<string, string> = { 'Zk-Session-Token': this.token };
    if (this.lastEventId) headers['Last-Event-ID'] = this.lastEventId;
    const response = await this.client.raw(`/v1/sessions/${this.id}/events`, { headers, signal: this.abort.signal });
    if (response.status === 410 || response.status === 404) this.ended = 'expired';
    if (!response.ok || !response.body) return;
    for await (const message of readSse(response.body)) {
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
