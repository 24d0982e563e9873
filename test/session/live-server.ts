// A real Corral server in this process (src/server.ts, port 0 on 127.0.0.1) for the event-stream
// tests, with fetch helpers that act for a session (live-client.ts). Every stream and request has
// an AbortController the harness owns, so `closeAll()` in afterEach leaves nothing open. The
// gateway's counterpart (test/backend/zookeeper/gateway-live-server.ts) replaces this module when
// a suite runs against a gateway over ZooKeeper.
import { makeTempDir, removeDir } from '../support/corral-process.ts';
import type { Config } from '../../src/config.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { credentialedOverrides } from '../support/credentialed-mode.ts';
import { LiveClient } from './live-client.ts';

export { sessionHeaders, type CallOptions, type LiveReply, type LiveSession } from './live-client.ts';

/** Which store the live server has (the gateway's counterpart says 'gateway'). */
export const harness: 'embedded' | 'gateway' = 'embedded';

export class LiveServer extends LiveClient {
  private server: RunningServer | undefined;

  private constructor(readonly dataDir: string, private readonly overrides: Partial<Config>) {
    super();
  }

  /** A server with `tickTimeMs` (and other `overrides`) on a fresh data dir. */
  static async start(tickTimeMs: number, overrides: Partial<Config> = {}): Promise<LiveServer> {
    const live = new LiveServer(makeTempDir('corral-events-'), { tickTimeMs, ...overrides });
    await live.restart();
    return live;
  }

  get url(): string {
    if (!this.server) throw new Error('server is not running');
    return this.server.url;
  }

  /** The running node, for white-box steps (e.g. taking a checkpoint now). */
  get node(): RunningServer['node'] {
    if (!this.server) throw new Error('server is not running');
    return this.server.node;
  }

  /** Starts (again) on the same data dir, on a new port. */
  async restart(): Promise<void> {
    await this.stop();
    this.server = await startServer({ ...credentialedOverrides(), ...this.overrides, dataDir: this.dataDir, port: 0, host: '127.0.0.1' });
  }

  /** Aborts every stream and request, then closes the server gracefully (data stays). */
  async stop(): Promise<void> {
    this.abortAll();
    const server = this.server;
    this.server = undefined;
    await server?.close();
  }

  /** stop() and remove the data dir: for afterEach. */
  async closeAll(): Promise<void> {
    await this.stop();
    removeDir(this.dataDir);
  }
}
