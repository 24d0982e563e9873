import { describe, expect, it } from 'vitest';
import { ResponseParser } from '../../bench/http-response-parser.ts';

/** Feeds `text` in pieces of `size` bytes; returns the answers completed, in order. */
function feed(parser: ResponseParser, text: string, size: number) {
  const bytes = Buffer.from(text, 'latin1');
  const replies = [];
  for (let i = 0; i < bytes.length; i += size) {
    const reply = parser.push(bytes.subarray(i, i + size));
    if (reply) replies.push(reply);
  }
  return replies;
}

describe('the load generator\'s response parser', () => {
  const framed = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nZk-Zxid: 42\r\n\r\n{"ok":true}';
  const chunked = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n';

  it('reads a Content-Length answer, however the bytes are split', () => {
    for (const size of [1, 2, 7, 1000]) {
      const parser = new ResponseParser();
      parser.reset(false);
      const [reply, ...rest] = feed(parser, framed, size);
      expect(rest).toEqual([]);
      expect(reply!.status).toBe(200);
      expect(reply!.headers['zk-zxid']).toBe('42');
      expect(reply!.body.toString()).toBe('{"ok":true}');
    }
  });

  it('reads a chunked answer, however the bytes are split', () => {
    for (const size of [1, 3, 1000]) {
      const parser = new ResponseParser();
      parser.reset(false);
      const [reply] = feed(parser, chunked, size);
      expect(reply!.body.toString()).toBe('hello world');
    }
  });

  it('expects no body after HEAD, 204 and 304, whatever Content-Length says', () => {
    const parser = new ResponseParser();
    parser.reset(true);
    expect(feed(parser, 'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n', 1000)[0]!.body.length).toBe(0);
    parser.reset(false);
    expect(feed(parser, 'HTTP/1.1 204 No Content\r\n\r\n', 1000)[0]!.status).toBe(204);
  });

  it('skips an interim 100 answer', () => {
    const parser = new ResponseParser();
    parser.reset(false);
    const [reply] = feed(parser, `HTTP/1.1 100 Continue\r\n\r\n${framed}`, 5);
    expect(reply!.status).toBe(200);
  });

  it('refuses malformed answers', () => {
    const parser = new ResponseParser();
    parser.reset(false);
    expect(() => feed(parser, 'SMTP ready\r\n\r\n', 1000)).toThrow(/status line/);
    parser.reset(false);
    expect(() => feed(parser, 'HTTP/1.1 200 OK\r\n\r\n', 1000)).toThrow(/neither content-length nor chunked/);
    parser.reset(false);
    expect(() => feed(parser, `${framed}HTTP/1.1`, 1000)).toThrow(/after the answer/);
  });
});
