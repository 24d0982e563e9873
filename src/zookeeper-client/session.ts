/**
 * One ZooKeeper session across connections: the first connect, then, when a connection ends,
 * reconnects to the next server with the session's id and password and the last zxid seen
 * (a server behind it refuses us: ZooKeeper's read-your-writes across servers), replays the auth
 * packets and re-registers every watch with setWatches2 relative to that zxid, so the server
 * fires what changed while we were away. The session ends when the server answers that it has
 * expired, on close(), or on failed authentication.
 *
 * Requests made while disconnected wait for the reconnect up to `requestTimeoutMs`, then answer
 * CONNECTIONLOSS; a request in flight when the connection ends answers CONNECTIONLOSS (it may or
 * may not have been applied, exactly as with ZooKeeper's own clients).
 */
import { zkError, type ZkError } from '../core/errors.ts';
import { Connection, RequestTooLargeError, SessionExpiredError, type FrameCounter, type Reply, type ZkTlsOptions } from './connection.ts';
import type { JuteWriter } from './jute.ts';
import { OpCode, writeSetWatches2, Xid, type SetWatches2, type WatcherEvent } from './records.ts';
import { WatchRegistry } from './watch-registry.ts';
import { connectionLoss, errorOf } from './zk-errors.ts';

export interface ServerAddress {
  readonly host: string;
  readonly port: number;
}

export interface SessionOptions {
  readonly servers: readonly ServerAddress[];
  readonly sessionTimeoutMs: number;
  /** Re-attach to an existing session (another client's, handed over) rather than open one. */
  readonly sessionId?: bigint;
  readonly password?: Uint8Array;
  /** The newest zxid the session's previous holder saw: a server behind it will not take us. */
  readonly lastZxid?: bigint;
  /** Sent on every connection (ZooKeeper forgets a connection's auth when it closes). */
  readonly auth?: readonly { readonly scheme: string; readonly credential: Uint8Array }[];
  readonly connectTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  /** Connect with TLS (the ensemble's secureClientPort); plain TCP when absent. */
  readonly tls?: ZkTlsOptions;
  readonly maxFrameBytes?: number;
  /**
   * The largest request sent (bytes after the length prefix): the servers' jute.maxbuffer, which
   * is 1048575 (0xfffff) unless they set it. A larger one is answered here (BADARGUMENTS,
   * tooLarge) and not sent: the server would close the connection, and every request on it
   * would fail with CONNECTIONLOSS.
   */
  readonly maxRequestBytes?: number;
  /** The first server tried (later ones in turn); defaults to a random one, to spread clients. */
  readonly firstServer?: number;
  /**
   * Asked before each reconnect attempt (absent: always). While it says no, the session waits;
   * once it has said no for the whole session timeout, the session is given up here (state
   * `closed`, no closeSession sent). A gateway uses it not to fight another gateway that took the
   * session over: ZooKeeper closes the older connection when a session re-attaches elsewhere.
   */
  readonly shouldReconnect?: () => boolean;
}

export type SessionState = 'connecting' | 'connected' | 'disconnected' | 'expired' | 'closed' | 'authFailed';

export interface SessionListener {
  state?(state: SessionState): void;
  /** A watch fired (server paths); `zxid` is the notification header's (-1 from servers before 3.9). */
  watch?(event: WatcherEvent, zxid: bigint, seq: number): void;
}

const RECONNECT_DELAY_MS_MAX = 1000;
const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** ZooKeeper's default jute.maxbuffer (BinaryInputArchive.maxBuffer): the largest packet a server takes. */
export const JUTE_MAXBUFFER_DEFAULT = 0xfffff;

/** How a session reaches its servers: TLS and the request bound, as a connect's options take them (only those set). */
export type EnsembleTransport = Pick<SessionOptions, 'tls' | 'maxRequestBytes'>;

export function transportOf(given: EnsembleTransport): EnsembleTransport {
  return { ...(given.tls ? { tls: given.tls } : {}), ...(given.maxRequestBytes === undefined ? {} : { maxRequestBytes: given.maxRequestBytes }) };
}

export class ZkSession {
  readonly watches = new WatchRegistry();
  private connection: Connection | undefined;
  private stateNow: SessionState = 'connecting';
  private xid = 0;
  private next: number;
  private sessionIdNow: bigint;
  private passwordNow: Uint8Array;
  private lastZxidNow: bigint;
  private negotiatedMs: number;
  private readonly frames: FrameCounter = { n: 0 };
  private readonly connectedWaiters = new Set<() => void>();
  private readonly auth: Array<{ readonly scheme: string; readonly credential: Uint8Array }>;
  /**
   * Notifications heard while a connection is being opened and primed, delivered once the state
   * is settled: the setWatches2 of a reconnect makes ZooKeeper fire what changed meanwhile before
   * it answers, and a listener must hear `connected` before those events (as ZooKeeper's own
   * client delivers SyncConnected first), not events while it still believes it is disconnected.
   */
  private held: Array<() => void> | undefined;

  private constructor(private readonly options: SessionOptions, private readonly listener: SessionListener) {
    if (options.servers.length === 0) throw new Error('a ZooKeeper session needs at least one server');
    this.next = options.firstServer ?? Math.floor(Math.random() * options.servers.length);
    this.sessionIdNow = options.sessionId ?? 0n;
    this.passwordNow = options.password ?? new Uint8Array(16);
    this.lastZxidNow = options.lastZxid ?? 0n;
    this.negotiatedMs = options.sessionTimeoutMs;
    this.auth = [...(options.auth ?? [])];
  }

  /** Connects (trying each server once) or answers why not: CONNECTIONLOSS, SESSIONEXPIRED, AUTHFAILED. */
  static async connect(options: SessionOptions, listener: SessionListener = {}): Promise<ZkSession | ZkError> {
    const session = new ZkSession(options, listener);
    for (let i = 0; i < options.servers.length; i++) {
      const outcome = await session.attempt();
      if (outcome === 'connected') session.setState('connected');
      session.releaseHeld();
      if (outcome === 'connected') return session;
      if (outcome === 'expired') return errorOf(-112);
      if (outcome === 'authFailed') return errorOf(-115);
    }
    return connectionLoss(`no ZooKeeper server answered (${options.servers.map((s) => `${s.host}:${s.port}`).join(', ')})`);
  }

  get state(): SessionState {
    return this.stateNow;
  }

  get sessionId(): bigint {
    return this.sessionIdNow;
  }

  get password(): Uint8Array {
    return this.passwordNow;
  }

  /** The newest zxid any reply carried: what a reconnect (or another gateway) attaches with. */
  get lastZxid(): bigint {
    return this.lastZxidNow;
  }

  get timeoutMs(): number {
    return this.negotiatedMs;
  }

  get server(): ServerAddress | undefined {
    return this.connection?.open ? this.options.servers[(this.next + this.options.servers.length - 1) % this.options.servers.length] : undefined;
  }

  /** Sends one request (after the reconnect in progress, if any); resolves with the reply or an error. */
  async request(opCode: number, body?: (w: JuteWriter) => void): Promise<Reply | ZkError> {
    const ready = await this.whenConnected();
    if (ready !== undefined) return ready;
    const maxBytes = this.options.maxRequestBytes ?? JUTE_MAXBUFFER_DEFAULT;
    const reply = await this.connection!.request(this.nextXid(), opCode, body, maxBytes).catch((error: unknown) => {
      if (error instanceof RequestTooLargeError) return { ...zkError('BADARGUMENTS', error.message), tooLarge: true as const };
      throw error;
    });
    if ('code' in reply) return reply;
    this.seen(reply.header.zxid);
    return reply;
  }

  /**
   * Re-registers watches set elsewhere (another client of the same session), relative to `batch`'s
   * zxid: the server fires at once those whose node changed after it (setWatches2), as on a
   * reconnect. They are then this session's: later reconnects re-register them too.
   */
  async rewatch(batch: SetWatches2): Promise<ZkError | undefined> {
    const ready = await this.whenConnected();
    if (ready !== undefined) return ready;
    const reply = await this.connection!.request(Xid.setWatches, OpCode.setWatches2, (w) => writeSetWatches2(w, batch));
    if (reply.header.err !== 0) return errorOf(reply.header.err);
    for (const path of batch.data) this.watches.add('data', path);
    for (const path of batch.exist) this.watches.add('exist', path);
    for (const path of batch.child) this.watches.add('child', path);
    for (const path of batch.persistent) this.watches.add('persistent', path);
    for (const path of batch.persistentRecursive) this.watches.add('persistentRecursive', path);
    return undefined;
  }

  /** addauth: the identity holds for this session from now on (sent again on every reconnect). */
  async addAuth(scheme: string, credential: Uint8Array): Promise<ZkError | undefined> {
    const ready = await this.whenConnected();
    if (ready !== undefined) return ready;
    const err = await this.connection!.auth(scheme, credential);
    if (err !== 0) return errorOf(err);
    this.auth.push({ scheme, credential });
    return undefined;
  }

  /** Ends the session on the server (its ephemerals go at once) and stops reconnecting. */
  async close(): Promise<void> {
    if (this.stateNow === 'closed' || this.stateNow === 'expired') return;
    const connection = this.connection;
    this.setState('closed');
    if (connection?.open) {
      const reply = await connection.request(this.nextXid(), OpCode.closeSession);
      this.seen(reply.header.zxid); // the close's own zxid: what its deletions are dated at or after
      connection.close();
    }
  }

  /** Drops the connection but not the session (another holder may re-attach to it): no closeSession. */
  detach(): void {
    if (this.stateNow === 'closed' || this.stateNow === 'expired') return;
    this.setState('closed');
    this.connection?.close('detached');
  }

  private nextXid(): number {
    this.xid = this.xid >= 0x7fff_fff0 ? 1 : this.xid + 1;
    return this.xid;
  }

  private seen(zxid: bigint): void {
    if (zxid > this.lastZxidNow) this.lastZxidNow = zxid;
  }

  private whenConnected(): Promise<ZkError | undefined> {
    if (this.stateNow === 'connected') return Promise.resolve(undefined);
    if (this.stateNow === 'expired') return Promise.resolve(errorOf(-112));
    if (this.stateNow === 'closed') return Promise.resolve(connectionLoss('the session is closed'));
    if (this.stateNow === 'authFailed') return Promise.resolve(errorOf(-115));
    const boundMs = this.options.requestTimeoutMs ?? this.negotiatedMs;
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.connectedWaiters.delete(wake);
        resolve(this.stateNow === 'connected' ? undefined : this.whenConnectedNow());
      };
      const timer = setTimeout(() => {
        this.connectedWaiters.delete(wake);
        resolve(connectionLoss(`not connected to ZooKeeper within ${boundMs} ms`));
      }, boundMs);
      this.connectedWaiters.add(wake);
    });
  }

  private whenConnectedNow(): ZkError {
    if (this.stateNow === 'expired') return errorOf(-112);
    if (this.stateNow === 'authFailed') return errorOf(-115);
    return connectionLoss('the session is closed');
  }

  /** Delivers the notifications held while a connection was opened and primed (whatever came of it). */
  private releaseHeld(): void {
    const held = this.held;
    this.held = undefined;
    for (const deliver of held ?? []) deliver();
  }

  private setState(state: SessionState): void {
    if (this.stateNow === state) return;
    this.stateNow = state;
    if (state !== 'disconnected' && state !== 'connecting') for (const wake of [...this.connectedWaiters]) wake();
    this.listener.state?.(state);
  }

  /** One connect to the next server, with auth and watch re-registration. */
  private async attempt(): Promise<'connected' | 'failed' | 'expired' | 'authFailed'> {
    const server = this.options.servers[this.next % this.options.servers.length]!;
    this.next = (this.next + 1) % this.options.servers.length;
    let connection: Connection;
    this.held ??= [];
    try {
      connection = await Connection.open({
        host: server.host, port: server.port, connectTimeoutMs: this.options.connectTimeoutMs ?? 5000,
        maxFrameBytes: this.options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES, frames: this.frames,
        ...(this.options.tls ? { tls: this.options.tls } : {}),
        request: {
          lastZxidSeen: this.lastZxidNow, timeoutMs: this.options.sessionTimeoutMs,
          sessionId: this.sessionIdNow, password: this.passwordNow, readOnly: false,
        },
      }, {
        notification: (event, zxid, seq) => {
          this.watches.fired(event.type, event.path);
          const deliver = (): void => this.listener.watch?.(event, zxid, seq);
          if (this.held === undefined) deliver();
          else this.held.push(deliver);
        },
        closed: () => {
          if (this.connection === connection) this.lost();
        },
      });
    } catch (error) {
      if (error instanceof SessionExpiredError) {
        this.setState('expired');
        return 'expired';
      }
      return 'failed';
    }
    if (this.stateNow === 'closed') {
      connection.close();
      return 'failed';
    }
    this.connection = connection;
    this.sessionIdNow = connection.session.sessionId;
    this.passwordNow = connection.session.password;
    this.negotiatedMs = connection.session.timeoutMs;
    const primed = await this.prime(connection);
    if (primed !== 'connected') connection.close('could not prime the connection');
    return primed;
  }

  private async prime(connection: Connection): Promise<'connected' | 'failed' | 'authFailed'> {
    for (const { scheme, credential } of this.auth) {
      const err = await connection.auth(scheme, credential);
      if (err === -115) {
        this.setState('authFailed');
        return 'authFailed';
      }
      if (err !== 0) return 'failed';
    }
    for (const batch of this.watches.setWatches(this.lastZxidNow)) {
      const reply = await connection.request(Xid.setWatches, OpCode.setWatches2, (w) => writeSetWatches2(w, batch));
      if (reply.header.err !== 0) return 'failed';
    }
    return connection.open ? 'connected' : 'failed';
  }

  /** The connection ended under us: reconnect until it works, the session expires or we close. */
  private lost(): void {
    if (this.stateNow !== 'connected') return;
    this.setState('disconnected');
    void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    let delayMs = 10;
    const lostAtMs = Date.now();
    while (this.stateNow === 'disconnected') {
      if (this.options.shouldReconnect && !this.options.shouldReconnect()) {
        if (Date.now() - lostAtMs > this.negotiatedMs) return this.setState('closed');
        await new Promise((resolve) => setTimeout(resolve, Math.min(100, this.negotiatedMs / 10)));
        continue;
      }
      const outcome = await this.attempt();
      if (outcome === 'connected' && this.stateNow === 'disconnected') this.setState('connected');
      this.releaseHeld();
      if (outcome === 'connected') return;
      if (outcome !== 'failed') return;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs = Math.min(RECONNECT_DELAY_MS_MAX, delayMs * 2);
    }
  }
}
