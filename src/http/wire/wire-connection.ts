/**
 * One client connection on the direct wire path: requests are framed off the socket
 * (request-framer.ts), plain znode calls are answered straight from it, one at a time and in
 * order (so pipelined requests get their answers in the order sent), and the first request this
 * path does not take hands the whole connection — with the bytes read so far — to node:http.
 *
 * Invariants: at most one call runs at a time, and its answer is written before the next request
 * is framed; a body is buffered only after its call has checked the declared length against its
 * own limit (readBody), so a body over the limit is refused (413) before it is sent, and skipped
 * as it arrives; the deadlines node:http keeps (head, whole request, idle keep-alive) are kept
 * here too, checked by the server's sweep (wire-server.ts), not a timer per request.
 */
import type { Socket } from 'node:net';
import { zkError } from '../../core/errors.ts';
import type { AppDeps } from '../app-deps.ts';
import { checkDeclaredLength } from '../body.ts';
import { isClientAbort } from '../edge/client-abort.ts';
import { loggableTarget } from '../edge/loggable-target.ts';
import { RequestRejected } from '../errors.ts';
import { answerDirect, directRequestOf, PlainCallRequest } from '../fast-path.ts';
import type { Reply } from '../reply.ts';
import { ByteQueue } from './byte-queue.ts';
import { beginsRequest, frameHead } from './request-framer.ts';
import type { RequestHead } from './request-head.ts';
import { replyBytes } from './reply-head.ts';

/** A request as framed off the wire; its body is read through the connection. */
class WireCallRequest extends PlainCallRequest {
  constructor(
    private readonly head: RequestHead, rawPath: string, search: string, private readonly socket: Socket,
    private readonly read: (declared: string | undefined, limit: number) => Uint8Array | Promise<Uint8Array>,
  ) {
    super(head.method, rawPath, search);
  }

  header(name: string): string | undefined {
    return this.head.header(name);
  }

  readBody(limit: number): Uint8Array | Promise<Uint8Array> {
    return this.read(this.head.header('content-length'), limit);
  }

  protected address(): string | undefined {
    return this.socket.remoteAddress;
  }
}

/** node:http's deadlines, read from its server on every sweep (0: none). */
export interface WireTimeouts {
  readonly headersMs: number;
  readonly requestMs: number;
  readonly keepAliveMs: number;
}

export interface WireOptions {
  /** The server's keep-alive timeout, as the answers advertise it. */
  keepAliveMs(): number;
  /** Gives the socket to node:http (its own connection listener). */
  handOff(socket: Socket): void;
  /** Refuses what node:http would, as it does (a 'clientError', else a status and close). */
  refuse(socket: Socket, code: RefusalCode): void;
  /** The connection is over (closed or handed on). */
  done(connection: WireConnection): void;
}

export type RefusalCode = 'ERR_HTTP_REQUEST_TIMEOUT' | 'HPE_INVALID_EOF_STATE';

/** What a body not yet taken is waiting for: its call to ask ('held'), its bytes ('wanted'), or to be dropped ('skip'). */
interface PendingBody {
  left: number;
  mode: 'held' | 'wanted' | 'skip';
  resolve?: (bytes: Uint8Array) => void;
  reject?: (error: unknown) => void;
}

/** Bytes held before the socket stops being read: pipelined requests, or a body its call has not asked for yet. */
const READ_AHEAD_BYTES = 64 * 1024;
/** node:http closes an idle kept-alive socket this long after the timeout it advertises (so a request sent just in time is not cut). */
const KEEP_ALIVE_GRACE_MS = 1000;
const EMPTY = new Uint8Array(0);

/** A body that will not come: a client mistake (counted as a 400), not a failure of the server's (a 500 and a stack in the log). */
const aborted = () => new RequestRejected(zkError('BADARGUMENTS', 'the connection closed before the request body arrived'));

const asBytes = (bytes: Buffer): Uint8Array => new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);

export class WireConnection {
  private readonly queue = new ByteQueue();
  /** A call is running; its answer is not written yet. */
  private busy = false;
  private closing = false;
  private over = false;
  private body: PendingBody | undefined;
  /** The request being answered, or last answered: what a failure to answer logs. */
  private answering: RequestHead | undefined;
  /** When the request being read began (-1: none: idle, or all of it read); the head's and the request's deadlines run from it. */
  private messageStartMs: number;
  private headDone = false;
  /** Since when the connection has been idle between requests (-1: it is not). */
  private idleSinceMs = -1;

  constructor(private readonly socket: Socket, private readonly deps: AppDeps, private readonly options: WireOptions) {
    // As node:http, the first request's head is due within the head timeout of the connection opening.
    this.messageStartMs = deps.nowMs();
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  /** Stops taking requests: an idle connection closes now, a busy one after its answer. */
  close(): void {
    this.closing = true;
    if (!this.busy) this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** What is overdue at `nowMs`: the request being read (408), an idle kept-alive connection, or nothing. */
  overdue(nowMs: number, timeouts: WireTimeouts): 'request' | 'idle' | undefined {
    if (this.messageStartMs !== -1) {
      const ageMs = nowMs - this.messageStartMs;
      if (!this.headDone && timeouts.headersMs > 0 && ageMs >= timeouts.headersMs) return 'request';
      return timeouts.requestMs > 0 && ageMs >= timeouts.requestMs ? 'request' : undefined;
    }
    const idle = this.idleSinceMs !== -1 && !this.busy && timeouts.keepAliveMs > 0;
    return idle && nowMs - this.idleSinceMs >= timeouts.keepAliveMs + KEEP_ALIVE_GRACE_MS ? 'idle' : undefined;
  }

  /** The request took too long: node:http refuses it (408) and closes. */
  timedOut(): void {
    this.finish();
    this.options.refuse(this.socket, 'ERR_HTTP_REQUEST_TIMEOUT');
  }

  private readonly onData = (chunk: Buffer): void => {
    this.queue.push(chunk);
    this.pump();
  };

  /**
   * The client ended its side. node:http (not half-open) ends the connection too: a request cut
   * short is refused (400), an answer not yet written is dropped.
   */
  private readonly onEnd = (): void => {
    if (this.over) return;
    const cutShort = this.body !== undefined || (!this.busy && beginsRequest(this.queue));
    this.finish();
    if (cutShort) this.options.refuse(this.socket, 'HPE_INVALID_EOF_STATE');
    else this.socket.end();
  };

  /** Resets, broken pipes: the client is gone, which is no error of the server's. */
  private readonly onError = (error: Error): void => {
    this.deps.logger.debug({ err: error.message, event: 'client-gone' }, 'wire connection failed');
    this.socket.destroy();
  };

  private readonly onClose = (): void => {
    this.finish();
  };

  /** Stops reading and answering; a body its call waits for will not come. */
  private finish(): void {
    if (this.over) return;
    this.over = true;
    this.closing = true;
    this.socket.off('data', this.onData).off('end', this.onEnd).off('close', this.onClose);
    const waiting = this.body?.reject;
    this.body = undefined;
    if (waiting) {
      this.deps.logger.debug({ method: this.answering?.method, url: loggableTarget(this.answering?.target ?? ''), event: 'client-aborted' }, 'the connection closed before the request body arrived');
      waiting(aborted());
    }
    this.options.done(this);
  }

  /** Moves the connection on as far as the bytes queued allow. */
  private pump(): void {
    if (this.over) return;
    if (this.body !== undefined && !this.feedBody()) return;
    if (this.busy || this.closing) {
      if (this.queue.length > READ_AHEAD_BYTES) this.socket.pause();
      return;
    }
    if (this.queue.length > 0) this.startNext();
  }

  /** Feeds the pending body what has arrived; true once all of it has. */
  private feedBody(): boolean {
    const body = this.body!;
    if (body.mode === 'skip') {
      const dropped = Math.min(body.left, this.queue.length);
      this.queue.skip(dropped);
      body.left -= dropped;
    } else if (body.mode === 'wanted' && this.queue.length >= body.left) {
      const bytes = this.queue.take(body.left);
      body.left = 0;
      body.resolve!(asBytes(bytes));
    }
    if (body.left > 0) {
      // A body no call has asked for yet is not read past the read-ahead.
      if (body.mode === 'held' && this.queue.length > READ_AHEAD_BYTES) this.socket.pause();
      return false;
    }
    this.requestRead();
    return true;
  }

  /** All of the request is in: its deadlines stop. */
  private requestRead(): void {
    this.body = undefined;
    this.messageStartMs = -1;
    this.headDone = false;
  }

  /** Frames the next request and runs its call, or hands the connection on. */
  private startNext(): void {
    if (this.messageStartMs === -1) {
      this.messageStartMs = this.deps.nowMs();
      this.idleSinceMs = -1;
    }
    const head = frameHead(this.queue);
    if (head === 'incomplete') return;
    const direct = head === 'hand-off' ? undefined : directRequestOf(this.deps, head.method, head.target, (name) => head.header(name));
    if (head === 'hand-off' || direct === undefined) {
      this.giveToNodeHttp();
      return;
    }
    this.queue.skip(head.headLength);
    this.headDone = true;
    if (head.bodyLength > 0) this.body = { left: head.bodyLength, mode: 'held' };
    else this.requestRead();
    this.busy = true;
    this.answering = head;
    const req = new WireCallRequest(head, direct.rawPath, direct.search, this.socket, this.readBody);
    answerDirect(this.deps, direct, req, head.target).then(this.onReply, this.onSendFailed);
  }

  /** A call's body: refused over its limit before any of it is buffered, else taken whole once it is all in. */
  private readonly readBody = (declared: string | undefined, limit: number): Uint8Array | Promise<Uint8Array> => {
    // The client left before its call asked for the body: the call ends here, nothing written.
    if (this.over) throw aborted();
    const body = this.body;
    if (body === undefined) return EMPTY;
    if (body.mode !== 'held') throw new Error('a call read its request body twice');
    if (this.socket.isPaused()) this.socket.resume();
    try {
      checkDeclaredLength(declared, limit);
    } catch (error) {
      body.mode = 'skip';
      this.feedBody();
      throw error;
    }
    if (this.queue.length >= body.left) {
      const bytes = this.queue.take(body.left);
      this.requestRead();
      return asBytes(bytes);
    }
    return new Promise<Uint8Array>((resolve, reject) => {
      body.mode = 'wanted';
      body.resolve = resolve;
      body.reject = reject;
    });
  };

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
    // A client that left is not the node failing: no stack, debug level (as the other carriers).
    if (isClientAbort(error) || this.socket.destroyed) {
      this.deps.logger.debug({ method: head?.method, url: loggableTarget(head?.target ?? ''), reason: String(error), event: 'client-aborted' }, 'the client went away before its answer');
    } else {
      this.deps.logger.error({ err: error, method: head?.method, url: loggableTarget(head?.target ?? ''), event: 'response-failed' }, 'could not send the answer');
    }
    this.socket.destroy();
  };

  private send(head: RequestHead, reply: Reply): void {
    this.busy = false;
    // A body the call never asked for (a read, a refusal) is skipped as it arrives.
    if (this.body?.mode === 'held') this.body.mode = 'skip';
    const { socket } = this;
    // The client went away (or ended its side) while the call ran: nothing to answer.
    if (this.over || !socket.writable) return;
    const keepAlive = head.keepAlive && !this.closing;
    const out = replyBytes(reply, head.method, this.deps.backend.appliedZxid, keepAlive ? this.options.keepAliveMs() : undefined, Date.now());
    if (out.bytes === undefined) socket.write(out.text);
    else {
      socket.cork();
      socket.write(out.text);
      socket.write(out.bytes);
      socket.uncork();
    }
    if (!keepAlive) {
      this.finish();
      socket.end();
      return;
    }
    if (socket.isPaused()) socket.resume();
    if (this.body === undefined && this.queue.length === 0) this.idleSinceMs = this.deps.nowMs();
    // A client that does not read its answers gets no more of them until it does.
    if (socket.writableNeedDrain) socket.once('drain', () => this.pump());
    else this.pump();
  }

  /** node:http takes the socket from here on, starting with the bytes not yet answered. */
  private giveToNodeHttp(): void {
    const { socket } = this;
    const unread = this.queue.drain();
    this.finish();
    socket.off('error', this.onError);
    this.options.handOff(socket);
    // node:http reads the socket natively from now on; what was read already it gets as data.
    socket.emit('data', unread);
    if (socket.isPaused()) socket.resume();
  }
}
