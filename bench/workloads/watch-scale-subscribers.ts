/**
 * The subscribers of the watch-scale workload, in a child process of their own so that reading
 * 10,000 sockets does not share an event loop with the writer and the reader being timed.
 * Corral: raw TCP sockets, one GET /v1/watch stream each; an event's zxid is read straight from
 * its `id: <zxid>-<k>` line in the bytes (no SSE parser, no strings per event). ZooKeeper: one
 * session each over a minimal client of ZooKeeper's own protocol (connect, addWatch, ping,
 * closeSession), holding a persistent watch (addWatch, ZooKeeper 3.6+: the same semantics as
 * Corral's stream); ZooKeeper's events carry no zxid, so the k-th event is the k-th write
 * (versions count the writes; a persistent watch loses none). node-zookeeper-client was tried
 * first (one-shot watches re-armed with getData): 10,000 of its clients cost this process more
 * CPU than the server, so its latencies measured the load generator.
 * Arrival times are `performance.timeOrigin + performance.now()`: one clock with the parent's.
 *
 * Messages (parent → child): open, count, collect, close; every answer echoes `id`.
 */
import { connect, type Socket } from 'node:net';

export type Endpoints = { readonly kind: 'corral'; readonly ports: readonly number[] } | { readonly kind: 'zookeeper'; readonly ports: readonly number[] };

export type Request =
  | { readonly id: number; readonly cmd: 'open'; readonly endpoints: Endpoints; readonly path: string; readonly count: number }
  | { readonly id: number; readonly cmd: 'count' }
  | { readonly id: number; readonly cmd: 'collect' }
  | { readonly id: number; readonly cmd: 'close' };

export type Reply =
  | { readonly id: number; readonly ok: true; readonly opened?: number; readonly delivered?: number; readonly arrivals?: Record<string, Float64Array> }
  | { readonly id: number; readonly ok: false; readonly error: string };

const OPEN_PARALLEL = 64;
const OPEN_TIMEOUT_MS = 30_000;
const NODE_DATA_CHANGED = 3;
const ID_LINE = Buffer.from('\nid: ');
const CONNECTED = Buffer.from(': connected');

const now = (): number => performance.timeOrigin + performance.now();

/** Arrival times per event token (zxid, or ZooKeeper version), grown in place. */
class Arrivals {
  private readonly byToken = new Map<string, { times: Float64Array; size: number }>();
  delivered = 0;

  add(token: string, at: number): void {
    let slot = this.byToken.get(token);
    if (!slot) this.byToken.set(token, (slot = { times: new Float64Array(1024), size: 0 }));
    if (slot.size === slot.times.length) {
      const grown = new Float64Array(slot.times.length * 2);
      grown.set(slot.times);
      slot.times = grown;
    }
    slot.times[slot.size++] = at;
    this.delivered++;
  }

  collect(): Record<string, Float64Array> {
    const out: Record<string, Float64Array> = {};
    for (const [token, slot] of this.byToken) out[token] = slot.times.slice(0, slot.size);
    return out;
  }
}

const arrivals = new Arrivals();
const closers: Array<() => void> = [];

/** One Corral stream: resolves once the server's `: connected` comment arrived. */
function corralStream(port: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let opened = false;
    let carry: Buffer | undefined;
    const timer = setTimeout(() => fail(new Error(`no stream within ${OPEN_TIMEOUT_MS} ms`)), OPEN_TIMEOUT_MS);
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (!opened) reject(error);
    };
    closers.push(() => socket.destroy());
    socket.setNoDelay(true);
    socket.on('error', fail);
    socket.on('connect', () => socket.write(`GET /v1/watch${path}?recursive=false HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`));
    socket.on('data', (chunk: Buffer) => {
      const at = now();
      const bytes = carry ? Buffer.concat([carry, chunk]) : chunk;
      carry = undefined;
      if (!opened) {
        if (bytes.indexOf('HTTP/1.1 200') !== 0) return fail(new Error(`stream refused: ${bytes.toString('latin1').slice(0, 300)}`));
        if (bytes.indexOf(CONNECTED) < 0) return void (carry = bytes);
        opened = true;
        clearTimeout(timer);
        resolve();
      }
      // Each `id: <zxid>-<k>` line is one event; a line cut by the chunk waits for the rest.
      for (let at0 = bytes.indexOf(ID_LINE); at0 >= 0; at0 = bytes.indexOf(ID_LINE, at0 + 1)) {
        let zxid = 0;
        let i = at0 + ID_LINE.length;
        for (; i < bytes.length && bytes[i]! >= 48 && bytes[i]! <= 57; i++) zxid = zxid * 10 + bytes[i]! - 48;
        if (i >= bytes.length) {
          carry = bytes.subarray(at0);
          return;
        }
        arrivals.add(String(zxid), at);
      }
      // A `\nid: ` split across chunks: keep the tail that could be its start.
      carry = bytes.length > 4 ? Buffer.from(bytes.subarray(bytes.length - 4)) : undefined;
    });
  });
}

const ZK_ADD_WATCH = 106;
const ZK_PING = 11;
const ZK_CLOSE = -11;
const ZK_PERSISTENT = 0;
const ZK_SESSION_MS = 30_000;
const ZK_PING_EVERY_MS = 5000;
const zkSockets = new Set<Socket>();
let pinger: NodeJS.Timeout | undefined;

/** One length-prefixed request: header (xid, type) and body. */
function zkRequest(xid: number, type: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const frame = Buffer.alloc(12 + body.length);
  frame.writeInt32BE(8 + body.length, 0);
  frame.writeInt32BE(xid, 4);
  frame.writeInt32BE(type, 8);
  body.copy(frame, 12);
  return frame;
}

function zkConnectRequest(): Buffer {
  const body = Buffer.alloc(4 + 8 + 4 + 8 + 4 + 16 + 1);
  body.writeInt32BE(ZK_SESSION_MS, 12); // protocol 0, lastZxidSeen 0, then the timeout
  body.writeInt32BE(16, 24); // session 0, then a 16-byte zero password; readOnly false
  const frame = Buffer.alloc(4 + body.length);
  frame.writeInt32BE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

/** A session with a persistent watch on `path`: resolves once addWatch was answered. */
function zkWatcher(port: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let pending: Buffer = Buffer.alloc(0);
    let connected = false;
    let watching = false;
    let events = 0;
    const timer = setTimeout(() => fail(new Error(`no ZooKeeper watch within ${OPEN_TIMEOUT_MS} ms`)), OPEN_TIMEOUT_MS);
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      zkSockets.delete(socket);
      if (!watching) reject(error);
    };
    closers.push(() => {
      if (!socket.destroyed) socket.end(zkRequest(3, ZK_CLOSE));
    });
    socket.setNoDelay(true);
    socket.on('error', fail);
    socket.on('connect', () => socket.write(zkConnectRequest()));
    socket.on('data', (chunk: Buffer) => {
      const at = now();
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const size = pending.readInt32BE(0);
        const frame = pending.subarray(4, 4 + size);
        pending = pending.subarray(4 + size);
        if (!connected) {
          connected = true;
          const pathBytes = Buffer.from(path);
          const body = Buffer.alloc(4 + pathBytes.length + 4);
          body.writeInt32BE(pathBytes.length, 0);
          pathBytes.copy(body, 4);
          body.writeInt32BE(ZK_PERSISTENT, 4 + pathBytes.length);
          socket.write(zkRequest(1, ZK_ADD_WATCH, body));
          continue;
        }
        const xid = frame.readInt32BE(0);
        const err = frame.readInt32BE(12);
        if (xid === 1) {
          if (err !== 0) return fail(new Error(`addWatch ${path}: ZooKeeper error ${err}`));
          watching = true;
          zkSockets.add(socket);
          clearTimeout(timer);
          resolve();
        } else if (xid === -1 && frame.readInt32BE(16) === NODE_DATA_CHANGED) {
          arrivals.add(String(++events), at);
        }
      }
    });
    pinger ??= setInterval(() => {
      for (const s of zkSockets) s.write(zkRequest(-2, ZK_PING));
    }, ZK_PING_EVERY_MS);
  });
}

async function open(endpoints: Endpoints, path: string, count: number): Promise<number> {
  let next = 0;
  let opened = 0;
  const one = (i: number) => {
    const port = endpoints.ports[i % endpoints.ports.length]!;
    return endpoints.kind === 'corral' ? corralStream(port, path) : zkWatcher(port, path);
  };
  await Promise.all(Array.from({ length: Math.min(OPEN_PARALLEL, count) }, async () => {
    for (let i = next++; i < count; i = next++) {
      await one(i);
      opened++;
    }
  }));
  return opened;
}

async function handle(request: Request): Promise<Reply> {
  switch (request.cmd) {
    case 'open':
      return { id: request.id, ok: true, opened: await open(request.endpoints, request.path, request.count) };
    case 'count':
      return { id: request.id, ok: true, delivered: arrivals.delivered };
    case 'collect':
      return { id: request.id, ok: true, arrivals: arrivals.collect() };
    case 'close':
      clearInterval(pinger);
      for (const close of closers.splice(0)) close();
      setImmediate(() => process.exit(0));
      return { id: request.id, ok: true };
  }
}

process.on('message', (request: Request) => {
  handle(request).then(
    (reply) => process.send?.(reply),
    (error: unknown) => process.send?.({ id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});
// The parent gone: nothing left to measure for.
process.on('disconnect', () => process.exit(0));
