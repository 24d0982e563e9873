/**
 * Starts a gateway: the same HTTP carriers and API as a node (src/server.ts), in front of a
 * ZooKeeper ensemble instead of an embedded store. No data directory, no peers: everything it
 * serves is the ensemble's. Plain HTTP only in this first slice (TLS listeners and the admin
 * listener are the node's for now).
 */
import { defaultConfig, type Config } from '../../config.ts';
import type { AppDeps } from '../../http/app-deps.ts';
import { createApp } from '../../http/app.ts';
import { limitConnections } from '../../http/limits/connection-limit.ts';
import { Metrics } from '../../observability/metrics.ts';
import { createLogger, type Logger } from '../../observability/logger.ts';
import { authenticatorOf, listen, publicListener, urlOf, warnIfOpen } from '../../server.ts';
import { ZooKeeperBackend } from './zookeeper-backend.ts';
import { parseZooKeeperUrl } from './zookeeper-url.ts';

export interface RunningGateway {
  readonly url: string;
  readonly backend: ZooKeeperBackend;
  close(): Promise<void>;
}

export interface GatewayOptions extends Partial<Config> {
  readonly logger?: Logger;
}

/** A gateway that cannot start says why in one line (no stack): main.ts prints it. */
export class GatewayStartError extends Error {
  override readonly name = 'GatewayStartError';
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { logger: given, ...overrides } = options;
  const config = defaultConfig({ logLevel: given ? 'info' : 'silent', ...overrides });
  const logger = given ?? createLogger(config.logLevel);
  const ensemble = parseZooKeeperUrl(config.backend);
  if (typeof ensemble === 'string') throw new GatewayStartError(ensemble);
  if (config.tlsCert !== '' || config.adminListen !== '') throw new GatewayStartError('a ZooKeeper gateway serves plain HTTP on one listener in this version: drop --tls-cert and --admin-listen');
  const nowMs = () => Date.now();
  const backend = await ZooKeeperBackend.start({
    ensemble, gatewayKey: config.gatewayKey, maxDataBytes: config.maxDataBytes, maxSessions: config.maxSessions,
    outboxEventsMax: config.outboxEventsMax, maxWatchesPerSession: config.maxWatchesPerSession, historyEventsMax: config.historyEventsMax, minZxidWaitMs: config.minZxidWaitMs,
    logger, nowMs, auth: config.zookeeperAuth === '' ? [] : [{ scheme: 'digest', credential: Buffer.from(config.zookeeperAuth, 'utf8') }],
  });
  if ('code' in backend) throw new GatewayStartError(`cannot reach ZooKeeper at ${config.backend}: ${backend.message}`);
  const metrics = new Metrics({ znodeCount: () => 0, logEntries: () => 0, appliedZxid: () => backend.appliedZxid });
  const deps: AppDeps = { backend, authenticator: await authenticatorOf(config, nowMs), metrics, config, logger, nowMs };
  warnIfOpen(config, logger);
  const main = publicListener(deps, createApp(deps), config, undefined);
  limitConnections(main.server, { maxPerAddress: config.maxConnectionsPerAddress, onRefused: () => metrics.limitRefused('connections_per_address') });
  try {
    const address = await listen(main.server, config.port, config.host);
    const url = urlOf('http', config.host, address.port);
    logger.info({ event: 'listening', url, backend: config.backend }, 'corral gateway is serving');
    return {
      url, backend,
      close: async () => {
        const closed = new Promise<void>((resolve) => main.server.close(() => resolve()));
        main.quiesce();
        await backend.close();
        main.destroy();
        await closed;
      },
    };
  } catch (error) {
    main.destroy();
    await backend.close();
    throw error;
  }
}
