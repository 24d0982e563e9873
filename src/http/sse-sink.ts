/**
 * The body of a Server-Sent Events response, written straight to the Node response. Hono builds
 * the response (status, headers, every middleware's headers); its body is a ReadableStream that
 * never yields: once @hono/node-server has sent the headers and asks it for the first chunk, the
 * stream's frames go to `outgoing.write` directly, with no web-stream hops per frame. Ending the
 * sink closes that stream, and @hono/node-server ends the response. Served without a Node
 * response (`app.request` in tests), the frames go through the ReadableStream instead.
 */
import type { Context } from 'hono';
import type { ServerResponse } from 'node:http';

export interface SseSink {
  /** Queues `chunk` for the client; false when the client is behind (wait for `drained`). */
  write(chunk: string | Uint8Array): boolean;
  /** Resolves once the client caught up after a write returned false, or the stream closed. */
  drained(): Promise<void>;
  /** The client went away, or the sink was ended. */
  readonly closed: boolean;
  /** Calls `listener` once when the client goes away (not when the sink is ended). */
  onGone(listener: () => void): void;
  /** Ends the response cleanly. */
  end(): void;
}

/** One SSE event's text (data split into `data:` lines, as EventSource joins them back). */
export function sseFrame(event: string, data: string, id?: string): string {
  const lines = data.includes('\n') || data.includes('\r') ? data.split(/\r\n|\r|\n/).join('\ndata: ') : data;
  return `event: ${event}\ndata: ${lines}\n${id === undefined ? '' : `id: ${id}\n`}\n`;
}

/** Frames a fallback stream may hold before `write` says the client is behind. */
const FALLBACK_FRAMES = 64;

/**
 * Answers `c` with an event stream; `start` runs once the headers are out and writes the body.
 * Middleware headers still apply: `start` is not called before the handler returned.
 */
export function sseResponse(c: Context, start: (sink: SseSink) => void): Response {
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  let sink: StreamSink | undefined;
  const body = new ReadableStream<Uint8Array>({
    // highWaterMark 0: pull runs only when the server waits for a chunk, i.e. after the headers.
    pull(controller) {
      if (sink) return sink.pulled();
      sink = outgoing?.headersSent && outgoing.writable ? new DirectSink(outgoing, controller) : new StreamSink(controller);
      start(sink);
    },
    cancel() {
      sink?.gone();
    },
  }, { highWaterMark: 0 });
  c.header('Transfer-Encoding', 'chunked');
  c.header('Content-Type', 'text/event-stream');
  c.header('Cache-Control', 'no-cache');
  c.header('Connection', 'keep-alive');
  return c.newResponse(body);
}

const encoder = new TextEncoder();

/** The fallback: frames through the ReadableStream, `drained` when its reader asks for more. */
class StreamSink implements SseSink {
  protected ended = false;
  private readonly goneListeners: Array<() => void> = [];
  private waiting: Array<() => void> = [];

  constructor(protected readonly controller: ReadableStreamDefaultController<Uint8Array>) {}

  get closed(): boolean {
    return this.ended;
  }

  write(chunk: string | Uint8Array): boolean {
    if (this.closed) return false;
    this.controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
    return (this.controller.desiredSize ?? 0) > -FALLBACK_FRAMES;
  }

  drained(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  onGone(listener: () => void): void {
    this.goneListeners.push(listener);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.release();
    try {
      this.controller.close();
    } catch {
      // already cancelled by the reader
    }
  }

  /** The reader wants more. */
  pulled(): void {
    this.release();
  }

  /** The client went away. */
  gone(): void {
    if (this.ended) return;
    this.ended = true;
    this.release();
    for (const listener of this.goneListeners.splice(0)) listener();
  }

  protected release(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

/** Frames straight to the socket; the ReadableStream only marks the body's end. */
class DirectSink extends StreamSink {
  constructor(private readonly outgoing: ServerResponse, controller: ReadableStreamDefaultController<Uint8Array>) {
    super(controller);
    const onGone = () => this.gone();
    outgoing.once('close', onGone);
    outgoing.on('drain', () => this.release());
    if (outgoing.destroyed) queueMicrotask(onGone);
  }

  override get closed(): boolean {
    return this.ended || this.outgoing.destroyed;
  }

  override write(chunk: string | Uint8Array): boolean {
    if (this.closed) return false;
    return this.outgoing.write(chunk);
  }

  override drained(): Promise<void> {
    if (this.closed || !this.outgoing.writableNeedDrain) return Promise.resolve();
    return super.drained();
  }
}
