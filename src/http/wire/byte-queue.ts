/**
 * The bytes a wire connection has received and not yet used, as the list of chunks the socket
 * gave. Chunks are joined only when a caller needs a span as one buffer, and then once: a head
 * or body trickled in many small writes costs one copy, not one per write (concatenating on
 * every chunk was quadratic: seconds of CPU for a 2 MB body sent 300 bytes at a time).
 *
 * It also finds the end of a request head (CRLF CRLF) incrementally: each byte is looked at
 * once however the head is split, and a head that arrives in one chunk is one native search.
 * A chunk searched to its end without finding it is also looked at for a bare LF (one not after
 * a CR), which llhttp refuses: only heads split across chunks pay for that look.
 */

const CR = 13;
const LF = 10;
const END_OF_HEAD = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

/** The next state of a search for CR LF CR LF (the count of its bytes just seen) after `byte`. */
function step(matched: number, byte: number): number {
  if (byte === (matched % 2 === 0 ? CR : LF)) return matched + 1;
  return byte === CR ? 1 : 0;
}

/** Whether `chunk` has an LF whose preceding byte (in it, or the last of `before`) is not CR. */
function hasBareLf(chunk: Buffer, before: Buffer | undefined): boolean {
  for (let at = chunk.indexOf(LF); at !== -1; at = chunk.indexOf(LF, at + 1)) {
    const previous = at > 0 ? chunk[at - 1] : before?.[before.length - 1];
    if (previous !== CR) return true;
  }
  return false;
}

export class ByteQueue {
  private chunks: Buffer[] = [];
  private total = 0;
  /** How many times chunks were copied into one buffer (for tests of the copy bound). */
  private joined = 0;
  /** The head search: chunks fully searched, their bytes, and the CR LF CR LF bytes they end with. */
  private searchedChunks = 0;
  private searchedBytes = 0;
  private matched = 0;
  /** Whether a chunk searched without the head's end holds a bare LF. */
  private bareLf = false;
  /** The scan for the first request byte: where it stands (everything before is CR or LF), and the CR and LF bytes it passed. */
  private leadChunk = 0;
  private leadOffset = 0;
  private leadSkipped = 0;

  get length(): number {
    return this.total;
  }

  get joins(): number {
    return this.joined;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /**
   * The length of the head at the front (its CR LF CR LF included), or -1 while its end has not
   * arrived. The search resumes where it stopped; it restarts after `skip` or `take`.
   */
  headLength(): number {
    while (this.searchedChunks < this.chunks.length) {
      const chunk = this.chunks[this.searchedChunks]!;
      const end = this.endIn(chunk);
      if (end !== -1) return this.searchedBytes + end;
      if (!this.bareLf) this.bareLf = hasBareLf(chunk, this.searchedChunks === 0 ? undefined : this.chunks[this.searchedChunks - 1]!);
      this.searchedChunks++;
      this.searchedBytes += chunk.length;
    }
    return -1;
  }

  /**
   * Whether the bytes searched so far without a head's end hold an LF not after a CR (llhttp
   * refuses such a line; empty lines before a request may be bare, so only a hint to hand off).
   */
  get bareLineFeed(): boolean {
    return this.bareLf;
  }

  /**
   * The first byte that is not CR or LF (llhttp skips those between requests), if one has come.
   * Asked again as more bytes arrive, it goes on from where it stopped: a head trickled a CR at a
   * time is looked at once, not once per byte (16 KB of them cost 230 ms when it started over).
   */
  firstRequestByte(): number | undefined {
    for (; this.leadChunk < this.chunks.length; this.leadChunk++, this.leadOffset = 0) {
      const chunk = this.chunks[this.leadChunk]!;
      for (; this.leadOffset < chunk.length; this.leadOffset++) {
        const byte = chunk[this.leadOffset]!;
        if (byte !== CR && byte !== LF) return byte;
        this.leadSkipped++;
      }
    }
    return undefined;
  }

  /** CR and LF bytes firstRequestByte has stepped over so far (for tests of the scan bound). */
  get leadingBytesSkipped(): number {
    return this.leadSkipped;
  }

  /** Where the head's end is in `chunk` (just past it), given the bytes matched before it; else -1. */
  private endIn(chunk: Buffer): number {
    let matched = this.matched;
    // A match begun in an earlier chunk is finished within this one's first three bytes, or not at all.
    const lead = Math.min(chunk.length, 3);
    if (matched > 0) {
      for (let i = 0; i < lead; i++) {
        matched = step(matched, chunk[i]!);
        if (matched === 4) return i + 1;
      }
    }
    const at = chunk.indexOf(END_OF_HEAD);
    if (at !== -1) return at + 4;
    if (chunk.length >= 3) {
      matched = 0;
      for (let i = chunk.length - 3; i < chunk.length; i++) matched = step(matched, chunk[i]!);
    } else if (this.matched === 0) {
      for (let i = 0; i < chunk.length; i++) matched = step(matched, chunk[i]!);
    }
    this.matched = matched;
    return -1;
  }

  /** The first `n` bytes as one buffer, left in the queue (joined at most once, in place). */
  front(n: number): Buffer {
    if (n > this.total) throw new RangeError(`front(${n}) of ${this.total} bytes`);
    if (n === 0) return EMPTY;
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    let count = 0;
    for (let size = 0; size < n; count++) size += this.chunks[count]!.length;
    const whole = Buffer.concat(this.chunks.slice(0, count));
    this.joined++;
    this.chunks.splice(0, count, whole);
    this.restartSearch();
    return whole.subarray(0, n);
  }

  /** Removes and returns the first `n` bytes as one buffer. */
  take(n: number): Buffer {
    const bytes = this.front(n);
    this.skip(n);
    return bytes;
  }

  /** Drops the first `n` bytes (or all there are, if fewer). */
  skip(n: number): void {
    let left = Math.min(n, this.total);
    this.total -= left;
    while (left > 0) {
      const first = this.chunks[0]!;
      if (first.length > left) {
        this.chunks[0] = first.subarray(left);
        break;
      }
      left -= first.length;
      this.chunks.shift();
    }
    this.restartSearch();
  }

  private restartSearch(): void {
    this.searchedChunks = 0;
    this.searchedBytes = 0;
    this.matched = 0;
    this.bareLf = false;
    this.leadChunk = 0;
    this.leadOffset = 0;
  }

  /** Everything queued as one buffer, and the queue emptied. */
  drain(): Buffer {
    return this.take(this.total);
  }
}
