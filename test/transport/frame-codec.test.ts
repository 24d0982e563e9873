import { describe, expect, it, vi } from 'vitest';
import {
  encodeFrame, FrameDecoder, FrameTooLargeError, MalformedFrameError, type Frame,
} from '../../src/transport/frame-codec.ts';

const MESSAGES: readonly unknown[] = [
  { type: 'MsgApp', from: 1, to: 2, term: 3, entries: [{ index: 7, data: 'x' }] },
  'snowman ☃ and an emoji 🦓',
  42,
  null,
  [1, 'two', { three: 3 }],
  {},
];

function stream(messages: readonly unknown[]): Buffer {
  return Buffer.concat(messages.map((m) => encodeFrame(m)));
}

/** Every frame the decoder yields after each chunk. */
function decodeAll(decoder: FrameDecoder, chunks: readonly Buffer[]): unknown[] {
  const out: unknown[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk);
    for (let frame: Frame | undefined; (frame = decoder.next()) !== undefined; ) out.push(frame.message);
  }
  return out;
}

function header(length: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(length, 0);
  return buffer;
}

describe('frame codec', () => {
  it('round-trips JSON messages', () => {
    expect(decodeAll(new FrameDecoder(), [stream(MESSAGES)])).toEqual(MESSAGES);
  });

  it('writes a 4-byte big-endian body length before the UTF-8 JSON', () => {
    const frame = encodeFrame({ a: 'é' });
    expect(frame.readUInt32BE(0)).toBe(Buffer.byteLength('{"a":"é"}'));
    expect(frame.subarray(4).toString('utf8')).toBe('{"a":"é"}');
  });

  it('decodes a stream split into two chunks at every byte boundary', () => {
    const bytes = stream(MESSAGES);
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(decodeAll(new FrameDecoder(), [bytes.subarray(0, cut), bytes.subarray(cut)]), `cut at ${cut}`).toEqual(MESSAGES);
    }
  });

  it('decodes a stream fed one byte at a time', () => {
    const bytes = stream(MESSAGES);
    const chunks = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
    expect(decodeAll(new FrameDecoder(), chunks)).toEqual(MESSAGES);
  });

  it('decodes many frames arriving in one chunk', () => {
    const messages = Array.from({ length: 5000 }, (_, i) => ({ seq: i }));
    expect(decodeAll(new FrameDecoder(), [stream(messages)])).toEqual(messages);
  });

  it('reports each frame with its size on the wire', () => {
    const decoder = new FrameDecoder();
    decoder.push(encodeFrame('hi'));
    expect(decoder.next()).toEqual({ message: 'hi', bytes: 4 + 4 });
    expect(decoder.next()).toBeUndefined();
    expect(decoder.buffered).toBe(0);
  });

  it('rejects a frame over maxFrameBytes as soon as its header arrives', () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 100 });
    decoder.push(header(101));
    const error = (() => {
      try {
        decoder.next();
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(FrameTooLargeError);
    expect(error).toMatchObject({ frameBytes: 101, maxFrameBytes: 100 });
  });

  it('accepts a frame of exactly maxFrameBytes', () => {
    const frame = encodeFrame('x'.repeat(98)); // 100 bytes with the quotes
    expect(decodeAll(new FrameDecoder({ maxFrameBytes: 100 }), [frame])).toEqual(['x'.repeat(98)]);
  });

  it('refuses to encode a message over the limit, or one JSON cannot carry', () => {
    expect(() => encodeFrame('x'.repeat(100), 100)).toThrow(FrameTooLargeError);
    expect(() => encodeFrame(undefined)).toThrow(TypeError);
    expect(() => encodeFrame({ n: 1n })).toThrow(TypeError);
  });

  it('applies a changed limit from the next frame on', () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 16 });
    decoder.push(Buffer.concat([encodeFrame('small'), encodeFrame('a larger message body')]));
    expect(decoder.next()?.message).toBe('small');
    decoder.maxFrameBytes = 1024;
    expect(decoder.next()?.message).toBe('a larger message body');
  });

  it.each([
    ['bad JSON', Buffer.from('{"a":')],
    ['an empty body', Buffer.alloc(0)],
    ['invalid UTF-8', Buffer.from([0x22, 0xc3, 0x28, 0x22])],
  ])('rejects a body that is %s as malformed', (_, body) => {
    const decoder = new FrameDecoder();
    decoder.push(Buffer.concat([header(body.length), body]));
    expect(() => decoder.next()).toThrow(MalformedFrameError);
  });

  it('rejects what follows a lost chunk: a header read from JSON text is over the limit', () => {
    const bytes = stream([{ text: 'a message long enough to cut' }, { more: true }]);
    expect(() => decodeAll(new FrameDecoder(), [bytes.subarray(10)])).toThrow(FrameTooLargeError);
  });

  it('assembles a large frame from thousands of small chunks copying each byte about once', () => {
    const message = { blob: 'z'.repeat(4 * 1024 * 1024) };
    const bytes = encodeFrame(message);
    const chunks: Buffer[] = [];
    for (let offset = 0; offset < bytes.length; offset += 2048) chunks.push(bytes.subarray(offset, offset + 2048));
    // Bytes copied, counted rather than timed: concatenating on each of the 2,048 chunks would
    // copy ~4 GB; assembling once copies 4 MiB.
    let copied = 0;
    const original = Buffer.prototype.copy;
    const copy = vi.spyOn(Buffer.prototype as { copy: Buffer['copy'] }, 'copy').mockImplementation(function (this: Buffer, ...args: Parameters<Buffer['copy']>) {
      copied += (args[3] ?? this.length) - (args[2] ?? 0);
      return original.apply(this, args);
    });
    const concat = vi.spyOn(Buffer, 'concat');
    try {
      expect(decodeAll(new FrameDecoder(), chunks)).toEqual([message]);
    } finally {
      copy.mockRestore();
      concat.mockRestore();
    }
    const concatenated = concat.mock.results.reduce((sum, r) => sum + (r.value as Buffer).length, 0);
    expect(copied + concatenated).toBeLessThan(2 * bytes.length);
  });
});
