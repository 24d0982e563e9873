/**
 * The session oracle's sequences (test/oracle/sessions-suite.ts) with a gateway over a
 * three-server ZooKeeper 3.8 ensemble (zookeeper-ensemble.ts) as the Corral side: each Corral
 * session is a ZooKeeper session on whichever server its connection chose, so a session's
 * requests carrying Zk-Min-Zxid must bring its own server up to date. The reference is a separate
 * standalone ZooKeeper. Few random sequences (SESSIONS_RUNS overrides; the base seed is printed).
 */
import { RECORD_ROOT } from '../../../src/backend/zookeeper/record-store.ts';
import { sessionsSuite } from '../../oracle/sessions-suite.ts';
import { gatewayOver, threeServers } from './gateway-over.ts';

sessionsSuite({
  name: 'gateway over a three-server ensemble',
  file: 'test/backend/zookeeper/sessions-ensemble.gateway.e2e.test.ts',
  defaultRuns: 4,
  ownNodes: [RECORD_ROOT], // the sessions' watch records live below it: in the tree, so in listings of /
  start: async () => gatewayOver(await threeServers()),
});
