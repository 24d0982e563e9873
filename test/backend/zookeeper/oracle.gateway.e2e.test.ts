/**
 * The oracle's sequences (test/oracle/oracle-suite.ts) with a gateway as the Corral side: the
 * reference is one ZooKeeper 3.8, the gateway fronts a second one (Debian's package, one server on
 * loopback), so neither sees the other's nodes. Both reap containers and TTL nodes every 100 ms.
 * Fewer random sequences than the embedded run (ORACLE_RUNS overrides; the base seed is printed).
 */
import { CONTAINER_REAPING, oracleSuite } from '../../oracle/oracle-suite.ts';
import { gatewayOver, oneServer } from './gateway-over.ts';

oracleSuite({
  name: 'gateway over one ZooKeeper server',
  file: 'test/backend/zookeeper/oracle.gateway.e2e.test.ts',
  defaultRuns: 8,
  allowances: { vanishedMultiCreateTimes: true }, // docs/operations.md, gateway table
  start: async () => gatewayOver(await oneServer({ systemProperties: { ...CONTAINER_REAPING } })),
});
