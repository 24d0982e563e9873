/**
 * readSse (the client's SSE reader, eventsource-parser underneath) reads a byte stream by the
 * WHATWG EventSource rules, whatever the chunking: the cases a hand-written splitter got wrong.
 */
import { describe, expect, it } from 'vitest';
import { readSse, type SseEvent } from '../../src/client/index.ts';

/** A body that delivers exactly these chunks, as a network might split them. */
function body(chunks: ReadonlyArray<string | Uint8Array>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
      controller.close();
    },
  });
}

async function all(chunks: ReadonlyArray<string | Uint8Array>, options: Parameters<typeof readSse>[1] = {}): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of readSse(body(chunks), options)) events.push(event);
  return events;
}

describe('readSse', () => {
  it('keeps one event whole when a CR/LF pair falls across two chunks', async () => {
    const events = await all(['event: watch\r', '\ndata: {"a":1}\r', '\n\r', '\nevent: watch\r\ndata: {"a":2}\r\n\r\n']);
    expect(events.map((e) => [e.event, e.data])).toEqual([['watch', '{"a":1}'], ['watch', '{"a":2}']]);
  });

  it('handles bare CR line ends, a multi-byte character split across chunks, and multi-line data', async () => {
    const snowman = new TextEncoder().encode('data: ☃\r');
    const events = await all([snowman.slice(0, 7), snowman.slice(7), 'data: second line\r\r', 'data: z\n\n']);
    expect(events.map((e) => e.data)).toEqual(['☃\nsecond line', 'z']);
  });

  it('reports the server\'s retry delay and comments, and ignores a malformed retry', async () => {
    const retries: number[] = [];
    const comments: string[] = [];
    const events = await all([': connected\n\nretry: 2500\n\nretry: soon\n\ndata: x\n\n'], { onRetry: (ms) => retries.push(ms), onComment: (c) => comments.push(c) });
    expect(retries).toEqual([2500]);
    expect(comments).toEqual(['connected']);
    expect(events.map((e) => e.data)).toEqual(['x']);
  });

  it('carries the last event id over events that set none; an id-only block yields no event and breaks nothing', async () => {
    const events = await all(['id: 1-0\ndata: a\n\n', 'id: 2-0\n\n', 'data: b\n\n', 'id: 3-0\nevent: watch\ndata: c\n\n']);
    expect(events).toEqual([
      { event: 'message', data: 'a', id: '1-0', lastEventId: '1-0' },
      // eventsource-parser 3 does not report id-only blocks (see src/client/sse.ts): 'b' keeps 1-0.
      { event: 'message', data: 'b', id: undefined, lastEventId: '1-0' },
      { event: 'watch', data: 'c', id: '3-0', lastEventId: '3-0' },
    ]);
  });

  it('fails the stream rather than buffer without bound when an event never ends', async () => {
    await expect(all(['data: ' + 'x'.repeat(2000)], { maxBufferSize: 1000 })).rejects.toThrow(/buffer/i);
  });

  it('cancels the body when the reader stops early', async () => {
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new TextEncoder().encode('data: tick\n\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    let count = 0;
    for await (const event of readSse(stream)) {
      expect(event.data).toBe('tick');
      if (++count === 3) break;
    }
    expect(cancelled).toBe(true);
  });
});
