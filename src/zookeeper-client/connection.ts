/**
 * One TCP connection to one ZooKeeper server: the session handshake, then requests answered in
 * the order sent (the server replies in xid order: a reply that is not the oldest pending one is a
 * broken connection), pings while idle, notifications handed up. Whatever ends the socket fails
 * every pending request with CONNECTIONLOSS, once; reconnecting is the session's job (session.ts).
 *
 * Bounded: a frame past `maxFrameBytes` closes the connection; silence past the read timeout
 * (2/3 of the negotiated session timeout, as ClientCnxn uses) closes it.
 */
import { createConnection, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { JuteReader, JuteWriter } from './jute.ts';
import {
  OpCode, readConnectResponse, readReplyHeader, readWatcherEvent, writeConnectRequest, Xid,
  type ConnectRequest, type ConnectResponse, type ReplyHeader, type WatcherEvent,
} from './records.ts';

export interface Reply {
  readonly header: ReplyHeader;
  readonly body: JuteReader;
  /** Where this reply came in the session's stream of frames (see FrameCounter). */
  readonly seq: number;
}

/**
 * Counts the frames a session read, over all its connections: a notification numbered below a
 * reply came before it on the wire, so its change was applied at or before the reply's zxid
 * (servers before 3.9 send notifications with zxid -1; this is how a caller dates them).
 */
export interface FrameCounter {
  n: number;
}

export interface ConnectionHandlers {
  notification(event: WatcherEvent, zxid: bigint, seq: number): void;
  /** The connection ended (socket closed, error, timeout, protocol violation); called once. */
  closed(reason: string): void;
}

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly request: ConnectRequest;
  readonly connectTimeoutMs: number;
  readonly maxFrameBytes: number;
  readonly frames: FrameCounter;
  /** TLS to the server's secureClientPort (verified against `ca`; `cert`/`key` when it asks for a client certificate). */
  readonly tls?: ZkTlsOptions;
}

export interface ZkTlsOptions {
  /** PEM CA bundle the server's certificate is verified against (its name must match the host); Node's roots when absent. */
  readonly ca?: string | Buffer;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
}

interface Pending {
  readonly xid: number;
  resolve(reply: Reply): void;
}

/** A connect attempt that the server answered with an expired session (timeout <= 0). */
export class SessionExpiredError extends Error {
  override readonly name = 'SessionExpiredError';
}

/** A request past the bound its caller gave (the server's jute.maxbuffer): it was not sent. */
export class RequestTooLargeError extends Error {
  override readonly name = 'RequestTooLargeError';
  constructor(readonly bytes: number, readonly maxBytes: number) {
    super(`the request is ${bytes} bytes, over ZooKeeper's jute.maxbuffer of ${maxBytes}`);
  }
}

export class Connection {
  private readonly pending: Pending[] = [];
  private readonly authWaiters: Array<(err: number) => void> = [];
  private chunks: Buffer[] = [];
  private buffered = 0;
  private pingTimer: NodeJS.Timeout | undefined;
  private lastReceivedMs = Date.now();
  private lastSentMs = Date.now();
  private ended = false;

  private constructor(
    private readonly socket: Socket,
    readonly session: ConnectResponse,
    private readonly handlers: ConnectionHandlers,
    private readonly maxFrameBytes: number,
    private readonly frames: FrameCounter,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => this.end('socket closed'));
    socket.on('error', (error) => this.end(`socket error: ${error.message}`));
    const readTimeoutMs = Math.max(1, Math.floor((session.timeoutMs * 2) / 3));
    const pingEveryMs = Math.max(1, Math.floor(readTimeoutMs / 2));
    this.pingTimer = setInterval(() => {
      const now = Date.now();
      if (now - this.lastReceivedMs > readTimeoutMs) return this.end(`no answer from the server for ${readTimeoutMs} ms`);
      if (now - this.lastSentMs >= pingEveryMs) this.write(new JuteWriter(8).int(Xid.ping).int(OpCode.ping));
    }, Math.max(10, Math.floor(pingEveryMs / 2)));
    this.pingTimer.unref();
  }

  /** Opens the socket and runs the handshake; rejects on refusal, timeout or an expired session. */
  static open(options: ConnectOptions, handlers: ConnectionHandlers): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const { tls } = options;
      const socket: Socket = tls === undefined
        ? createConnection({ host: options.host, port: options.port })
        : tlsConnect({
          host: options.host, port: options.port, ca: tls.ca, cert: tls.cert, key: tls.key,
          // SNI takes a host name only; an IP address is still checked against the certificate's IP SANs.
          ...(isIP(options.host) === 0 ? { servername: options.host } : {}),
        });
      socket.setNoDelay(true);
      let got = Buffer.alloc(0);
      const fail = (why: string | Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(typeof why === 'string' ? new Error(why) : why);
      };
      const timer = setTimeout(() => fail(`no session from ${options.host}:${options.port} within ${options.connectTimeoutMs} ms`), options.connectTimeoutMs);
      const onData = (chunk: Buffer): void => {
        got = Buffer.concat([got, chunk]);
        if (got.length < 4) return;
        const length = got.readInt32BE(0);
        if (length < 0 || length > options.maxFrameBytes) return fail(`bad connect response length ${length}`);
        if (got.length < 4 + length) return;
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('error', fail);
        socket.off('close', onClose);
        let session: ConnectResponse;
        try {
          session = readConnectResponse(new JuteReader(got.subarray(4, 4 + length)));
        } catch (error) {
          return fail(error as Error);
        }
        if (session.timeoutMs <= 0) return fail(new SessionExpiredError('the session has expired'));
        const connection = new Connection(socket, session, handlers, options.maxFrameBytes, options.frames);
        const rest = got.subarray(4 + length);
        if (rest.length > 0) connection.onData(rest);
        resolve(connection);
      };
      const onClose = (): void => fail(`${options.host}:${options.port} closed the connection during the handshake`);
      socket.on('data', onData);
      socket.once('error', fail);
      socket.once('close', onClose);
      socket.once(tls === undefined ? 'connect' : 'secureConnect', () => {
        const w = new JuteWriter(64);
        writeConnectRequest(w, options.request);
        socket.write(w.framed());
      });
    });
  }

  get open(): boolean {
    return !this.ended;
  }

  /**
   * Sends one request with its header; resolves with the reply (header + body), or with a
   * CONNECTIONLOSS header (err -4) if the connection ends first. A request over `maxBytes` is not
   * sent (rejects with RequestTooLargeError): a ZooKeeper server closes the connection of a
   * client that sends a packet over its jute.maxbuffer, failing every other request on it too.
   */
  request(xid: number, opCode: number, body?: (w: JuteWriter) => void, maxBytes = Number.POSITIVE_INFINITY): Promise<Reply> {
    if (this.ended) return Promise.resolve(lost(xid, this.frames.n));
    const w = new JuteWriter(128).int(xid).int(opCode);
    body?.(w);
    if (w.size > maxBytes) return Promise.reject(new RequestTooLargeError(w.size, maxBytes));
    return new Promise((resolve) => {
      this.pending.push({ xid, resolve });
      this.write(w);
    });
  }

  /** An auth packet (xid -4): the server answers it out of the request order; resolves with its err. */
  auth(scheme: string, credential: Uint8Array): Promise<number> {
    if (this.ended) return Promise.resolve(-4);
    const w = new JuteWriter(64).int(Xid.auth).int(OpCode.auth).int(0).ustring(scheme).buffer(credential);
    return new Promise((resolve) => {
      this.authWaiters.push(resolve);
      this.write(w);
    });
  }

  close(reason = 'closed by the client'): void {
    this.end(reason);
  }

  private write(w: JuteWriter): void {
    this.lastSentMs = Date.now();
    this.socket.write(w.framed());
  }

  private onData(chunk: Buffer): void {
    this.lastReceivedMs = Date.now();
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (!this.ended && this.buffered >= 4) {
      if (this.chunks[0]!.length < 4) this.chunks = [Buffer.concat(this.chunks)];
      const length = this.chunks[0]!.readInt32BE(0);
      if (length < 0 || length > this.maxFrameBytes) return this.end(`frame of ${length} bytes is past the bound`);
      // Joined only once the whole frame is in: a large reply in many chunks is copied once.
      if (this.buffered < 4 + length) return;
      const head = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      const frame = head.subarray(4, 4 + length);
      const rest = head.subarray(4 + length);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
      this.onFrame(frame);
    }
  }

  private onFrame(frame: Buffer): void {
    try {
      const body = new JuteReader(frame);
      const seq = ++this.frames.n;
      const header = readReplyHeader(body);
      if (header.xid === Xid.ping) return;
      if (header.xid === Xid.notification) {
        const event = readWatcherEvent(body);
        if (event !== undefined) this.handlers.notification(event, header.zxid, seq);
        return;
      }
      if (header.xid === Xid.auth) {
        this.authWaiters.shift()?.(header.err);
        if (header.err !== 0) this.end('authentication failed');
        return;
      }
      // Peeked, not taken: on a mismatch end() still fails it with the rest.
      const next = this.pending[0];
      if (next === undefined || next.xid !== header.xid) return this.end(`reply xid ${header.xid} is not the oldest pending (${next?.xid})`);
      this.pending.shift();
      next.resolve({ header, body, seq });
    } catch (error) {
      this.end(`undecodable reply: ${(error as Error).message}`);
    }
  }

  private end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.pingTimer);
    this.socket.destroy();
    for (const p of this.pending.splice(0)) p.resolve(lost(p.xid, ++this.frames.n));
    for (const waiter of this.authWaiters.splice(0)) waiter(-4);
    this.handlers.closed(reason);
  }
}

function lost(xid: number, seq: number): Reply {
  return { header: { xid, zxid: -1n, err: -4 }, body: new JuteReader(new Uint8Array(0)), seq };
}
