// A minimal ZooKeeper wire-protocol (jute) client: one session over one TCP socket, requests
// answered in order, pings while idle. Just enough to drive the oracle: addauth (auth packets,
// xid -4) and watch notifications (xid -1, handed to onNotification) for the ACL oracle; no
// reconnect.
// Why not node-zookeeper-client: its response decoding is a fixed switch over the classic opcodes
// (an unknown opcode makes it destroy the socket), so create2 (15), createContainer (19),
// createTTL (21) and multiRead (22) cannot be sent through it, and its multi uses plain create
// (no Stat in the results). The jute layouts below follow zookeeper.jute of ZooKeeper 3.8.
import { createConnection, type Socket } from 'node:net';

export const OpCode = {
  create: 1, delete: 2, exists: 3, getData: 4, setData: 5, getACL: 6, setACL: 7, getChildren: 8, ping: 11,
  getChildren2: 12, check: 13, multi: 14, create2: 15, createContainer: 19, createTTL: 21,
  multiRead: 22, auth: 100, closeSession: -11, error: -1,
} as const;

/** A watch notification as the server sends it (WatcherEvent): type 1 created … 4 children changed. */
export interface Notification { type: number; state: number; path: string }

const AUTH_XID = -4;
const NOTIFICATION_XID = -1;

export interface RawStat {
  czxid: bigint; mzxid: bigint; ctime: number; mtime: number; version: number; cversion: number;
  aversion: number; ephemeralOwner: bigint; dataLength: number; numChildren: number; pzxid: bigint;
}

export class JuteWriter {
  private readonly parts: Buffer[] = [];
  int(n: number): this { const b = Buffer.alloc(4); b.writeInt32BE(n); this.parts.push(b); return this; }
  long(n: bigint): this { const b = Buffer.alloc(8); b.writeBigInt64BE(n); this.parts.push(b); return this; }
  bool(v: boolean): this { this.parts.push(Buffer.from([v ? 1 : 0])); return this; }
  buffer(data: Uint8Array | null): this {
    if (data === null) return this.int(-1);
    this.int(data.length);
    this.parts.push(Buffer.from(data));
    return this;
  }
  ustring(s: string): this { return this.buffer(Buffer.from(s, 'utf8')); }
  /** ACL list [world:anyone, ALL]. */
  openAcl(): this { return this.int(1).int(31).ustring('world').ustring('anyone'); }
  toBuffer(): Buffer { return Buffer.concat(this.parts); }
}

export class JuteReader {
  private offset = 0;
  constructor(private readonly buf: Buffer) {}
  int(): number { const v = this.buf.readInt32BE(this.offset); this.offset += 4; return v; }
  long(): bigint { const v = this.buf.readBigInt64BE(this.offset); this.offset += 8; return v; }
  bool(): boolean { const v = this.buf[this.offset] !== 0; this.offset += 1; return v; }
  buffer(): Buffer {
    const len = this.int();
    if (len < 0) return Buffer.alloc(0);
    const v = this.buf.subarray(this.offset, this.offset + len);
    this.offset += len;
    return Buffer.from(v);
  }
  ustring(): string { return this.buffer().toString('utf8'); }
  strings(): string[] {
    const n = this.int();
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.ustring());
    return out;
  }
  stat(): RawStat {
    return {
      czxid: this.long(), mzxid: this.long(), ctime: Number(this.long()), mtime: Number(this.long()),
      version: this.int(), cversion: this.int(), aversion: this.int(), ephemeralOwner: this.long(),
      dataLength: this.int(), numChildren: this.int(), pzxid: this.long(),
    };
  }
  get remaining(): number { return this.buf.length - this.offset; }
}

export interface Reply { err: number; zxid: bigint; body: JuteReader }
interface Pending { resolve(r: Reply): void; reject(e: Error): void }

const REQUEST_TIMEOUT_MS = 10_000;

export class ZkWire {
  private inbox = Buffer.alloc(0);
  private nextXid = 1;
  private readonly pending = new Map<number, Pending>();
  private onConnect: ((body: JuteReader) => void) | null = null;
  private pinger: NodeJS.Timeout | null = null;
  private closed = false;
  /** Called with every watch notification, in the order the server sent them. */
  onNotification: ((n: Notification) => void) | null = null;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk) => this.receive(chunk));
    socket.on('error', (err) => this.failAll(err));
    socket.on('close', () => this.failAll(new Error('ZooKeeper connection closed')));
  }

  /** Opens a session (requested timeout sessionTimeoutMs) on 127.0.0.1:port. */
  static async connect(port: number, sessionTimeoutMs = 30_000): Promise<ZkWire> {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setNoDelay(true);
    const wire = new ZkWire(socket);
    const connected = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('ZooKeeper connect timed out')), REQUEST_TIMEOUT_MS);
      wire.onConnect = (body): void => {
        clearTimeout(timer);
        body.int(); // protocolVersion
        resolve(body.int()); // negotiated timeOut
      };
      socket.once('error', reject);
    });
    const request = new JuteWriter().int(0).long(0n).int(sessionTimeoutMs).long(0n)
      .buffer(Buffer.alloc(16)).bool(false).toBuffer();
    socket.write(frame(request));
    const negotiatedMs = await connected;
    wire.pinger = setInterval(() => wire.ping(), Math.max(500, Math.floor(negotiatedMs / 3)));
    wire.pinger.unref();
    return wire;
  }

  /** Sends one request and resolves with its reply header and body (err != 0 → empty body). */
  request(type: number, body: Buffer): Promise<Reply> {
    if (this.closed) return Promise.reject(new Error('ZooKeeper session closed'));
    const xid = this.nextXid++;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(xid);
        reject(new Error(`ZooKeeper request ${type} timed out`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(xid, {
        resolve: (r) => { clearTimeout(timer); resolve(r); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      this.socket.write(frame(Buffer.concat([new JuteWriter().int(xid).int(type).toBuffer(), body])));
    });
  }

  /**
   * addauth: sends an auth packet (xid -4) and resolves with the server's error code (0 = OK).
   * The server answers it before reading the next request, so the identity holds for every
   * request sent after this resolves. One at a time: the reply carries no other id.
   */
  addAuth(scheme: string, auth: Buffer): Promise<number> {
    if (this.closed) return Promise.reject(new Error('ZooKeeper session closed'));
    if (this.pending.has(AUTH_XID)) return Promise.reject(new Error('one addAuth at a time'));
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(AUTH_XID);
        reject(new Error('ZooKeeper auth timed out'));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(AUTH_XID, {
        resolve: (r) => { clearTimeout(timer); resolve(r.err); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      const body = new JuteWriter().int(AUTH_XID).int(OpCode.auth).int(0).ustring(scheme).buffer(auth).toBuffer();
      this.socket.write(frame(body));
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.pinger !== null) clearInterval(this.pinger);
    await this.request(OpCode.closeSession, Buffer.alloc(0)).catch(() => undefined);
    this.closed = true;
    this.socket.destroy();
  }

  private ping(): void {
    if (!this.closed) this.socket.write(frame(new JuteWriter().int(-2).int(OpCode.ping).toBuffer()));
  }

  private receive(chunk: Buffer): void {
    this.inbox = Buffer.concat([this.inbox, chunk]);
    while (this.inbox.length >= 4) {
      const len = this.inbox.readInt32BE(0);
      if (this.inbox.length < 4 + len) return;
      const packet = this.inbox.subarray(4, 4 + len);
      this.inbox = this.inbox.subarray(4 + len);
      this.dispatch(new JuteReader(Buffer.from(packet)));
    }
  }

  private dispatch(reader: JuteReader): void {
    if (this.onConnect !== null) {
      const handler = this.onConnect;
      this.onConnect = null;
      handler(reader);
      return;
    }
    const xid = reader.int();
    const zxid = reader.long();
    const err = reader.int();
    if (xid === NOTIFICATION_XID) {
      const n = { type: reader.int(), state: reader.int(), path: reader.ustring() };
      this.onNotification?.(n);
      return;
    }
    const waiter = this.pending.get(xid);
    if (waiter === undefined) return; // ping replies (-2)
    this.pending.delete(xid);
    waiter.resolve({ err, zxid, body: reader });
  }

  private failAll(err: Error): void {
    this.closed = true;
    if (this.pinger !== null) clearInterval(this.pinger);
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
  }
}

function frame(payload: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeInt32BE(payload.length);
  return Buffer.concat([len, payload]);
}
