/**
 * Starts a gateway: the same HTTP carriers and API as a node (src/server.ts), in front of a
 * ZooKeeper ensemble instead of an embedded store. No data directory, no peers: everything it
 * serves is the ensemble's. With --tls-cert it serves HTTPS (HTTP/2 and HTTP/1.1) through the
 * node's own TLS listener and certificate reloader (src/tls/); the admin listener is the node's only.
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
import { readFileSync } from 'node:fs';
import { CertReloader, type ReloadOutcome } from '../../tls/cert-reloader.ts';
import { serverTlsOptionsOf, tlsEnabled } from '../../tls/tls-options.ts';
import type { ZkTlsOptions } from '../../zookeeper-client/connection.ts';

export interface RunningGateway {
  readonly url: string;
  readonly backend: ZooKeeperBackend;
  /** Reads --tls-cert/--tls-key again (SIGHUP); 'disabled' without TLS. */
  reloadTls(reason?: string): ReloadOutcome | 'disabled';
  close(): Promise<void>;
}

export interface GatewayOptions extends Partial<Config> {
  readonly logger?: Logger;
}

/** A gateway that cannot start says why in one line (no stack): main.ts prints it. */
export class GatewayStartError extends Error {
  override readonly name = 'GatewayStartError';
}

/** TLS to the ensemble when the URL is zookeeper+tls:// or any --zookeeper-tls-* is set (files read once, here). */
function zookeeperTlsOf(config: Config, urlSaysTls: boolean): { tls?: ZkTlsOptions } {
  const { zookeeperTlsCa: ca, zookeeperTlsCert: cert, zookeeperTlsKey: key } = config;
  if (!urlSaysTls && ca === '' && cert === '') return {};
  try {
    return {
      tls: {
        ...(ca === '' ? {} : { ca: readFileSync(ca) }),
        ...(cert === '' ? {} : { cert: readFileSync(cert), key: readFileSync(key) }),
      },
    };
  } catch (error) {
    throw new GatewayStartError(`cannot read the ZooKeeper TLS files: ${(error as Error).message}`);
  }
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { logger: given, ...overrides } = options;
  const config = defaultConfig({ logLevel: given ? 'info' : 'silent', ...overrides });
  const logger = given ?? createLogger(config.logLevel);
  const ensemble = parseZooKeeperUrl(config.backend);
  if (typeof ensemble === 'string') throw new GatewayStartError(ensemble);
  if (config.adminListen !== '') throw new GatewayStartError('a ZooKeeper gateway serves on one listener in this version: drop --admin-listen');
  let tls: ReturnType<typeof serverTlsOptionsOf> | undefined;
  try {
    // Read before connecting to the ensemble: a missing or bad certificate fails the start cleanly.
    tls = tlsEnabled(config) ? serverTlsOptionsOf(config) : undefined;
  } catch (error) {
    throw new GatewayStartError(`cannot read the TLS files: ${(error as Error).message}`);
  }
  const nowMs = () => Date.now();
  const backend = await ZooKeeperBackend.start({
    ensemble, gatewayKey: config.gatewayKey, maxDataBytes: config.maxDataBytes, maxSessions: config.maxSessions,
    outboxEventsMax: config.outboxEventsMax, maxWatchesPerSession: config.maxWatchesPerSession, historyEventsMax: config.historyEventsMax, minZxidWaitMs: config.minZxidWaitMs,
    logger, nowMs, auth: config.zookeeperAuth === '' ? [] : [{ scheme: 'digest', credential: Buffer.from(config.zookeeperAuth, 'utf8') }],
    ...zookeeperTlsOf(config, ensemble.tls === true), maxRequestBytes: config.zookeeperMaxRequestBytes, watchLingerMs: config.zookeeperWatchLingerMs,
  });
  if ('code' in backend) throw new GatewayStartError(`cannot reach ZooKeeper at ${config.backend}: ${backend.message}`);
  const metrics = new Metrics({ znodeCount: () => 0, logEntries: () => 0, appliedZxid: () => backend.appliedZxid });
  const deps: AppDeps = { backend, authenticator: await authenticatorOf(config, nowMs), metrics, config, logger, nowMs };
  warnIfOpen(config, logger);
  const main = publicListener(deps, createApp(deps), config, tls);
  limitConnections(main.server, { maxPerAddress: config.maxConnectionsPerAddress, onRefused: () => metrics.limitRefused('connections_per_address') });
  const reloader = tls === undefined ? undefined : new CertReloader(config, tls, { logger });
  if (main.secure) reloader?.add(main.secure);
  try {
    const address = await listen(main.server, config.port, config.host);
    reloader?.watch();
    const url = urlOf(tls ? 'https' : 'http', config.host, address.port);
    logger.info({ event: 'listening', url, backend: config.backend, tls: tls !== undefined }, 'corral gateway is serving');
    return {
      url, backend,
      reloadTls: (reason = 'requested') => reloader?.reload(reason) ?? 'disabled',
      close: async () => {
        reloader?.close();
        const closed = new Promise<void>((resolve) => main.server.close(() => resolve()));
        main.quiesce();
        await backend.close();
        main.destroy();
        await closed;
      },
    };
  } catch (error) {
    reloader?.close();
    main.destroy();
    await backend.close();
    throw error;
  }
}
