/**
 * One client connection on the direct wire path: requests are parsed off the socket, plain
 * znode calls are answered straight from it, one at a time and in order (so pipelined requests
 * get their answers in the order sent), and the first request this path does not take hands
 * the whole connection — with the bytes read so far — to node:http for good.
 */
import type { Socket } from 'node:net';
import type { AppDeps } from '../app-deps.ts';
import { checkDeclaredLength, multiBodyLimit } from '../body.ts';
import { answerDirect, directRequestOf, PlainCallRequest, type DirectRequest } from '../fast-path.ts';
import { parseRequestHead, type RequestHead } from './request-head.ts';
import type { Reply } from '../reply.ts';
import { replyBytes } from './reply-head.ts';

/** A request as parsed off the wire, its body already read. */
class WireCallRequest extends PlainCallRequest {
  constructor(private readonly head: RequestHead, rawPath: string, search: string, private readonly body: Uint8Array, private readonly socket: Socket) {
    super(head.method, rawPath, search);
  }

  header(name: string): string | undefined {
    return this.head.header(name);
  }

  readBody(limit: number): Uint8Array {
    checkDeclaredLength(this.head.header('content-length'), limit);
    return this.body;
  }

  protected address(): string | undefined {
    return this.socket.remoteAddress;
  }
}

export interface WireOptions {
  /** Idle time after which a kept-alive connection is closed (node:http's keepAliveTimeout). */
  readonly keepAliveMs: number;
}

/** Bytes of unanswered pipelined requests held before the socket stops being read. */
const READ_AHEAD_BYTES = 64 * 1024;
const EMPTY = Buffer.alloc(0);

export class WireConnection {
  private pending: Buffer = EMPTY;
  /** A request is being answered; later ones wait in `pending`. */
  private busy = false;
  private closing = false;
  /** The request whose head has arrived but not all of its body. */
  private waiting: { readonly head: RequestHead; readonly direct: DirectRequest } | undefined;
  /** The request being answered, or last answered (one at a time per connection): what a failure to answer logs. */
  private answering: RequestHead | undefined;
  private readonly bodyLimit: number;

  constructor(
    private readonly socket: Socket,
    private readonly deps: AppDeps,
    private readonly options: WireOptions,
    /** Gives the socket to node:http (its own connection listener). */
    private readonly handOff: (socket: Socket) => void,
    private readonly onDone: (connection: WireConnection) => void,
  ) {
    // Past this a body is not buffered here: node:http streams it and the call refuses it (413).
    this.bodyLimit = multiBodyLimit(deps.config.maxDataBytes);
    socket.on('data', this.onData);
    socket.on('timeout', this.onTimeout);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.setTimeout(options.keepAliveMs);
  }

  /** Stops taking requests: an idle connection closes now, a busy one after its answer. */
  close(): void {
    this.closing = true;
    if (!this.busy) this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    if (this.busy) {
      if (this.pending.length > READ_AHEAD_BYTES) this.socket.pause();
      return;
    }
    this.next();
  };

  private readonly onTimeout = (): void => {
    // Idle between requests (or stalled mid-request): close. An answer being made keeps it open.
    if (!this.busy) this.socket.destroy();
  };

  private readonly onError = (): void => {
    this.socket.destroy();
  };

  private readonly onClose = (): void => {
    this.detach();
  };

  private detach(): void {
    this.socket.off('data', this.onData).off('timeout', this.onTimeout).off('error', this.onError).off('close', this.onClose);
    this.onDone(this);
  }

  /** Answers the next complete request in `pending`, or hands the connection on. */
  private next(): void {
    if (this.pending.length === 0 || this.closing) return;
    // A head already taken waits for the rest of its body: it is not parsed again per chunk.
    let waiting = this.waiting;
    if (waiting === undefined) {
      const head = parseRequestHead(this.pending);
      if (head === 'incomplete') return;
      const direct = head === 'unsupported' || head.bodyLength > this.bodyLimit
        ? undefined
        : directRequestOf(this.deps, head.method, head.target, (name) => head.header(name));
      if (head === 'unsupported' || direct === undefined) {
        this.giveToNodeHttp();
        return;
      }
      waiting = { head, direct };
    }
    const { head, direct } = waiting;
    const end = head.headLength + head.bodyLength;
    this.waiting = this.pending.length < end ? waiting : undefined;
    if (this.waiting) return;
    // A view, not a copy (an ArrayBuffer per request was a visible share of GC): the tree keeps
    // its own copy of what it stores (compactBytes), so nothing holds the chunk past the call.
    const body = head.bodyLength === 0 ? EMPTY : this.pending.subarray(head.headLength, end);
    this.pending = end === this.pending.length ? EMPTY : this.pending.subarray(end);
    this.busy = true;
    const req = new WireCallRequest(head, direct.rawPath, direct.search, body, this.socket);
    this.answering = head;
    answerDirect(this.deps, direct, req, head.target).then(this.onReply, this.onSendFailed);
  }

  /** Handlers made once, not two closures per request; one `then`, not a `then` and a `catch`. */
  private readonly onReply = (reply: Reply): void => {
    try {
      this.send(this.answering!, reply);
    } catch (error) {
      this.onSendFailed(error);
    }
  };

  private readonly onSendFailed = (error: unknown): void => {
    const head = this.answering;
    this.deps.logger.error({ err: error, method: head?.method, url: head?.target, event: 'response-failed' }, 'could not send the answer');
    this.socket.destroy();
  };

  private send(head: RequestHead, reply: Reply): void {
    this.busy = false;
    const { socket } = this;
    if (socket.destroyed) return;
    const keepAlive = head.keepAlive && !this.closing;
    const out = replyBytes(reply, head.method, this.deps.backend.appliedZxid, keepAlive ? this.options.keepAliveMs : undefined, Date.now());
    if (out.bytes === undefined) socket.write(out.text);
    else {
      socket.cork();
      socket.write(out.text);
      socket.write(out.bytes);
      socket.uncork();
    }
    if (!keepAlive) {
      socket.end();
      return;
    }
    if (socket.isPaused()) socket.resume();
    // A client that does not read its answers gets no more of them until it does.
    if (socket.writableNeedDrain) socket.once('drain', () => this.next());
    else this.next();
  }

  /** node:http takes the socket from here on, starting with the bytes not yet answered. */
  private giveToNodeHttp(): void {
    const { socket, pending } = this;
    this.pending = EMPTY;
    this.detach();
    socket.setTimeout(0);
    this.handOff(socket);
    // node:http reads the socket natively from now on; what was read already it gets as data.
    socket.emit('data', pending);
    if (socket.isPaused()) socket.resume();
  }
}
