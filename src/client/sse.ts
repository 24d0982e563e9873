/**
 * A Server-Sent Events reader over fetch: works in browsers and in Node (which has no
 * EventSource), and lets the caller set headers such as Last-Event-ID and the session token.
 * The parsing itself is eventsource-parser's (WHATWG rules: CR, LF and CRLF line ends also when
 * split across chunks, `retry`, comments); this file only turns a byte stream into its events.
 *
 * Known gap: eventsource-parser 3 (the line that runs on Node 20) does not report an event that
 * carries only an `id` and no `data`; the WHATWG rules would move the last event id. The Corral
 * server never sends one (every frame has data, src/http/sse-sink.ts), so resuming is unaffected.
 */
import { createParser, type ParseError } from 'eventsource-parser';

export interface SseEvent {
  /** The event type; `message` when the server named none (as EventSource does). */
  readonly event: string;
  readonly data: string;
  /** The `id` this event carried, if any. */
  readonly id: string | undefined;
  /** The last id the stream has set so far (WHATWG's "last event ID"), what Last-Event-ID resumes after. */
  readonly lastEventId: string | undefined;
}

export interface ReadSseOptions {
  /** Called with the server's `retry:` reconnection delay (ms). */
  readonly onRetry?: (ms: number) => void;
  /** Called with each comment line (without the leading colon), e.g. keepalives. */
  readonly onComment?: (text: string) => void;
  /** Largest event (characters) to buffer before failing the stream (default 16 Mi). */
  readonly maxBufferSize?: number;
}

const MAX_BUFFER_DEFAULT = 16 * 1024 * 1024;

/** Yields each event of the stream until it ends (or the caller stops, which cancels the body). */
export async function* readSse(body: ReadableStream<Uint8Array>, options: ReadSseOptions = {}): AsyncGenerator<SseEvent> {
  const queue: SseEvent[] = [];
  let lastEventId: string | undefined;
  let failure: ParseError | undefined;
  const parser = createParser({
    onEvent: (message) => {
      if (message.id !== undefined) lastEventId = message.id;
      queue.push({ event: message.event ?? 'message', data: message.data, id: message.id, lastEventId });
    },
    onRetry: options.onRetry,
    onComment: options.onComment === undefined ? undefined : (text) => options.onComment!(text.trim()),
    // Unknown fields and a malformed retry are ignored, as the WHATWG rules say; only the size bound fails.
    onError: (error) => {
      if (error.type === 'max-buffer-size-exceeded') failure = error;
    },
    maxBufferSize: options.maxBufferSize ?? MAX_BUFFER_DEFAULT,
  });
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let done = false;
  try {
    while (!done) {
      const chunk = await reader.read();
      done = chunk.done;
      parser.feed(done ? decoder.decode() : decoder.decode(chunk.value, { stream: true }));
      if (failure) throw failure;
      yield* queue.splice(0);
    }
  } finally {
    if (!done) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
