/** The `corral` command: configuration from flags and env, one node, graceful shutdown. */
import { loadConfig } from './config.ts';
import { createLogger } from './observability/logger.ts';
import { startServer } from './server.ts';
import { GatewayStartError, startGateway } from './backend/zookeeper/gateway-server.ts';
import { refusalOf } from './startup-refusal.ts';
import { resolveJoin } from './node/join.ts';

async function main(): Promise<number> {
  let config;
  const warnings: string[] = [];
  try {
    config = loadConfig(process.argv.slice(2), process.env, (message) => warnings.push(message));
  } catch (error) {
    process.stderr.write(`corral: ${(error as Error).message}\nRun with --help for the options.\n`);
    return 2;
  }
  if (!config) return 0;
  try {
    // --join: the cluster's members come from a running member (src/node/join.ts).
    config = await resolveJoin(config);
  } catch (error) {
    process.stderr.write(`corral: ${(error as Error).message}\n`);
    return 1;
  }
  const logger = createLogger(config.logLevel);
  for (const message of warnings) logger.warn({ event: 'config-warning' }, message);
  let server: { close(): Promise<void>; reloadTls?(reason: string): unknown; reloadPeerTls?(reason: string): unknown };
  try {
    // --backend zookeeper://…: a gateway in front of that ensemble, not an embedded store.
    server = config.backend === '' ? await startServer({ ...config, logger }) : await startGateway({ ...config, logger });
  } catch (error) {
    if (error instanceof GatewayStartError) {
      logger.fatal({ event: 'refused-to-start', reason: 'gateway' }, error.message);
      process.stderr.write(`corral: refusing to start: ${error.message}\n`);
      return 1;
    }
    // An operator's problem gets one line (no stack) and exit code 1; startServer closed what it opened.
    const refusal = refusalOf(error, config);
    if (refusal === undefined) throw error;
    logger.fatal({ event: 'refused-to-start', reason: refusal.event }, refusal.message);
    process.stderr.write(`corral: refusing to start: ${refusal.message}\n`);
    return 1;
  }
  const running = server;
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info({ event: 'shutdown', signal }, 'shutting down');
      running.close().then(resolve, (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        resolve();
      });
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
    // SIGHUP reloads the TLS certificates, clients' and members' (kept as the default, terminate, when there is no TLS).
    if (config.tlsCert !== '' || config.peerTlsCert !== '') {
      process.on('SIGHUP', () => {
        running.reloadTls?.('SIGHUP');
        running.reloadPeerTls?.('SIGHUP');
      });
    }
  });
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`corral: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
