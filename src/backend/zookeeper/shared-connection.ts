/**
 * The gateway's own ZooKeeper session: every request without a session, and every session-less
 * watch, go over it. It reconnects by itself (session.ts); if the ensemble expires it (the
 * gateway was cut off longer than its timeout), a new session replaces it and the owner is told
 * (`renewed`), since the watches of the old one are gone.
 */
import type { ZkError } from '../../core/errors.ts';
import type { Logger } from '../../observability/logger.ts';
import { ZooKeeperClient } from '../../zookeeper-client/client.ts';
import { transportOf, type ServerAddress } from '../../zookeeper-client/session.ts';
import type { ZkTlsOptions } from '../../zookeeper-client/connection.ts';
import { zxidNumber } from './convert.ts';
import { EventDater, type DatedGroup } from './event-dating.ts';

export interface SharedConnectionOptions {
  readonly servers: readonly ServerAddress[];
  readonly chroot: string;
  readonly sessionTimeoutMs: number;
  readonly logger: Logger;
  readonly auth: readonly { readonly scheme: string; readonly credential: Uint8Array }[];
  /** TLS to the ensemble; plain TCP when absent. */
  readonly tls?: ZkTlsOptions;
  /** The ensemble's jute.maxbuffer, for the connections' request bound (ZooKeeper's default when absent). */
  readonly maxRequestBytes?: number;
  /** A burst of session-less notifications, dated. */
  deliver(group: DatedGroup): void;
  /** The connection came back after a loss (same session): persistent watches missed what changed meanwhile. */
  reconnected(zxid: number): void;
  /** The session expired and a new one replaced it: every watch must be set again. */
  renewed(zxid: number): void;
  /** The newest zxid the gateway knows (the fallback date of a burst whose probe failed). */
  newestZxid(): number;
}

const RENEW_DELAY_MS_MAX = 2000;

export class SharedConnection {
  private current!: ZooKeeperClient;
  private closed = false;

  private constructor(private readonly options: SharedConnectionOptions) {}

  static async open(options: SharedConnectionOptions): Promise<SharedConnection | ZkError> {
    const shared = new SharedConnection(options);
    const client = await shared.connect();
    if ('code' in client) return client;
    shared.current = client;
    return shared;
  }

  get client(): ZooKeeperClient {
    return this.current;
  }

  private connect(): Promise<ZooKeeperClient | ZkError> {
    const holder: { client?: ZooKeeperClient } = {};
    const dater = new EventDater(
      () => holder.client?.probe() ?? Promise.resolve({ code: 'CONNECTIONLOSS', message: 'connecting' } as ZkError),
      (group) => this.options.deliver(group),
      () => this.options.newestZxid(),
    );
    let lost = false;
    return ZooKeeperClient.connect({
      servers: this.options.servers, chroot: this.options.chroot, sessionTimeoutMs: this.options.sessionTimeoutMs, auth: this.options.auth,
      ...transportOf(this.options),
    }, {
      watch: (event, zxid, seq) => dater.add(event, zxid, seq),
      state: (state) => {
        this.options.logger.info({ event: 'gateway-connection', state }, `the gateway's ZooKeeper session is ${state}`);
        if (state === 'disconnected') lost = true;
        if (state === 'connected' && lost && holder.client) {
          lost = false;
          // ZooKeeper re-added the persistent watches at its zxid of the reconnect, which may be
          // well past the last this connection saw (changes made meanwhile through other servers
          // or gateways, which the watches never fire): the gap is dated with a read now, so it
          // covers them. (The connection's last zxid alone left a stream that had heard it
          // without any reset, missing those changes silently.)
          const client = holder.client;
          void client.probe().then((probed) => this.options.reconnected('code' in probed
            ? Math.max(zxidNumber(client.session.lastZxid), this.options.newestZxid())
            : zxidNumber(probed.zxid)));
        }
        if (state === 'expired' && !this.closed) void this.renew();
      },
    }).then((client) => {
      if (!('code' in client)) holder.client = client;
      return client;
    });
  }

  /** A new session for the expired one; retried (bounded delay) until it connects or the gateway closes. */
  private async renew(): Promise<void> {
    let delayMs = 50;
    while (!this.closed) {
      const client = await this.connect();
      if (!('code' in client)) {
        if (this.closed) return void client.close();
        this.current = client;
        const probed = await client.probe();
        this.options.renewed('code' in probed ? this.options.newestZxid() : zxidNumber(probed.zxid));
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs = Math.min(RENEW_DELAY_MS_MAX, delayMs * 2);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.current.close();
  }
}
