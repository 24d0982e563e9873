// Differential test of sessions and watches against Corral's embedded store (in-process, over
// HTTP + SSE): the suite is sessions-suite.ts (test/backend/zookeeper/sessions*.gateway.e2e.test.ts
// run it against gateways). Replay a failure with SESSIONS_SEED=<seed> SESSIONS_RUNS=1
// [SESSIONS_OPS=<n>]. Needs Debian's `zookeeper` package: without it this test fails (never skips).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../../src/server.ts';
import { sessionsSuite } from './sessions-suite.ts';

sessionsSuite({
  name: 'embedded store',
  file: 'test/oracle/sessions.e2e.test.ts',
  defaultRuns: 10,
  ownNodes: [],
  async start() {
    const dataDir = mkdtempSync(join(tmpdir(), 'corral-sessions-oracle-'));
    const server = await startServer({ dataDir, port: 0, host: '127.0.0.1' }).catch((error: unknown) => {
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
