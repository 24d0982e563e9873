/**
 * The body of a Server-Sent Events response. Hono builds the response (status, headers, every
 * middleware's headers); under a Node server wrapped by serveStreamsDirectly (the public
 * listener), that wrapper then writes the head to the Node response itself and starts the
 * stream on it: frames go to `outgoing.write`, or to the socket, with no web stream, reader or
 * pending promise per stream, and @hono/node-server is told the answer went out
 * (RESPONSE_ALREADY_SENT). Anywhere else (`app.request` in tests, a listener without the
 * wrapper) the response's body is a ReadableStream that carries the frames, as any body.
 *
 * A frame shared by many streams (SharedFrame: a transaction's events for every /v1/watch
 * stream of one path) is framed once as an HTTP/1.1 chunk and written to each socket itself:
 * the response's own write costs a cork, a nextTick and four buffers per call, per stream.
 * Other frames go through the response's write.
 */
import type { Context } from 'hono';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
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

type Start = (sink: SseSink) => void;

/** An event stream the app answered and no one started yet: what starts it, and whether it has a body (not a HEAD). */
interface PendingStream {
  readonly start: Start;
  readonly chunked: boolean;
  /** Taken by serveStreamsDirectly or by the fallback's first pull, whichever comes first. */
  taken: boolean;
}

/** By the answer's body: middleware may copy the Response (hono's `c.res = …`), never its body. */
const pending = new WeakMap<ReadableStream<Uint8Array>, PendingStream>();

/**
 * Answers `c` with an event stream; `start` runs once the headers are out and writes the body.
 * Middleware headers still apply: `start` is not called before the app answered.
 */
export function sseResponse(c: Context, start: Start): Response {
  // Our Transfer-Encoding header makes Node frame the body as chunks (any HTTP version); a HEAD
  // answer has no body at all, so its chunks must not reach the socket.
  const entry: PendingStream = { start, chunked: c.req.method === 'GET', taken: false };
  let sink: StreamSink | undefined;
  const body = new ReadableStream<Uint8Array>({
    // highWaterMark 0: pull runs only when the server waits for a chunk, i.e. after the headers.
    pull(controller) {
      if (sink) return sink.pulled();
      if (entry.taken) return;
      entry.taken = true;
      start((sink = new StreamSink(controller)));
    },
    cancel() {
      sink?.gone();
    },
  }, { highWaterMark: 0 });
  pending.set(body, entry);
  c.header('Transfer-Encoding', 'chunked');
  c.header('Content-Type', 'text/event-stream');
  c.header('Cache-Control', 'no-cache');
  c.header('Connection', 'keep-alive');
  return c.newResponse(body);
}

type NodeResponse = ServerResponse | Http2ServerResponse;
type Fetch = (request: Request, env: { outgoing?: NodeResponse }) => Response | Promise<Response>;

/**
 * `fetch` (an app's, for @hono/node-server's getRequestListener), with its event-stream answers
 * written straight to the Node response: the head as the app built it, then the stream started
 * on the response. Outermost: the head is written as the answer stands once every wrapper is done.
 */
export function serveStreamsDirectly<F extends Fetch>(fetch: F): F {
  return (async (request, env) => {
    const answer = await fetch(request, env);
    const entry = answer.body ? pending.get(answer.body) : undefined;
    const outgoing = env?.outgoing;
    // Gone already, or answered elsewhere: the body carries the stream (and ends it) as any body.
    if (!entry || entry.taken || !outgoing || outgoing.headersSent || !outgoing.writable) return answer;
    entry.taken = true;
    const headers: Record<string, string> = {};
    answer.headers.forEach((value, name) => {
      headers[name] = value;
    });
    outgoing.writeHead(answer.status, headers);
    const sink = new NodeSink(outgoing, entry.chunked);
    try {
      entry.start(sink);
    } catch (error) {
      // As @hono/node-server ends a body that failed: the head is out, so only the connection can say it.
      outgoing.destroy(error as Error);
    }
    return RESPONSE_ALREADY_SENT;
  }) as F;
}

const encoder = new TextEncoder();

/** Who is waiting for the client to catch up, and who is told it left: what both sinks share. */
abstract class SinkBase implements SseSink {
  protected ended = false;
  private readonly goneListeners: Array<() => void> = [];
  private waiting: Array<() => void> | undefined;

  get closed(): boolean {
    return this.ended;
  }

  abstract write(chunk: SseChunk): boolean;
  abstract end(): void;

  drained(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => (this.waiting ??= []).push(resolve));
  }

  onGone(listener: () => void): void {
    this.goneListeners.push(listener);
  }

  /** The client went away. */
  gone(): void {
    if (this.ended) return;
    this.ended = true;
    this.release();
    for (const listener of this.goneListeners.splice(0)) listener();
  }

  protected release(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) for (const resolve of waiting) resolve();
  }
}

/** The fallback: frames through the ReadableStream, `drained` when its reader asks for more. */
class StreamSink extends SinkBase {
  constructor(private readonly controller: ReadableStreamDefaultController<Uint8Array>) {
    super();
  }

  write(chunk: SseChunk): boolean {
    if (this.closed) return false;
    this.controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk instanceof SharedFrame ? chunk.bytes : chunk);
    return (this.controller.desiredSize ?? 0) > -FALLBACK_FRAMES;
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
}

/**
 * Frames straight to the Node response, whose head is out. Shared frames go to the response's
 * socket itself as chunks of its chunked body (HTTP/1.1 GET only), else through the response's
 * write (HTTP/2, a HEAD, or a pipelined request's answer that has no socket of its own yet).
 */
class NodeSink extends SinkBase {
  private readonly socket: Socket | null;
  private drainArmed = false;

  constructor(private readonly outgoing: NodeResponse, chunked: boolean) {
    super();
    const onGone = () => this.gone();
    outgoing.once('close', onGone);
    outgoing.on('drain', () => this.release());
    if (outgoing.destroyed) queueMicrotask(onGone);
    // HTTP/1.1 only (HTTP/2's response socket is the session's); no socket yet: a pipelined
    // request's answer waits behind the one before it.
    this.socket = chunked && outgoing instanceof ServerResponse ? outgoing.socket : null;
    // The head goes out now, not with the first write: the client sees the stream open, and
    // the socket gets the head before any chunk written to it directly (HTTP/2 sends it on writeHead).
    if ('flushHeaders' in outgoing) outgoing.flushHeaders();
  }

  override get closed(): boolean {
    return this.ended || this.outgoing.destroyed;
  }

  write(chunk: SseChunk): boolean {
    if (this.closed) return false;
    const outgoing = this.outgoing as ServerResponse; // both kinds write the same way
    if (!(chunk instanceof SharedFrame)) return outgoing.write(chunk);
    // Both paths append to the same socket in call order (the response's cork only delays the flush).
    return this.socket ? this.socket.write(chunk.chunk) : outgoing.write(chunk.bytes);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.release();
    this.outgoing.end();
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
