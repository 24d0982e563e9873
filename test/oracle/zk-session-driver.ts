// The ZooKeeper side of the session oracle: one node-zookeeper-client connection per session slot,
// each recording the watch notifications it receives, in order.
// - Recording: every watch is registered with the slot's one recorder callback. The library calls
//   each watcher registered for the notified path (a data and a child watcher on a deleted node
//   both fire), passing them the same Event object, so the recorder keeps a notification once by
//   object identity: what is recorded is the server's notifications to that session.
// - Quiescence: on one connection ZooKeeper sends a watch notification before the reply of any
//   later request, and it queues the notifications of a change before it answers the write. So a
//   read round trip on each open connection, after the op, has delivered every event of that op.
//   A closed slot is quiescent once its socket has closed (the server sends the notifications its
//   close causes, to the closing session too, then the close reply, then hangs up).
// - Ops by a closed session: node-zookeeper-client cannot send them (CONNECTIONLOSS at once), the
//   Java client answers SESSIONEXPIRED without sending. We ask the server itself instead: a
//   ConnectRequest with the closed session's id and password, which ZooKeeper refuses with a
//   timeout of 0 when the session is gone: that is the SESSIONEXPIRED both sides can express.
import { createConnection } from 'node:net';
import zookeeper, { type Client, type Event, type Stat, type ZkException } from 'node-zookeeper-client';
import {
  EVENT_TYPES, ownerLabel, type OwnedStat, type SessionCreateMode, type SessionOp,
  type SessionOutcome, type SessionSide, type WatchEvent,
} from './session-ops.ts';
import { zkCodeName } from './zk-driver.ts';
import { JuteReader, JuteWriter } from './zk-wire.ts';

const REQUEST_TIMEOUT_MS = 10_000;
const SESSION_TIMEOUT_MS = 30_000;

const MODES: Record<SessionCreateMode, number> = {
  persistent: zookeeper.CreateMode.PERSISTENT,
  ephemeral: zookeeper.CreateMode.EPHEMERAL,
  persistent_sequential: zookeeper.CreateMode.PERSISTENT_SEQUENTIAL,
  ephemeral_sequential: zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL,
};

interface Slot {
  client: Client;
  id: string; // decimal session id
  password: Buffer;
  events: WatchEvent[];
  lastEvent: Event | null;
  closed: Promise<void> | null;
  watcher: (e: Event) => void;
}

function bounded<T>(what: string, start: (done: (err: Error | null, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ZooKeeper: ${what} took over ${REQUEST_TIMEOUT_MS} ms`)), REQUEST_TIMEOUT_MS);
    start((err, value) => {
      clearTimeout(timer);
      if (err !== null) reject(err);
      else resolve(value as T);
    });
  });
}

/** The outcome of a library call: its error code, or `ok(...)` of its result. */
function outcome<T>(call: (cb: (error: ZkException | null, value: T, stat?: Stat) => void) => void,
  ok: (value: T, stat: Stat | undefined) => SessionOutcome): Promise<SessionOutcome> {
  return bounded<SessionOutcome>('request', (done) => call((error, value, stat) => {
    if (error !== null && typeof error.getCode !== 'function') done(error);
    else done(null, error !== null ? { ok: false, code: zkCodeName(error.getCode()) } : ok(value, stat));
  }));
}

/** Asks ZooKeeper whether it still knows the session (a reconnect with its id and password). */
function sessionProbe(port: number, id: string, password: Buffer): Promise<SessionOutcome> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let inbox = Buffer.alloc(0);
    const finish = (out: SessionOutcome): void => { socket.destroy(); resolve(out); };
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => finish({ ok: false, code: 'PROBE_TIMEOUT' }));
    socket.on('error', (err) => finish({ ok: false, code: 'PROBE_ERROR', detail: err.message }));
    socket.on('close', () => finish({ ok: false, code: 'PROBE_CLOSED_WITHOUT_REPLY' }));
    socket.on('data', (chunk) => {
      inbox = Buffer.concat([inbox, chunk]);
      if (inbox.length < 4 || inbox.length < 4 + inbox.readInt32BE(0)) return;
      const r = new JuteReader(inbox.subarray(4));
      r.int(); // protocolVersion
      const timeout = r.int();
      finish(timeout <= 0 ? { ok: false, code: 'SESSIONEXPIRED' } : { ok: false, code: 'SESSION_STILL_ALIVE_ON_ZOOKEEPER' });
    });
    const request = new JuteWriter().int(0).long(0n).int(SESSION_TIMEOUT_MS).long(BigInt(id)).buffer(password).bool(false).toBuffer();
    const len = Buffer.alloc(4);
    len.writeInt32BE(request.length);
    socket.write(Buffer.concat([len, request]));
  });
}

export class ZkSessionSide implements SessionSide {
  readonly name = 'ZooKeeper';
  private readonly slots: (Slot | undefined)[] = [];
  private readonly problems: string[] = [];

  constructor(private readonly port: number) {}

  async run(op: SessionOp): Promise<SessionOutcome> {
    if (op.op === 'open') return this.open(op.s);
    const slot = this.slot(op.s);
    if (slot.closed !== null) return sessionProbe(this.port, slot.id, slot.password);
    const c = slot.client;
    const data = (d: string): Buffer => Buffer.from(d, 'base64');
    switch (op.op) {
      case 'close':
        slot.closed = this.closeClient(slot);
        await slot.closed;
        return { ok: true };
      case 'create':
        return outcome<string>((cb) => c.create(op.path, data(op.data), MODES[op.mode], cb), (path) => ({ ok: true, path }));
      case 'setData':
        return outcome<Stat>((cb) => c.setData(op.path, data(op.data), op.version, cb), (stat) => ({ ok: true, stat: this.stat(stat) }));
      case 'delete':
        return outcome<undefined>((cb) => c.remove(op.path, op.version, (e) => cb(e, undefined)), () => ({ ok: true }));
      case 'exists': {
        const call = (cb: (e: ZkException | null, s: Stat | null) => void): void => (op.watch ? c.exists(op.path, slot.watcher, cb) : c.exists(op.path, cb));
        return outcome<Stat | null>(call, (stat) => (stat === null ? { ok: false, code: 'NONODE' } : { ok: true, stat: this.stat(stat) }));
      }
      case 'getData': {
        const call = (cb: (e: ZkException | null, d: Buffer | undefined, s: Stat) => void): void => (op.watch ? c.getData(op.path, slot.watcher, cb) : c.getData(op.path, cb as never));
        return outcome<Buffer | undefined>(call, (d, stat) => ({ ok: true, data: (d ?? Buffer.alloc(0)).toString('base64'), stat: this.stat(stat!) }));
      }
      case 'getChildren': {
        const call = (cb: (e: ZkException | null, ch: string[], s: Stat) => void): void => (op.watch ? c.getChildren(op.path, slot.watcher, cb) : c.getChildren(op.path, cb as never));
        return outcome<string[]>(call, (children, stat) => ({ ok: true, children: [...children].sort(), stat: this.stat(stat!) }));
      }
    }
  }

  async settle(): Promise<string | null> {
    const problems = await Promise.all(this.slots.map(async (slot, s) => {
      if (slot === undefined) return null;
      try {
        if (slot.closed !== null) await slot.closed;
        else await bounded<unknown>(`sync read on s${s}`, (done) => slot.client.exists('/', (e) => done(e)));
        return null;
      } catch (err) {
        return `ZooKeeper s${s} did not settle: ${(err as Error).message}`;
      }
    }));
    return problems.find((p) => p !== null) ?? null;
  }

  takeEvents(s: number): WatchEvent[] {
    const slot = this.slots[s];
    if (slot === undefined) return [];
    return slot.events.splice(0);
  }

  takeProblems(): string[] {
    return this.problems.splice(0);
  }

  async shutdown(): Promise<void> {
    await Promise.all(this.slots.map(async (slot) => {
      if (slot === undefined || slot.closed !== null) return;
      slot.closed = this.closeClient(slot);
      await slot.closed.catch(() => undefined);
    }));
  }

  private slot(s: number): Slot {
    const slot = this.slots[s];
    if (slot === undefined) throw new Error(`ZooKeeper: slot s${s} was never opened`);
    return slot;
  }

  private stat(st: Stat): OwnedStat {
    const ids = this.slots.map((slot) => slot?.id);
    return {
      version: st.version, cversion: st.cversion, aversion: st.aversion, dataLength: st.dataLength,
      numChildren: st.numChildren, owner: ownerLabel(st.ephemeralOwner.readBigInt64BE().toString(), ids),
    };
  }

  private async open(s: number): Promise<SessionOutcome> {
    if (this.slots[s] !== undefined) throw new Error(`ZooKeeper: slot s${s} opened twice`);
    const client = zookeeper.createClient(`127.0.0.1:${this.port}`, { sessionTimeout: SESSION_TIMEOUT_MS, retries: 0 });
    const slot: Slot = { client, id: '', password: Buffer.alloc(16), events: [], lastEvent: null, closed: null, watcher: () => undefined };
    slot.watcher = (e: Event): void => {
      if (e === slot.lastEvent) return; // the same notification, delivered to another watcher of the path
      slot.lastEvent = e;
      const type = EVENT_TYPES[e.type];
      if (type === undefined) this.problems.push(`ZooKeeper s${s}: unknown event type ${e.type}`);
      else slot.events.push({ type, path: e.path });
    };
    this.slots[s] = slot;
    try {
      await bounded<void>('connect', (done) => { client.once('connected', () => done(null)); client.connect(); });
    } catch (err) {
      slot.closed = this.closeClient(slot);
      throw err;
    }
    slot.id = client.getSessionId().readBigInt64BE().toString();
    slot.password = Buffer.from(client.getSessionPassword());
    return { ok: true };
  }

  /** Closes the session; resolves once the server has hung up (all its notifications are in). */
  private closeClient(slot: Slot): Promise<void> {
    const gone = bounded<void>('close', (done) => slot.client.once('disconnected', () => done(null)));
    slot.client.close();
    return gone;
  }
}
