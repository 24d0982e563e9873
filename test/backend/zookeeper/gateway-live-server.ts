/**
 * The event-stream tests' live server (test/session/live-server.ts) with a gateway instead of an
 * embedded node: a real gateway-server.ts on 127.0.0.1 in front of the ZooKeeper the test file
 * started (gateway-suite.ts's overZooKeeper), the same fetch helpers (live-client.ts). A suite
 * runs against it when its test file mocks live-server.ts with this module. restart() stops the
 * gateway and starts another over the same ensemble (the store is the ensemble's, so sessions and
 * znodes stay; what a gateway keeps in memory, such as its session-less history, does not);
 * closeAll() also wipes the ensemble's tree for the next test.
 */
import type { Config } from '../../../src/config.ts';
import { startGateway, type RunningGateway } from '../../../src/backend/zookeeper/gateway-server.ts';
import { credentialedOverrides } from '../../support/credentialed-mode.ts';
import { LiveClient } from '../../session/live-client.ts';
import { ensemblePortInUse, GATEWAY_KEY, wipe } from './gateway-test-node.ts';

export { sessionHeaders, type CallOptions, type LiveReply, type LiveSession } from '../../session/live-client.ts';

export const harness: 'embedded' | 'gateway' = 'gateway';

export class LiveServer extends LiveClient {
  private gateway: RunningGateway | undefined;

  private constructor(private readonly port: number, private readonly overrides: Partial<Config>) {
    super();
  }

  /** A gateway; `tickTimeMs` is passed on but plays no part (session timeouts are the ensemble's). */
  static async start(tickTimeMs: number, overrides: Partial<Config> = {}): Promise<LiveServer> {
    const live = new LiveServer(ensemblePortInUse(), { tickTimeMs, ...overrides });
    await live.restart();
    return live;
  }

  get url(): string {
    if (!this.gateway) throw new Error('gateway is not running');
    return this.gateway.url;
  }

  /** The running gateway's backend, for white-box steps. */
  get backend(): RunningGateway['backend'] {
    if (!this.gateway) throw new Error('gateway is not running');
    return this.gateway.backend;
  }

  /** An embedded node's internals: a gateway has none (suites branch on `harness` first). */
  get node(): never {
    throw new Error('a gateway has no embedded node: branch on harness');
  }

  /** Stops the gateway and starts another over the same ensemble, on a new port. */
  async restart(): Promise<void> {
    await this.stop();
    this.gateway = await startGateway({
      ...credentialedOverrides(), ...this.overrides, host: '127.0.0.1', port: 0, gatewayKey: GATEWAY_KEY, backend: `zookeeper://127.0.0.1:${this.port}`,
    });
  }

  /** Aborts every stream and request, then closes the gateway (its sessions are left to the ensemble). */
  async stop(): Promise<void> {
    this.abortAll();
    const gateway = this.gateway;
    this.gateway = undefined;
    await gateway?.close();
  }

  /** stop() and wipe the ensemble's tree: for afterEach. */
  async closeAll(): Promise<void> {
    await this.stop();
    await wipe(this.port);
  }
}
