/**
 * An incremental HTTP/1.1 response parser for the load generator's client: a status line,
 * headers (names lower-cased, repeated ones joined with ", "), then a body framed by
 * Content-Length or chunked transfer encoding. Bodies of HEAD answers and of 204 and 304 are
 * empty. An answer framed neither way cannot end on a kept-alive socket, so it is an error.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface HttpReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The server said `Connection: close`. */
  readonly closes: boolean;
}

const HEAD_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');
const HEAD_MAX_BYTES = 64 * 1024;

const EMPTY = Buffer.alloc(0);
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})/;

/** A header's trimmed value in a lower-cased head (the first, if repeated), or undefined. */
function headerIn(lowerHead: string, name: string): string | undefined {
  const at = lowerHead.indexOf(`\r\n${name}:`);
  if (at === -1) return undefined;
  const start = at + name.length + 3;
  const end = lowerHead.indexOf('\r\n', start);
  return lowerHead.slice(start, end === -1 ? undefined : end).trim();
}

/** All headers of a head: names lower-cased, repeated ones joined with ", ". */
function parseHeaders(head: string): IncomingHttpHeaders {
  const headers: Record<string, string> = {};
  const lines = head.split('\r\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return headers;
}

class Reply implements HttpReply {
  private parsed: IncomingHttpHeaders | undefined;

  constructor(readonly status: number, private readonly head: string, readonly body: Buffer, readonly closes: boolean) {}

  get headers(): IncomingHttpHeaders {
    this.parsed ??= parseHeaders(this.head);
    return this.parsed;
  }
}

type Phase = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'trailers';

export class ResponseParser {
  private buffer: Buffer = Buffer.alloc(0);
  private phase: Phase = 'head';
  private noBody = false;
  private status = 0;
  private head = '';
  private closes = false;
  private remaining = 0;
  private chunks: Buffer[] = [];
  /** Whether any byte of the current answer has arrived. */
  started = false;

  /** Readies the parser for the next answer; `noBody` for an answer to HEAD. */
  reset(noBody: boolean): void {
    this.buffer = EMPTY;
    this.phase = 'head';
    this.noBody = noBody;
    this.chunks = [];
    this.started = false;
  }

  /** Feeds bytes; returns the answer once it is complete. Throws on a malformed answer. */
  push(chunk: Buffer): HttpReply | undefined {
    this.started = true;
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      switch (this.phase) {
        case 'head':
          if (!this.parseHead()) return undefined;
          break;
        case 'length': {
          if (this.buffer.length < this.remaining) return undefined;
          return this.finish(this.buffer.subarray(0, this.remaining), this.remaining);
        }
        case 'chunk-size': {
          const end = this.buffer.indexOf(CRLF);
          if (end === -1) return undefined;
          const size = parseInt(this.buffer.toString('latin1', 0, end), 16);
          if (!Number.isSafeInteger(size) || size < 0) throw new Error('malformed chunk size');
          this.buffer = this.buffer.subarray(end + 2);
          this.remaining = size;
          this.phase = size === 0 ? 'trailers' : 'chunk-data';
          break;
        }
        case 'chunk-data': {
          if (this.buffer.length < this.remaining + 2) return undefined;
          this.chunks.push(this.buffer.subarray(0, this.remaining));
          this.buffer = this.buffer.subarray(this.remaining + 2);
          this.phase = 'chunk-size';
          break;
        }
        case 'trailers': {
          const end = this.buffer.indexOf(CRLF);
          if (end === -1) return undefined;
          if (end > 0) {
            this.buffer = this.buffer.subarray(end + 2);
            break;
          }
          const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
          return this.finish(body, 2);
        }
      }
    }
  }

  private parseHead(): boolean {
    const end = this.buffer.indexOf(HEAD_END);
    if (end === -1) {
      if (this.buffer.length > HEAD_MAX_BYTES) throw new Error('response head too large');
      return false;
    }
    const head = this.buffer.toString('latin1', 0, end);
    this.buffer = this.buffer.subarray(end + 4);
    const match = STATUS_LINE.exec(head);
    if (!match) throw new Error(`malformed status line: ${head.slice(0, 100)}`);
    this.status = Number(match[1]);
    // Only the framing is read now; the rest of the headers when someone asks (most never do).
    this.head = head;
    const lower = head.toLowerCase();
    if (this.status >= 100 && this.status < 200) return true; // an interim answer: the real one follows
    const length = headerIn(lower, 'content-length');
    if (this.noBody || this.status === 204 || this.status === 304) {
      this.phase = 'length';
      this.remaining = 0;
    } else if (headerIn(lower, 'transfer-encoding')?.includes('chunked')) {
      this.phase = 'chunk-size';
    } else if (length !== undefined) {
      this.remaining = Number(length);
      if (!Number.isSafeInteger(this.remaining) || this.remaining < 0 || length === '') throw new Error('malformed content-length');
      this.phase = 'length';
    } else {
      throw new Error('an answer with neither content-length nor chunked encoding');
    }
    this.closes = headerIn(lower, 'connection') === 'close';
    return true;
  }

  private finish(body: Buffer, consumed: number): HttpReply {
    const rest = this.buffer.subarray(consumed);
    if (rest.length > 0) throw new Error('bytes after the answer (the client never pipelines)');
    const reply = new Reply(this.status, this.head, body, this.closes);
    this.reset(this.noBody);
    return reply;
  }
}
