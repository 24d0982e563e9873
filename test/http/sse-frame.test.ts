// The server's SSE frames (src/http/sse-sink.ts, sseFrame) read back by an EventSource-rules
// parser as the event that was framed: multi-line data survives, an id only when given.
import { describe, expect, it } from 'vitest';
import { sseFrame } from '../../src/http/sse-sink.ts';
import { SseParser } from './sse-reader.ts';

describe('sseFrame', () => {
  it('frames event, data and id as one event that ends with a blank line', () => {
    expect(sseFrame('watch', '{"a":1}', '5-0')).toBe('event: watch\ndata: {"a":1}\nid: 5-0\n\n');
    expect(new SseParser().feed(sseFrame('watch', '{"a":1}', '5-0'))).toEqual([
      { kind: 'event', event: { id: '5-0', event: 'watch', data: '{"a":1}' } },
    ]);
  });

  it('leaves the id out when none is given', () => {
    expect(sseFrame('reset', '{}')).toBe('event: reset\ndata: {}\n\n');
  });

  it('splits data on every kind of line end, so the reader joins it back with \\n', () => {
    const items = new SseParser().feed(sseFrame('session', 'a\nb\r\nc\rd', '1-0') + sseFrame('x', ''));
    expect(items).toEqual([
      { kind: 'event', event: { id: '1-0', event: 'session', data: 'a\nb\nc\nd' } },
      { kind: 'event', event: { id: '1-0', event: 'x', data: '' } },
    ]);
  });
});
