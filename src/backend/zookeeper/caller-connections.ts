/**
 * Session-less requests of callers with a digest identity: ZooKeeper's addauth holds for a whole
 * connection, so a caller's request must go over a connection that authenticated with that
 * caller's credential and no one else's. A small pool of them, keyed by credential (a hash of it,
 * not the secret): least recently used first out, at most `max` at once, each closed once idle.
 * A connection in use is never closed under a request: when every one is busy the request is
 * refused (THROTTLEDOP) rather than sent with another caller's identity.
 */
import { createHash } from 'node:crypto';
import { zkError, type ZkError } from '../../core/errors.ts';
import { ZooKeeperClient } from '../../zookeeper-client/client.ts';
import { transportOf, type ServerAddress } from '../../zookeeper-client/session.ts';
import type { ZkTlsOptions } from '../../zookeeper-client/connection.ts';
import { ReadBatcher } from './read-batch.ts';
import type { ZkAuth } from './session-token.ts';
import type { Caller } from '../backend.ts';
import { digestCredentialOf } from '../../auth/proven-credentials.ts';

/** The ZooKeeper credential a caller's requests authenticate with, or undefined for the gateway's own. */
export function zkAuthOf(caller: Caller): ZkAuth | undefined {
  const digest = digestCredentialOf(caller);
  return digest === undefined ? undefined : { scheme: 'digest', credential: Buffer.from(digest, 'utf8') };
}

export interface CallerConnectionsOptions {
  readonly servers: readonly ServerAddress[];
  readonly chroot: string;
  readonly sessionTimeoutMs: number;
  /** Connections held at most (distinct credentials served at once). */
  readonly max: number;
  /** A connection unused this long is closed. */
  readonly idleMs: number;
  readonly nowMs: () => number;
  readonly sawZxid: (zxid: number) => void;
  /** TLS to the ensemble; plain TCP when absent. */
  readonly tls?: ZkTlsOptions;
  /** The ensemble's jute.maxbuffer, for the connections' request bound (ZooKeeper's default when absent). */
  readonly maxRequestBytes?: number;
}

interface Pooled {
  readonly key: string;
  readonly ready: Promise<ZooKeeperClient | ZkError>;
  client: ZooKeeperClient | undefined;
  readonly reads: ReadBatcher;
  inFlight: number;
  lastUsedMs: number;
}

export class CallerConnections {
  /** In least-recently-used order (a use moves its entry to the end). */
  private readonly pool = new Map<string, Pooled>();
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: CallerConnectionsOptions) {
    this.sweeper = setInterval(() => this.sweep(), Math.max(50, Math.floor(options.idleMs / 2)));
    this.sweeper.unref();
  }

  get size(): number {
    return this.pool.size;
  }

  /** Runs `run` over the connection of `auth` (made if needed); the connection stays open meanwhile. */
  async use<T>(auth: ZkAuth, run: (client: ZooKeeperClient, reads: ReadBatcher) => Promise<T | ZkError>): Promise<T | ZkError> {
    if (this.closed) return zkError('CONNECTIONLOSS', 'the gateway is closing');
    const entry = this.entryFor(auth);
    if ('code' in entry) return entry;
    entry.inFlight++;
    entry.lastUsedMs = this.options.nowMs();
    try {
      const client = await entry.ready;
      if ('code' in client) return client;
      return await run(client, entry.reads);
    } finally {
      entry.inFlight--;
      entry.lastUsedMs = this.options.nowMs();
    }
  }

  private entryFor(auth: ZkAuth): Pooled | ZkError {
    const key = createHash('sha256').update(auth.scheme).update('\0').update(auth.credential).digest('hex');
    const known = this.pool.get(key);
    if (known) {
      this.pool.delete(key);
      this.pool.set(key, known);
      return known;
    }
    if (this.pool.size >= this.options.max) {
      const idle = [...this.pool.values()].find((e) => e.inFlight === 0);
      if (!idle) return zkError('THROTTLEDOP', `the gateway serves at most ${this.options.max} distinct ZooKeeper credentials at once; retry`);
      this.drop(idle);
    }
    const holder: { entry?: Pooled } = {};
    const ready = ZooKeeperClient.connect({
      servers: this.options.servers, chroot: this.options.chroot, sessionTimeoutMs: this.options.sessionTimeoutMs, auth: [auth],
      ...transportOf(this.options),
    }, {
      // An expired or refused connection is not reused: the next request makes a new one.
      state: (state) => {
        if ((state === 'expired' || state === 'authFailed' || state === 'closed') && holder.entry && this.pool.get(key) === holder.entry) this.pool.delete(key);
      },
    }).then((client) => {
      if ('code' in client) {
        if (this.pool.get(key) === holder.entry) this.pool.delete(key);
        return client;
      }
      entry.client = client;
      if (this.closed || this.pool.get(key) !== entry) void client.close();
      return client;
    });
    const entry: Pooled = { key, ready, client: undefined, reads: new ReadBatcher(() => entry.client!, this.options.sawZxid), inFlight: 0, lastUsedMs: this.options.nowMs() };
    holder.entry = entry;
    this.pool.set(key, entry);
    return entry;
  }

  private drop(entry: Pooled): void {
    if (this.pool.get(entry.key) === entry) this.pool.delete(entry.key);
    void entry.ready.then((client) => ('code' in client ? undefined : client.close()));
  }

  private sweep(): void {
    const now = this.options.nowMs();
    for (const entry of [...this.pool.values()]) {
      if (entry.inFlight === 0 && now - entry.lastUsedMs >= this.options.idleMs) this.drop(entry);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    const entries = [...this.pool.values()];
    this.pool.clear();
    await Promise.all(entries.map(async (e) => {
      const client = await e.ready;
      if (!('code' in client)) await client.close();
    }));
  }
}
