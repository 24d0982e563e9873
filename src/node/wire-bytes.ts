/**
 * The byte layout every binary peer message uses (src/node/peer-wire.ts, and the proposals of
 * src/node/pipeline/proposal-binary.ts): numbers as float64 (exact for the safe integers terms,
 * indexes, ids and versions are), strings and bytes after a uint32 length, an optional value
 * after a presence byte. Every read checks its bounds and its value and throws a PeerWireError,
 * which decodeWire turns into a value: a peer's bug or version skew is dropped, never stepped.
 */

export class PeerWireError extends Error {
  override readonly name = 'PeerWireError';
}

/**
 * Writes into one scratch buffer reused by every encode (grown when a message needs more): the
 * transport copies the bytes into their frame at once, so a message costs that one copy.
 */
export class Writer {
  private static scratch = Buffer.allocUnsafe(64 * 1024);
  private buf = Writer.scratch;
  private at = 0;

  /** Starts a message with its version and kind bytes. */
  constructor(version: number, kind: number) {
    this.u8(version);
    this.u8(kind);
  }

  u8(value: number): void {
    this.room(1);
    this.buf[this.at++] = value;
  }

  num(value: number): void {
    this.room(8);
    this.buf.writeDoubleLE(value, this.at);
    this.at += 8;
  }

  str(value: string): void {
    this.room(4 + 3 * value.length); // UTF-8 takes at most 3 bytes per UTF-16 unit
    const n = this.buf.write(value, this.at + 4, 'utf8');
    this.buf.writeUInt32LE(n, this.at);
    this.at += 4 + n;
  }

  optionalStr(value: string | undefined): void {
    this.u8(value === undefined ? 0 : 1);
    if (value !== undefined) this.str(value);
  }

  bytes(value: Uint8Array): void {
    this.room(4 + value.length);
    this.buf.writeUInt32LE(value.length, this.at);
    this.buf.set(value, this.at + 4);
    this.at += 4 + value.length;
  }

  /** The message: valid until the next encode (send it, which copies it, before encoding another). */
  done(): Uint8Array {
    return this.buf.subarray(0, this.at);
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.at + n));
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
    Writer.scratch = grown;
  }
}

/** Reads what Writer wrote; every read checks its bounds (throws PeerWireError, caught in decodeWire). */
export class Reader {
  private at = 0;

  constructor(private readonly buf: Buffer) {}

  u8(): number {
    this.need(1);
    return this.buf[this.at++]!;
  }

  flag(what: string): boolean {
    const value = this.u8();
    if (value > 1) throw new PeerWireError(`${what} is ${value}, not 0 or 1`);
    return value === 1;
  }

  /** A non-negative safe integer. */
  num(what: string): number {
    const value = this.int(what);
    if (value < 0) throw new PeerWireError(`${what} is not a count`);
    return value;
  }

  /** A safe integer of either sign (a version, a TTL). */
  int(what: string): number {
    this.need(8);
    const value = this.buf.readDoubleLE(this.at);
    this.at += 8;
    if (!Number.isSafeInteger(value)) throw new PeerWireError(`${what} is not an integer`);
    return value;
  }

  /** A count of items of at least `minBytes` each, no more than `max` and no more than the bytes left hold. */
  items(what: string, max: number, minBytes: number): number {
    const n = this.num(what);
    if (n > max) throw new PeerWireError(`${what} is ${n}, over ${max}`);
    if (n * minBytes > this.remaining()) throw new PeerWireError(`${what} is ${n} in ${this.remaining()} bytes`);
    return n;
  }

  /** A byte that indexes `names`. */
  oneOf<T>(names: readonly T[], what: string): T {
    const i = this.u8();
    if (i >= names.length) throw new PeerWireError(`${what} ${i} is not one of ${names.length}`);
    return names[i]!;
  }

  str(): string {
    const n = this.length();
    const value = this.buf.toString('utf8', this.at, this.at + n);
    this.at += n;
    return value;
  }

  optionalStr(what: string): string | undefined {
    return this.flag(what) ? this.str() : undefined;
  }

  /** A copy: the frame's buffer is a view of the socket's chunk, which must not be kept alive. */
  bytes(): Uint8Array {
    const n = this.length();
    const value = new Uint8Array(n);
    value.set(this.buf.subarray(this.at, this.at + n));
    this.at += n;
    return value;
  }

  end(): void {
    if (this.at !== this.buf.length) throw new PeerWireError(`${this.buf.length - this.at} bytes past the end of the message`);
  }

  remaining(): number {
    return this.buf.length - this.at;
  }

  private length(): number {
    this.need(4);
    const n = this.buf.readUInt32LE(this.at);
    this.at += 4;
    this.need(n);
    return n;
  }

  private need(n: number): void {
    if (this.at + n > this.buf.length) throw new PeerWireError(`message ends ${this.at + n - this.buf.length} bytes short`);
  }
}
