import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteQueue } from '../../../src/http/wire/byte-queue.ts';

/** `bytes` pushed in pieces cut at `cuts`. */
function queued(bytes: Buffer, cuts: readonly number[]): ByteQueue {
  const queue = new ByteQueue();
  let from = 0;
  for (const to of [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)) {
    queue.push(bytes.subarray(from, to));
    from = to;
  }
  queue.push(bytes.subarray(from));
  return queue;
}

describe('ByteQueue', () => {
  it('finds the end of a head however its bytes are split, searching as they arrive', () => {
    const text = fc.stringMatching(/^[a-z\r\n]{0,40}$/);
    fc.assert(fc.property(text, fc.array(fc.nat(), { maxLength: 8 }), (sent, cuts) => {
      const bytes = Buffer.from(sent, 'latin1');
      const at = bytes.indexOf('\r\n\r\n');
      const queue = new ByteQueue();
      let found = -1;
      let from = 0;
      for (const to of [...new Set(cuts.map((c) => c % (bytes.length + 1))), bytes.length].sort((a, b) => a - b)) {
        queue.push(bytes.subarray(from, to));
        from = to;
        found = queue.headLength();
        // Never ahead of the bytes: found only once all of the head's end is in.
        if (found !== -1) break;
      }
      expect(found).toBe(at === -1 ? -1 : at + 4);
    }));
  });

  it('tells a bare LF in a head still arriving, however its bytes are split, and no CR LF as one', () => {
    const text = fc.stringMatching(/^[a-z\r\n]{0,40}$/);
    fc.assert(fc.property(text, fc.array(fc.nat(), { maxLength: 8 }), (sent, cuts) => {
      const bytes = Buffer.from(sent, 'latin1');
      fc.pre(bytes.indexOf('\r\n\r\n') === -1);
      const queue = new ByteQueue();
      let from = 0;
      for (const to of [...new Set(cuts.map((c) => c % (bytes.length + 1))), bytes.length].sort((a, b) => a - b)) {
        queue.push(bytes.subarray(from, to));
        from = to;
        expect(queue.headLength()).toBe(-1);
      }
      expect(queue.bareLineFeed).toBe(/(^|[^\r])\n/.test(sent));
    }));
  });

  it('gives the first byte of a request after the empty lines before it', () => {
    const queue = new ByteQueue();
    expect(queue.firstRequestByte()).toBeUndefined();
    queue.push(Buffer.from('\r\n\n'));
    expect(queue.firstRequestByte()).toBeUndefined();
    queue.push(Buffer.from('\x16\x03\x01'));
    expect(queue.firstRequestByte()).toBe(0x16);
  });

  it('finds the first request byte however the bytes are split and asked for, stepping over each leading CR or LF once', () => {
    fc.assert(fc.property(fc.stringMatching(/^[\r\n]{0,20}[A-Z\x16]?[a-z]{0,5}$/), fc.array(fc.nat(), { maxLength: 8 }), (sent, cuts) => {
      const bytes = Buffer.from(sent, 'latin1');
      const expected = [...bytes].find((b) => b !== 13 && b !== 10);
      const queue = new ByteQueue();
      let from = 0;
      for (const to of [...new Set(cuts.map((c) => c % (bytes.length + 1))), bytes.length].sort((a, b) => a - b)) {
        queue.push(bytes.subarray(from, to));
        from = to;
        const seen = [...bytes.subarray(0, to)].find((b) => b !== 13 && b !== 10);
        expect(queue.firstRequestByte()).toBe(seen);
      }
      expect(queue.firstRequestByte()).toBe(expected);
      expect(queue.leadingBytesSkipped).toBe(bytes.length - sent.replace(/^[\r\n]*/, '').length);
    }));
    const trickled = new ByteQueue();
    for (let i = 0; i < 16_000; i++) {
      trickled.push(Buffer.from('\r'));
      expect(trickled.firstRequestByte()).toBeUndefined();
    }
    expect(trickled.leadingBytesSkipped).toBe(16_000);
  });

  it('joins a body trickled in 300-byte writes once, and gives it back whole', () => {
    const body = Buffer.alloc(2_100_000);
    for (let i = 0; i < body.length; i++) body[i] = i % 251;
    const queue = new ByteQueue();
    for (let at = 0; at < body.length; at += 300) queue.push(body.subarray(at, at + 300));
    expect(queue.length).toBe(body.length);
    expect(queue.take(body.length).equals(body)).toBe(true);
    expect(queue.joins).toBe(1);
    expect(queue.length).toBe(0);
  });

  it('gives a span within one chunk as a view, without a copy', () => {
    const queue = new ByteQueue();
    const chunk = Buffer.from('GET / HTTP/1.1\r\n\r\nrest');
    queue.push(chunk);
    const head = queue.take(18);
    expect(head.buffer).toBe(chunk.buffer);
    expect(queue.joins).toBe(0);
    expect(queue.drain().toString()).toBe('rest');
  });

  it('takes and skips across chunk boundaries, keeping the order of the bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), fc.array(fc.nat(), { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 6 }), (sent, cuts, steps) => {
      const bytes = Buffer.from(sent);
      const queue = queued(bytes, cuts);
      let at = 0;
      for (const [i, step] of steps.entries()) {
        const n = step % (queue.length + 1);
        if (i % 2 === 0) expect(queue.take(n).equals(bytes.subarray(at, at + n))).toBe(true);
        else queue.skip(n);
        at += n;
      }
      expect(queue.drain().equals(bytes.subarray(at))).toBe(true);
    }));
  });
});
