/**
 * Jute, ZooKeeper's binary record encoding (BinaryOutputArchive / BinaryInputArchive): big-endian
 * int (4 bytes) and long (8 bytes), boolean as one byte, buffer and ustring as an int length then
 * the bytes (-1 for null), vector as an int count then the items. Pure: no I/O.
 *
 * Longs are bigint: zxids and session ids use all 64 bits (a session id's top byte is the server
 * id), beyond a double's 53.
 */

/** A record that does not decode (short, or a length past the frame): the connection is unusable. */
export class JuteDecodeError extends Error {
  override readonly name = 'JuteDecodeError';
}

export class JuteWriter {
  private buf: Buffer;
  private length = 0;

  constructor(initialBytes = 256) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + bytes));
    this.buf.copy(grown, 0, 0, this.length);
    this.buf = grown;
  }

  int(n: number): this {
    this.reserve(4);
    this.buf.writeInt32BE(n, this.length);
    this.length += 4;
    return this;
  }

  long(n: bigint): this {
    this.reserve(8);
    this.buf.writeBigInt64BE(BigInt.asIntN(64, n), this.length);
    this.length += 8;
    return this;
  }

  bool(v: boolean): this {
    this.reserve(1);
    this.buf[this.length++] = v ? 1 : 0;
    return this;
  }

  /** null is written as length -1 (jute's null buffer). */
  buffer(data: Uint8Array | null): this {
    if (data === null) return this.int(-1);
    this.int(data.length);
    this.reserve(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
    return this;
  }

  ustring(s: string | null): this {
    return this.buffer(s === null ? null : Buffer.from(s, 'utf8'));
  }

  vector<T>(items: readonly T[] | null, write: (w: this, item: T) => void): this {
    if (items === null) return this.int(-1);
    this.int(items.length);
    for (const item of items) write(this, item);
    return this;
  }

  /** How many bytes were written (a packet's length on the wire, without its prefix). */
  get size(): number {
    return this.length;
  }

  /** The bytes written, behind a 4-byte length prefix (how every packet goes on the wire). */
  framed(): Buffer {
    const out = Buffer.allocUnsafe(4 + this.length);
    out.writeInt32BE(this.length, 0);
    this.buf.copy(out, 4, 0, this.length);
    return out;
  }

  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
}

export class JuteReader {
  private offset = 0;

  constructor(private readonly buf: Uint8Array) {}

  private view(bytes: number): number {
    if (bytes < 0 || this.offset + bytes > this.buf.length) {
      throw new JuteDecodeError(`record ends at ${this.buf.length} bytes, ${bytes} more wanted at ${this.offset}`);
    }
    const at = this.offset;
    this.offset += bytes;
    return at;
  }

  int(): number {
    const at = this.view(4);
    return Buffer.from(this.buf.buffer, this.buf.byteOffset, this.buf.length).readInt32BE(at);
  }

  long(): bigint {
    const at = this.view(8);
    return Buffer.from(this.buf.buffer, this.buf.byteOffset, this.buf.length).readBigInt64BE(at);
  }

  bool(): boolean {
    return this.buf[this.view(1)] !== 0;
  }

  /** A null buffer (length -1) reads as null. The bytes are copied: the frame is not kept alive. */
  buffer(): Uint8Array | null {
    const length = this.int();
    if (length === -1) return null;
    const at = this.view(length);
    return this.buf.slice(at, at + length);
  }

  ustring(): string | null {
    const length = this.int();
    if (length === -1) return null;
    const at = this.view(length);
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + at, length).toString('utf8');
  }

  /** A null vector reads as empty. */
  vector<T>(read: (r: this) => T): T[] {
    const count = this.int();
    if (count < 0) return [];
    // Each item takes at least one byte: a count past what is left is a corrupt frame, not a loop bound.
    if (count > this.remaining) throw new JuteDecodeError(`vector of ${count} items in ${this.remaining} bytes`);
    const out: T[] = [];
    for (let i = 0; i < count; i++) out.push(read(this));
    return out;
  }

  get remaining(): number {
    return this.buf.length - this.offset;
  }
}
