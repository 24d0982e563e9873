// Differential test: seeded random op sequences run against real ZooKeeper 3.8 and against Corral's
// embedded store (in-process, over HTTP); results, error codes and Stats must match, zxids compared
// by order. The suite is oracle-suite.ts (test/backend/zookeeper/oracle*.gateway.e2e.test.ts run
// it against gateways). Replay a failure with ORACLE_SEED=<seed> ORACLE_RUNS=1 [ORACLE_OPS=<n>].
// Needs Debian's `zookeeper` package: without it this test fails (never skips), in CI and locally.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../../src/server.ts';
import { oracleSuite } from './oracle-suite.ts';

oracleSuite({
  name: 'embedded store',
  file: 'test/oracle/oracle.e2e.test.ts',
  defaultRuns: 20,
  allowances: {},
  async start({ reapIntervalMs }) {
    const dataDir = mkdtempSync(join(tmpdir(), 'corral-oracle-'));
    const server = await startServer({ dataDir, port: 0, host: '127.0.0.1', reapIntervalMs }).catch((error: unknown) => {
      rmSync(dataDir, { recursive: true, force: true });
      throw error;
    });
    return {
      url: server.url,
      async close() {
        try {
          await server.close();
        } finally {
          rmSync(dataDir, { recursive: true, force: true });
        }
      },
    };
  },
});
