/**
 * A TCP proxy on 127.0.0.1 that a test steers, one per directed peer link: forward both ways
 * ('pass'), refuse and reset ('drop'), hang ('blackhole': connections stay open, every byte both
 * ways is discarded, and a side that closes is not told to the other, as on a dead network), or
 * delay every chunk by `delayMs` in order.
 *
 * Bounded: a direction stops reading from its source while `MAX_QUEUED_BYTES` wait for their
 * delay or the destination is backpressured; close() leaves no socket, server or timer behind.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export type FaultMode = 'pass' | 'drop' | 'blackhole' | { readonly delayMs: number };

const MAX_QUEUED_BYTES = 8 * 1024 * 1024;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** One direction of one proxied connection: chunks from `source` wait their delay, then go to `sink`. */
class Direction {
  private readonly queue: Array<{ readonly chunk: Buffer; readonly dueAtMs: number }> = [];
  queuedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    private readonly source: Socket,
    private readonly sink: Socket,
    private readonly mode: () => FaultMode,
    private readonly onDiscard: (bytes: number) => void,
  ) {
    source.on('data', (chunk: Buffer) => this.receive(chunk));
    sink.on('drain', () => this.pump());
  }

  /** Discards what waits (the link went dark). */
  clear(): void {
    this.queue.length = 0;
    this.queuedBytes = 0;
    clearTimeout(this.timer);
    if (!this.ended) this.source.resume();
  }

  end(): void {
    this.ended = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
    clearTimeout(this.timer);
  }

  private receive(chunk: Buffer): void {
    const mode = this.mode();
    if (this.ended) return;
    if (mode === 'blackhole' || mode === 'drop') {
      this.onDiscard(chunk.length);
      return;
    }
    const delayMs = typeof mode === 'object' ? mode.delayMs : 0;
    this.queue.push({ chunk, dueAtMs: Date.now() + delayMs });
    this.queuedBytes += chunk.length;
    this.pump();
  }

  /** Writes every chunk that is due, in order; a later chunk never overtakes an earlier one. */
  private pump(): void {
    clearTimeout(this.timer);
    if (this.ended) return;
    while (this.queue.length > 0 && !this.sink.writableNeedDrain && !this.sink.destroyed) {
      const head = this.queue[0]!;
      const waitMs = head.dueAtMs - Date.now();
      if (waitMs > 0) {
        this.timer = setTimeout(() => this.pump(), waitMs);
        break;
      }
      this.queue.shift();
      this.queuedBytes -= head.chunk.length;
      this.sink.write(head.chunk);
    }
    if (this.queuedBytes > MAX_QUEUED_BYTES || this.sink.writableNeedDrain) this.source.pause();
    else this.source.resume();
  }
}

/** A client connection and its connection to the target. */
class Pair {
  private readonly directions: Direction[];

  constructor(
    readonly client: Socket,
    readonly upstream: Socket,
    mode: () => FaultMode,
    onDiscard: (bytes: number) => void,
    private readonly onEnd: (pair: Pair) => void,
  ) {
    this.directions = [new Direction(client, upstream, mode, onDiscard), new Direction(upstream, client, mode, onDiscard)];
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => {
        // On a dark link the other side hears nothing; the pair goes once both are gone.
        if (mode() !== 'blackhole') this.destroy();
        else if (client.destroyed && upstream.destroyed) this.destroy();
      });
    }
  }

  /** One side is gone but the other was kept open by a blackhole. */
  get broken(): boolean {
    return this.client.destroyed || this.upstream.destroyed;
  }

  get queuedBytes(): number {
    return this.directions.reduce((sum, direction) => sum + direction.queuedBytes, 0);
  }

  clearQueues(): void {
    for (const direction of this.directions) direction.clear();
  }

  /** Ends both sides: with a RST when `reset` (a refused or reset link), else a FIN. */
  destroy(reset = false): void {
    for (const direction of this.directions) direction.end();
    for (const socket of [this.client, this.upstream]) {
      if (reset && !socket.destroyed && !socket.connecting) socket.resetAndDestroy();
      else socket.destroy();
    }
    this.onEnd(this);
  }
}

export class FaultProxy {
  private modeNow: FaultMode = 'pass';
  private discarded = 0;
  private readonly pairs = new Set<Pair>();
  private closing: Promise<void> | undefined;

  private constructor(private readonly server: Server, readonly port: number, readonly target: { host: string; port: number }) {}

  static async start(options: { target: { host: string; port: number } }): Promise<FaultProxy> {
    if (!LOOPBACK.has(options.target.host)) throw new Error(`the fault proxy only forwards to loopback, not ${options.target.host}`);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const proxy = new FaultProxy(server, port, { ...options.target });
    server.on('connection', (client: Socket) => proxy.accept(client));
    return proxy;
  }

  get mode(): FaultMode {
    return this.modeNow;
  }

  /** Proxied connections currently open (for leak checks). */
  get connections(): number {
    return this.pairs.size;
  }

  /** Connections one side of which has closed while the blackhole keeps the other open. */
  get heldOpen(): number {
    let count = 0;
    for (const pair of this.pairs) if (pair.broken) count++;
    return count;
  }

  /** Bytes waiting for their delay (or for a slow reader), both ways. */
  get queuedBytes(): number {
    let bytes = 0;
    for (const pair of this.pairs) bytes += pair.queuedBytes;
    return bytes;
  }

  /** Bytes a blackhole has swallowed so far, both ways (what tests wait on instead of sleeping). */
  get discardedBytes(): number {
    return this.discarded;
  }

  setMode(mode: FaultMode): void {
    if (typeof mode === 'object') {
      if (!Number.isFinite(mode.delayMs) || mode.delayMs < 0) throw new RangeError(`bad delay ${mode.delayMs}`);
      mode = { delayMs: mode.delayMs };
    }
    this.modeNow = mode;
    for (const pair of [...this.pairs]) {
      if (mode === 'drop') pair.destroy(true);
      else if (mode === 'blackhole') pair.clearQueues();
      else if (pair.broken) pair.destroy(); // the link is back: the half that died is noticed now
    }
  }

  /** Closes the listener and every proxied connection. Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const pair of [...this.pairs]) pair.destroy();
    });
    return this.closing;
  }

  private accept(client: Socket): void {
    client.on('error', () => client.destroy());
    if (this.closing !== undefined || this.modeNow === 'drop') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({ host: this.target.host, port: this.target.port });
    const pair = new Pair(client, upstream, () => this.modeNow, (bytes) => (this.discarded += bytes), (ended) => this.pairs.delete(ended));
    this.pairs.add(pair);
  }
}
