/** The `corral` command: configuration from flags and env, one node, graceful shutdown. */
import { loadConfig } from './config.ts';
import { createLogger } from './observability/logger.ts';
import { startServer } from './server.ts';
import { StorageCorruptError } from './storage/database.ts';

async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`corral: ${(error as Error).message}\nRun with --help for the options.\n`);
    return 2;
  }
  if (!config) return 0;
  const logger = createLogger(config.logLevel);
  let server;
  try {
    server = await startServer({ ...config, logger });
  } catch (error) {
    if (error instanceof StorageCorruptError) {
      logger.fatal({ event: 'refused-to-start', err: error }, error.message);
      process.stderr.write(`corral: refusing to start: ${error.message}\n`);
      return 1;
    }
    throw error;
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
