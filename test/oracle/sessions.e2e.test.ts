// Differential test of sessions and watches against Corral's embedded store (in-process, over
// HTTP + SSE): the suite is sessions-suite.ts (test/backend/zookeeper/sessions*.gateway.e2e.test.ts
// run it against gateways). Replay a failure with SESSIONS_SEED=<seed> SESSIONS_RUNS=1
// [SESSIONS_OPS=<n>]. Needs Debian's `zookeeper` package: without it this test fails (never skips).
import { startEmbeddedServer } from '../support/embedded-server.ts';
import { sessionsSuite } from './sessions-suite.ts';

sessionsSuite({
  name: 'embedded store',
  file: 'test/oracle/sessions.e2e.test.ts',
  defaultRuns: 10,
  ownNodes: [],
  start: () => startEmbeddedServer('corral-sessions-oracle-'),
});
