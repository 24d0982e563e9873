/**
 * The session oracle's sequences (test/oracle/sessions-suite.ts) with a gateway as the Corral
 * side: the reference is one ZooKeeper 3.8, the gateway fronts a second one (Debian's package,
 * one server on loopback), so neither sees the other's nodes or sessions. Fewer random sequences
 * than the embedded run (SESSIONS_RUNS overrides; the base seed is printed).
 */
import { RECORD_ROOT } from '../../../src/backend/zookeeper/record-store.ts';
import { sessionsSuite } from '../../oracle/sessions-suite.ts';
import { gatewayOver, oneServer } from './gateway-over.ts';

sessionsSuite({
  name: 'gateway over one ZooKeeper server',
  file: 'test/backend/zookeeper/sessions.gateway.e2e.test.ts',
  defaultRuns: 5,
  ownNodes: [RECORD_ROOT], // the sessions' watch records live below it: in the tree, so in listings of /
  start: async () => gatewayOver(await oneServer()),
});
