/**
 * Follows a session-less watch stream (`GET /v1/watch/{path}?recursive=`) for the caches: a
 * persistent (recursive) watch that lives as long as the stream, starting after a given zxid so
 * nothing between the caller's first read and the stream's opening is missed. A dropped stream
 * (a member killed, a proxy timeout, `event: overflow`) is reopened with Last-Event-ID through the
 * client's failover, so every event comes once and in order. When the server says its history
 * cannot bridge the gap (`event: reset`), the caller is told to read everything again.
 *
 * Why this stream and not the session's: it says when history was lost (the session client does
 * not surface `overflow`), it replays from any member's stored history after a member dies, and it
 * needs no session, so a cache outlives a session's expiry. The server sends an event only about
 * nodes the caller may READ (its ACL checks), as for any watch.
 */
import type { CorralClient } from '../corral-client.ts';
import { errorFromResponse } from '../errors.ts';
import { znodeUrl } from '../corral-client.ts';
import type { WatchEvent } from '../session.ts';
import { readSse } from '../sse.ts';

export interface WatchFeedHandlers {
  /** Each watch event, in zxid order, once. */
  readonly onEvent: (event: WatchEvent) => void;
  /** The stream skipped history through `zxid`: the state must be read again (the events go on after). */
  readonly onResync: (zxid: bigint, reason: string) => void;
  /** The stream cannot be opened for a reason retrying will not fix (a 4xx): the feed has stopped. */
  readonly onFailure: (error: unknown) => void;
}

const RECONNECT_PAUSE_MS = 100;
const RECONNECT_PAUSE_MS_MAX = 2000;
/** Attempts in a row that could not open the stream, before the feed gives up. */
const RECONNECTS_MAX = 10_000;

export class WatchFeed {
  private lastEventId: string | undefined;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;

  /** `fromZxid`: the stream starts with the changes after this zxid. */
  constructor(
    private readonly client: CorralClient, private readonly path: string, private readonly recursive: boolean,
    private fromZxid: bigint, private readonly handlers: WatchFeedHandlers,
  ) {}

  start(): void {
    this.running ??= this.follow();
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private async follow(): Promise<void> {
    let pauseMs = RECONNECT_PAUSE_MS;
    for (let reconnects = 0; !this.abort.signal.aborted && reconnects < RECONNECTS_MAX; reconnects++) {
      try {
        const opened = await this.readOnce();
        if (opened) {
          reconnects = 0;
          pauseMs = RECONNECT_PAUSE_MS;
        }
      } catch (error) {
        if (this.abort.signal.aborted) return;
        if (isPermanent(error)) return this.handlers.onFailure(error);
        // dropped or unreachable: reopen after the last event we have
      }
      await pause(pauseMs, this.abort.signal);
      pauseMs = Math.min(pauseMs * 2, RECONNECT_PAUSE_MS_MAX);
    }
    if (!this.abort.signal.aborted) this.handlers.onFailure(new Error(`the watch stream of ${this.path} could not be kept open`));
  }

  /** Reads the stream until it ends; answers whether it opened (an error when it could not). */
  private async readOnce(): Promise<boolean> {
    const headers = new Headers({ Accept: 'text/event-stream' });
    const query = new URLSearchParams({ recursive: String(this.recursive) });
    if (this.lastEventId) headers.set('Last-Event-ID', this.lastEventId);
    else query.set('fromZxid', String(this.fromZxid));
    const response = await this.client.raw(`${znodeUrl('/v1/watch', this.path)}?${query}`, { headers, signal: this.abort.signal });
    if (!response.ok || !response.body) throw await errorFromResponse(response);
    // close() ends even an idle stream: the failover passes our signal itself down to the fetch.
    for await (const message of readSse(response.body)) {
      if (message.event === 'watch') {
        this.handlers.onEvent(JSON.parse(message.data) as WatchEvent);
        if (message.id) this.lastEventId = message.id;
      } else if (message.event === 'reset') {
        // What happened up to `zxid` is unknown; the stream goes on from there (a reset has no id).
        const reset = JSON.parse(message.data) as { zxid: string; reason?: string };
        this.lastEventId = undefined;
        this.fromZxid = BigInt(reset.zxid);
        this.handlers.onResync(this.fromZxid, reset.reason ?? 'history reset');
      }
      // `overflow` ends the stream: reopening with Last-Event-ID replays what was dropped.
    }
    return true;
  }
}

/** A refusal that retrying will not change (bad path, no permission); 408, 429 and 5xx are retried. */
function isPermanent(error: unknown): boolean {
  const status = (error as { status?: number }).status ?? 0;
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
