// The stream tests' SSE parser (sse-reader.ts) follows the WHATWG EventSource parsing rules;
// checked here so a stream test failure is the server's, not the parser's.
import { describe, expect, it } from 'vitest';
import { SseParser, type SseItem } from './sse-reader.ts';

const feedAll = (chunks: readonly string[]): SseItem[] => {
  const parser = new SseParser();
  return chunks.flatMap((chunk) => parser.feed(chunk));
};

describe('SseParser', () => {
  it('parses id, event and data, and dispatches on a blank line', () => {
    expect(feedAll(['id: 5-0\nevent: watch\ndata: {"a":1}\n\n'])).toEqual([
      { kind: 'event', event: { id: '5-0', event: 'watch', data: '{"a":1}' } },
    ]);
  });

  it('joins multi-line data, defaults the type to message and keeps the last id', () => {
    expect(feedAll(['id: 1-0\ndata: a\n\n', 'data: b\ndata: c\n\n'])).toEqual([
      { kind: 'event', event: { id: '1-0', event: 'message', data: 'a' } },
      { kind: 'event', event: { id: '1-0', event: 'message', data: 'b\nc' } },
    ]);
  });

  it('reports comment lines and ignores an event with no data', () => {
    expect(feedAll([': heartbeat\n\n', 'event: x\n\n'])).toEqual([{ kind: 'comment', text: 'heartbeat' }]);
  });

  it('handles CRLF and CR line ends, also when split across chunks', () => {
    expect(feedAll(['data: a\r', '\n\r', '\ndata: b\r\r', '\n'])).toEqual([
      { kind: 'event', event: { id: undefined, event: 'message', data: 'a' } },
      { kind: 'event', event: { id: undefined, event: 'message', data: 'b' } },
    ]);
  });

  it('waits for the rest of a line split across chunks', () => {
    const parser = new SseParser();
    expect(parser.feed('event: wat')).toEqual([]);
    expect(parser.feed('ch\ndata: {"x"')).toEqual([]);
    expect(parser.feed(':2}\n\n')).toEqual([{ kind: 'event', event: { id: undefined, event: 'watch', data: '{"x":2}' } }]);
  });
});
