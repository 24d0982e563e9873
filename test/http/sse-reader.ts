// A small Server-Sent Events reader for the stream tests: fetch the stream, parse it with
// eventsource-parser (WHATWG EventSource rules, the same parser the client uses), keep
// everything received with its arrival time, and let a test wait (bounded) for a condition.
import { createParser, type EventSourceParser } from 'eventsource-parser';

export interface SseEvent {
  readonly id: string | undefined;
  readonly event: string;
  readonly data: string;
  readonly atMs: number;
}

export interface SseComment {
  readonly text: string;
  readonly atMs: number;
}

export type SseItem =
  | { readonly kind: 'event'; readonly event: Omit<SseEvent, 'atMs'> }
  | { readonly kind: 'comment'; readonly text: string }
  | { readonly kind: 'retry'; readonly ms: number };

/**
 * Incremental parser: feed it text as it arrives, get the complete items back. An event's `id`
 * is the stream's last event id (WHATWG: it carries over to events that set none).
 */
export class SseParser {
  private readonly parser: EventSourceParser;
  private items: SseItem[] = [];
  private lastId: string | undefined;

  constructor() {
    this.parser = createParser({
      onEvent: (message) => {
        if (message.id !== undefined) this.lastId = message.id;
        this.items.push({ kind: 'event', event: { id: this.lastId, event: message.event ?? 'message', data: message.data } });
      },
      onComment: (text) => this.items.push({ kind: 'comment', text: text.trim() }),
      onRetry: (ms) => this.items.push({ kind: 'retry', ms }),
    });
  }

  feed(text: string): SseItem[] {
    this.parser.feed(text);
    return this.items.splice(0);
  }
}

const CHUNKS_MAX = 1_000_000;

/** One open stream. `events`/`comments` fill as data arrives; `ended` once the server closes it. */
export class SseStream {
  readonly events: SseEvent[] = [];
  readonly comments: SseComment[] = [];
  ended = false;
  failure: unknown;
  private readonly listeners = new Set<() => void>();

  private constructor(
    readonly status: number, readonly headers: Headers, readonly errorBody: unknown, private readonly controller: AbortController,
  ) {}

  /** Opens `url`; resolves once the response headers are in. A non-200 answer is kept as `errorBody`. */
  static async open(url: string, init: { headers?: Record<string, string>; controller: AbortController }): Promise<SseStream> {
    const { controller } = init;
    const res = await fetch(url, { headers: { accept: 'text/event-stream', ...init.headers }, signal: controller.signal });
    if (res.status !== 200 || !res.body) {
      const text = await res.text();
      const body: unknown = (res.headers.get('content-type') ?? '').includes('json') && text ? JSON.parse(text) : text;
      const failed = new SseStream(res.status, res.headers, body, controller);
      failed.ended = true;
      return failed;
    }
    const stream = new SseStream(res.status, res.headers, undefined, controller);
    void stream.pump(res.body);
    return stream;
  }

  /** Closes the stream from this side (a client going away). */
  abort(): void {
    this.controller.abort();
  }

  /** The `event: watch` payloads so far, as `Type path`. */
  watchEvents(): string[] {
    return this.events.filter((e) => e.event === 'watch').map((e) => {
      const data = JSON.parse(e.data) as { type: string; path: string };
      return `${data.type} ${data.path}`;
    });
  }

  /** Resolves with `probe()`'s first truthy value; rejects after `timeoutMs` or when the stream ends without it. */
  until<T>(probe: () => T | undefined | false, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        const value = probe();
        if (value !== undefined && value !== false) return finish(() => resolve(value));
        if (this.ended) finish(() => reject(new Error(`stream ended before ${what}; got ${this.describe()}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${this.describe()}`))), timeoutMs);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        settle();
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Waits (bounded) for at least `count` events. */
  untilEvents(count: number, timeoutMs = 5000): Promise<SseEvent[]> {
    return this.until(() => this.events.length >= count && this.events, timeoutMs, `${count} events`);
  }

  /** Waits (bounded) for the server to end the stream. */
  untilEnded(timeoutMs = 5000): Promise<true> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`stream still open after ${timeoutMs} ms; got ${this.describe()}`));
      }, timeoutMs);
      const check = () => {
        if (!this.ended) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve(true);
      };
      this.listeners.add(check);
      check();
    });
  }

  describe(): string {
    return JSON.stringify(this.events.map((e) => `${e.id ?? '-'} ${e.event} ${e.data}`));
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const reader = body.getReader();
    try {
      for (let chunk = 0; chunk < CHUNKS_MAX; chunk++) {
        const { done, value } = await reader.read();
        if (done) break;
        const atMs = Date.now();
        for (const item of parser.feed(decoder.decode(value, { stream: true }))) {
          if (item.kind === 'event') this.events.push({ ...item.event, atMs });
          else if (item.kind === 'comment') this.comments.push({ text: item.text, atMs });
        }
        this.notify();
      }
    } catch (error) {
      this.failure = error; // aborted by the test, or the server went away
    } finally {
      this.ended = true;
      this.notify();
    }
  }
}
