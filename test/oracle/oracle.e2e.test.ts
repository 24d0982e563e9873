// Differential test: seeded random op sequences run against real ZooKeeper 3.8 and against Corral's
// embedded store (in-process, over HTTP); results, error codes and Stats must match, zxids compared
// by order. The suite is oracle-suite.ts (test/backend/zookeeper/oracle*.gateway.e2e.test.ts run
// it against gateways). Replay a failure with ORACLE_SEED=<seed> ORACLE_RUNS=1 [ORACLE_OPS=<n>].
// Needs Debian's `zookeeper` package: without it this test fails (never skips), in CI and locally.
import { startEmbeddedServer } from '../support/embedded-server.ts';
import { oracleSuite } from './oracle-suite.ts';

oracleSuite({
  name: 'embedded store',
  file: 'test/oracle/oracle.e2e.test.ts',
  defaultRuns: 20,
  allowances: {},
  start: ({ reapIntervalMs }) => startEmbeddedServer('corral-oracle-', { reapIntervalMs }),
});
