/**
 * A gateway (gateway-server.ts, real sockets on 127.0.0.1) in front of a ZooKeeper a test started,
 * as the suites run against gateways take their node: close() stops the gateway, then the ZooKeeper.
 */
import { startGateway, type GatewayOptions } from '../../../src/backend/zookeeper/gateway-server.ts';
import { startZooKeeper, type StartOptions } from '../../oracle/zookeeper-server.ts';
import { GATEWAY_KEY } from './gateway-test-node.ts';
import { startEnsemble } from './zookeeper-ensemble.ts';

export interface GatewayUnderTest {
  readonly url: string;
  close(): Promise<void>;
}

interface StartedZooKeeper {
  /** `zookeeper://…` for --backend. */
  readonly url: string;
  stop(): Promise<void>;
}

export async function gatewayOver(zookeeper: StartedZooKeeper, options: GatewayOptions = {}): Promise<GatewayUnderTest> {
  const gateway = await startGateway({ host: '127.0.0.1', port: 0, gatewayKey: GATEWAY_KEY, ...options, backend: zookeeper.url })
    .catch(async (error: unknown) => {
      await zookeeper.stop();
      throw error;
    });
  return {
    url: gateway.url,
    async close() {
      try {
        await gateway.close();
      } finally {
        await zookeeper.stop();
      }
    },
  };
}

/** One ZooKeeper server (test/oracle/zookeeper-server.ts). */
export async function oneServer(options: StartOptions = {}): Promise<StartedZooKeeper> {
  const zk = await startZooKeeper({ startTimeoutMs: 30_000, ...options });
  return { url: `zookeeper://127.0.0.1:${zk.port}`, stop: () => zk.stop() };
}

/** A three-server ensemble (zookeeper-ensemble.ts); the gateway's connections spread over its servers. */
export async function threeServers(systemProperties: Readonly<Record<string, string>> = {}): Promise<StartedZooKeeper> {
  const ensemble = await startEnsemble(60_000, systemProperties);
  return { url: ensemble.url, stop: () => ensemble.stop() };
}
