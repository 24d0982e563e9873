/**
 * The console's one live stream: a session-less recursive watch of `/` (GET /v1/watch?recursive=true),
 * read with fetch (so it carries the login's Authorization, which EventSource cannot), resumed
 * after a drop with Last-Event-ID so no event is lost or repeated, and an `event: reset` (the node
 * no longer holds the history to resume from) reported so the views reload; they reload too after
 * a drop before any event came, when there is no id to resume after. The node sends only
 * events about nodes the user may READ.
 */
import { CREDENTIALS, describeError, withAuth } from './api.ts';
import { errorFromResponse } from '../src/client/errors.ts';
import { readSse } from '../src/client/sse.ts';
import { Observable } from './observable.ts';

export interface WatchEvent {
  readonly type: string;
  readonly path: string;
  readonly zxid: string;
}

export interface LogLine {
  readonly seq: number;
  readonly at: Date;
  readonly kind: 'watch' | 'reset' | 'stream';
  readonly text: string;
  readonly path?: string;
}

export type FeedStatus = 'connecting' | 'live' | 'reconnecting' | 'stopped';

const LOG_LINES_MAX = 300;
const RETRY_DELAY_MS = 250;
const RETRY_DELAY_MS_MAX = 5000;

export class LiveFeed extends Observable {
  status: FeedStatus = 'stopped';
  detail = '';
  lastEventId: string | undefined;
  /** Set when the node reset the history; shown until dismissed. */
  resetNotice: string | undefined;
  readonly log: LogLine[] = [];
  private seq = 0;
  private readonly eventListeners = new Set<(event: WatchEvent) => void>();
  private readonly resetListeners = new Set<() => void>();
  private abort: AbortController | undefined;
  private running: Promise<void> | undefined;

  onEvent(listener: (event: WatchEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onReset(listener: () => void): () => void {
    this.resetListeners.add(listener);
    return () => this.resetListeners.delete(listener);
  }

  /** (Re)starts the stream, e.g. after a log-in changed what the user may read. */
  async restart(): Promise<void> {
    await this.stop();
    this.abort = new AbortController();
    this.running = this.follow(this.abort.signal);
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    await this.running;
    this.running = undefined;
  }

  dismissReset(): void {
    this.resetNotice = undefined;
    this.changed();
  }

  private note(kind: LogLine['kind'], text: string, path?: string): void {
    this.log.unshift({ seq: ++this.seq, at: new Date(), kind, text, ...(path === undefined ? {} : { path }) });
    this.log.length = Math.min(this.log.length, LOG_LINES_MAX);
  }

  private setStatus(status: FeedStatus, detail = ''): void {
    if (status === this.status && detail === this.detail) return;
    if (status !== 'connecting') this.note('stream', `stream ${status}${detail ? `: ${detail}` : ''}`);
    this.status = status;
    this.detail = detail;
    this.changed();
  }

  private async follow(signal: AbortSignal): Promise<void> {
    let delayMs = RETRY_DELAY_MS;
    let wasLive = false;
    this.setStatus('connecting');
    while (!signal.aborted) {
      try {
        const headers = withAuth({ Accept: 'text/event-stream' });
        if (this.lastEventId !== undefined) headers.set('Last-Event-ID', this.lastEventId);
        const response = await fetch('/v1/watch?recursive=true', { headers, signal, cache: 'no-store', credentials: CREDENTIALS });
        if (!response.ok || response.body === null) {
          this.setStatus('reconnecting', describeError(await errorFromResponse(response)));
        } else {
          // Back after a drop with no event id to resume after: what changed meanwhile is only
          // found by reading again, as after a reset.
          const blind = wasLive && this.lastEventId === undefined;
          this.setStatus('live', this.lastEventId !== undefined ? `resumed after ${this.lastEventId}`
            : blind ? 'no event was seen before the drop to resume after, so the views were reloaded' : '');
          if (blind) for (const listener of this.resetListeners) listener();
          wasLive = true;
          delayMs = RETRY_DELAY_MS;
          for await (const event of readSse(response.body)) this.dispatch(event.event, event.data, event.lastEventId);
          this.setStatus('reconnecting', 'the stream ended');
        }
      } catch (error) {
        if (signal.aborted) break;
        this.setStatus('reconnecting', describeError(error));
      }
      await pause(delayMs, signal);
      delayMs = Math.min(delayMs * 2, RETRY_DELAY_MS_MAX);
    }
    this.setStatus('stopped');
  }

  private dispatch(kind: string, data: string, lastEventId: string | undefined): void {
    if (lastEventId !== undefined) this.lastEventId = lastEventId;
    if (kind === 'watch') {
      const event = JSON.parse(data) as WatchEvent;
      this.note('watch', `${event.type} ${event.path} (zxid ${event.zxid})`, event.path);
      for (const listener of this.eventListeners) listener(event);
    } else if (kind === 'reset') {
      const { reason } = JSON.parse(data) as { reason?: string };
      this.resetNotice = `The node no longer holds the history to resume from${reason ? ` (${reason})` : ''}: events were missed, so the views were reloaded.`;
      this.note('reset', this.resetNotice);
      for (const listener of this.resetListeners) listener();
    } else {
      this.note('stream', `${kind}: ${data}`);
    }
    this.changed();
  }
}

/** Waits `ms`, or less when `signal` aborts (the platform's timeout signal, joined with it). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  const done = AbortSignal.any([signal, AbortSignal.timeout(ms)]);
  return new Promise((resolve) => {
    if (done.aborted) resolve();
    else done.addEventListener('abort', () => resolve(), { once: true });
  });
}
