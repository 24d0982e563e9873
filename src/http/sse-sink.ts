/**
 * The body of a Server-Sent Events response, written straight to the Node response. Hono builds
 * the response (status, headers, every middleware's headers); its body is a ReadableStream that
 * never yields: once @hono/node-server has sent the headers and asks it for the first chunk, the
 * stream's frames go to `outgoing.write` directly, with no web-stream hops per frame. Ending the
 * sink closes that stream, and @hono/node-server ends the response. Served without a Node
 * response (`app.request` in tests), the frames go through the ReadableStream instead.
 *
 * A frame shared by many streams (SharedFrame: a transaction's events for every /v1/watch
 * stream of one path) is framed once as an HTTP/1.1 chunk and written to each socket itself:
 * the response's own write costs a cork, a nextTick and four buffers per call, per stream.
 * Other frames go through the response's write.
 */
import type { Context } from 'hono';
import { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

const CRLF = Buffer.from('\r\n');

/** An SSE text written to many streams: its bytes, and the same as one HTTP/1.1 chunk, each built once. */
export class SharedFrame {
  private chunked: Buffer | undefined;

  constructor(readonly bytes: Buffer) {}

  /** `<size in hex>\r\n<bytes>\r\n`. */
  get chunk(): Buffer {
    return (this.chunked ??= asChunk(this.bytes));
  }
}

function asChunk(bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`, 'latin1'), bytes, CRLF]);
}

export type SseChunk = string | Uint8Array | SharedFrame;

export interface SseSink {
  /** Queues `chunk` for the client; false when the client is behind (wait for `drained`). */
  write(chunk: SseChunk): boolean;
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
  // Our Transfer-Encoding header makes Node frame the body as chunks (any HTTP version); a HEAD
  // answer has no body at all, so its chunks must not reach the socket.
  const chunked = c.req.method === 'GET';
  let sink: StreamSink | undefined;
  const body = new ReadableStream<Uint8Array>({
    // highWaterMark 0: pull runs only when the server waits for a chunk, i.e. after the headers.
    pull(controller) {
      if (sink) return sink.pulled();
      sink = outgoing?.headersSent && outgoing.writable ? new DirectSink(outgoing, controller, chunked) : new StreamSink(controller);
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

  write(chunk: SseChunk): boolean {
    if (this.closed) return false;
    this.controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk instanceof SharedFrame ? chunk.bytes : chunk);
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

/**
 * Frames straight to the Node response, no web-stream hop; the ReadableStream only marks the
 * body's end (the response writes the last chunk). Shared frames go to the response's socket
 * itself as chunks of its chunked body (HTTP/1.1 GET only), else through the response's write
 * (HTTP/2, a HEAD, or a pipelined request's answer that has no socket of its own yet).
 */
class DirectSink extends StreamSink {
  private readonly socket: Socket | null;
  private drainArmed = false;

  constructor(private readonly outgoing: ServerResponse, controller: ReadableStreamDefaultController<Uint8Array>, chunked: boolean) {
    super(controller);
    const onGone = () => this.gone();
    outgoing.once('close', onGone);
    outgoing.on('drain', () => this.release());
    if (outgoing.destroyed) queueMicrotask(onGone);
    // HTTP/1.1 only (HTTP/2's response socket is the session's); no socket yet: a pipelined
    // request's answer waits behind the one before it.
    this.socket = chunked && outgoing instanceof ServerResponse ? outgoing.socket : null;
    // The headers, and anything the response still holds, go to the socket before our chunks.
    if (this.socket) outgoing.flushHeaders();
  }

  override get closed(): boolean {
    return this.ended || this.outgoing.destroyed;
  }

  override write(chunk: SseChunk): boolean {
    if (this.closed) return false;
    if (!(chunk instanceof SharedFrame)) return this.outgoing.write(chunk);
    // Both paths append to the same socket in call order (the response's cork only delays the flush).
    return this.socket ? this.socket.write(chunk.chunk) : this.outgoing.write(chunk.bytes);
  }

  override drained(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const socketBehind = this.socket?.writableNeedDrain ?? false;
    if (!socketBehind && !this.outgoing.writableNeedDrain) return Promise.resolve();
    const waiting = super.drained();
    if (socketBehind && !this.drainArmed && this.socket) {
      // Once, not for the socket's life: a keep-alive socket outlives this response.
      this.drainArmed = true;
      this.socket.once('drain', () => {
        this.drainArmed = false;
        this.release();
      });
    }
    return waiting;
  }
}
