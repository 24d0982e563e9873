/**
 * Length-prefixed frames: a 4-byte big-endian body length, then the body: UTF-8 JSON, or, when
 * its first byte is BINARY_FRAME_MARK (no JSON text starts with a NUL), opaque bytes for the
 * layer above (the peer link's binary messages, sent only to members that said they read them).
 *
 * The decoder is streaming: TCP hands it arbitrary chunks, a frame split across many of them or
 * many frames in one. It keeps the chunks in a list and copies each frame's bytes exactly once,
 * when the whole frame is there, so a 256 MiB snapshot costs O(n), not a concatenation per
 * chunk. The declared length is checked against the limit as soon as the header is in, before
 * any of the body is buffered. Errors are typed so the owner of the connection can close it.
 *
 * Resynchronising a corrupted stream is not attempted: a length read from the middle of JSON text
 * is at least 0x20000000 (every byte of the text is >= 0x20), over the limit, so the connection is
 * closed at the first header that is not one. (A length read from a binary body can look valid;
 * the layer above checks every binary message's version byte and bounds.)
 */

export const FRAME_HEADER_BYTES = 4;
/** Snapshots of the whole tree ride on the transport, so the default is generous. */
export const DEFAULT_MAX_FRAME_BYTES = 256 * 1024 * 1024;
/** The first byte of a binary frame's body. */
export const BINARY_FRAME_MARK = 0x00;
/** What a 4-byte length can say at most. */
const MAX_FRAME_BYTES_LIMIT = 0xffff_ffff;

export class FrameError extends Error {
  override readonly name: string = 'FrameError';
}

export class FrameTooLargeError extends FrameError {
  override readonly name = 'FrameTooLargeError';

  constructor(readonly frameBytes: number, readonly maxFrameBytes: number) {
    super(`frame of ${frameBytes} bytes exceeds the limit of ${maxFrameBytes}`);
  }
}

export class MalformedFrameError extends FrameError {
  override readonly name = 'MalformedFrameError';
}

export interface Frame {
  /** The parsed JSON, or a binary frame's bytes (after the mark) as a Uint8Array. */
  readonly message: unknown;
  /** Header plus body. */
  readonly bytes: number;
}

function checkLimit(maxFrameBytes: number): number {
  if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 1 || maxFrameBytes > MAX_FRAME_BYTES_LIMIT) {
    throw new RangeError(`maxFrameBytes must be an integer in [1, ${MAX_FRAME_BYTES_LIMIT}], got ${maxFrameBytes}`);
  }
  return maxFrameBytes;
}

/**
 * One frame for `message`, in a single buffer (one allocation, the JSON written straight into
 * it). Throws FrameTooLargeError past `maxFrameBytes`, TypeError for what JSON cannot carry.
 */
export function encodeFrame(message: unknown, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Buffer {
  const json: string | undefined = JSON.stringify(message);
  if (json === undefined) throw new TypeError(`cannot encode ${typeof message} as a JSON frame`);
  const bodyBytes = Buffer.byteLength(json, 'utf8');
  if (bodyBytes > maxFrameBytes) throw new FrameTooLargeError(bodyBytes, maxFrameBytes);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyBytes);
  frame.writeUInt32BE(bodyBytes, 0);
  frame.write(json, FRAME_HEADER_BYTES, 'utf8');
  return frame;
}

/** One binary frame carrying `payload` (copied once); throws FrameTooLargeError past `maxFrameBytes`. */
export function encodeBinaryFrame(payload: Uint8Array, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Buffer {
  const bodyBytes = 1 + payload.length;
  if (bodyBytes > maxFrameBytes) throw new FrameTooLargeError(bodyBytes, maxFrameBytes);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyBytes);
  frame.writeUInt32BE(bodyBytes, 0);
  frame[FRAME_HEADER_BYTES] = BINARY_FRAME_MARK;
  frame.set(payload, FRAME_HEADER_BYTES + 1);
  return frame;
}

/** Strict UTF-8: a body that is not valid UTF-8 is malformed, not silently repaired. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

export class FrameDecoder {
  private limit: number;
  /** Unread bytes are chunks[head..], the first of them possibly already partly consumed. */
  private chunks: Buffer[] = [];
  private head = 0;
  private bufferedBytes = 0;
  /** The body length of the frame being read, once its header is in. */
  private bodyBytes: number | undefined;

  constructor(options: { maxFrameBytes?: number } = {}) {
    this.limit = checkLimit(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
  }

  get maxFrameBytes(): number {
    return this.limit;
  }

  /** Changes the limit for frames whose header has not been read yet (e.g. after a handshake). */
  set maxFrameBytes(value: number) {
    this.limit = checkLimit(value);
  }

  /** Bytes received and not yet returned as frames. */
  get buffered(): number {
    return this.bufferedBytes;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
  }

  /**
   * The next complete frame, or undefined until more bytes arrive. Pulled one at a time so the
   * owner can change the limit between frames. After a FrameError the decoder is unusable.
   */
  next(): Frame | undefined {
    const body = this.nextBody();
    return body === undefined ? undefined : { message: parseFrameBody(body), bytes: FRAME_HEADER_BYTES + body.length };
  }

  /** The next complete frame's body, unparsed (a sealed record, for frame-seal.ts), or undefined. */
  nextBody(): Buffer | undefined {
    if (this.bodyBytes === undefined) {
      if (this.bufferedBytes < FRAME_HEADER_BYTES) return undefined;
      const length = this.take(FRAME_HEADER_BYTES).readUInt32BE(0);
      if (length > this.limit) throw new FrameTooLargeError(length, this.limit);
      this.bodyBytes = length;
    }
    if (this.bufferedBytes < this.bodyBytes) return undefined;
    const body = this.take(this.bodyBytes);
    this.bodyBytes = undefined;
    return body;
  }

  /** Removes `n` buffered bytes: a view when they sit in one chunk, else one copy. */
  private take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const first = this.chunks[this.head]!;
    if (first.length >= n) {
      this.consumeFirst(first, n);
      this.bufferedBytes -= n;
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    for (let offset = 0; offset < n; ) {
      const chunk = this.chunks[this.head]!;
      const count = Math.min(chunk.length, n - offset);
      chunk.copy(out, offset, 0, count);
      this.consumeFirst(chunk, count);
      offset += count;
    }
    this.bufferedBytes -= n;
    return out;
  }

  private consumeFirst(chunk: Buffer, count: number): void {
    if (count < chunk.length) {
      this.chunks[this.head] = chunk.subarray(count);
      return;
    }
    this.chunks[this.head++] = EMPTY;
    // Drop consumed slots in batches so a frame made of thousands of chunks stays linear.
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head >= 1024) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}

const EMPTY = Buffer.alloc(0);

/** A frame body as its message: a binary frame's bytes after the mark, else parsed JSON. */
export function parseFrameBody(body: Buffer): unknown {
  if (body.length > 0 && body[0] === BINARY_FRAME_MARK) return body.subarray(1);
  try {
    return JSON.parse(utf8.decode(body));
  } catch {
    // The parser's message quotes the input: keep peer-controlled bytes out of the logs.
    throw new MalformedFrameError(`frame body of ${body.length} bytes is not UTF-8 JSON`);
  }
}
