/**
 * The oracle's sequences (test/oracle/oracle-suite.ts) with a gateway over a three-server
 * ZooKeeper 3.8 ensemble (zookeeper-ensemble.ts) as the Corral side; the reference is a separate
 * standalone ZooKeeper. TTL nodes enabled and containers reaped every 100 ms on every server, as
 * on the reference. Few random sequences (ORACLE_RUNS overrides; the base seed is printed).
 */
import { CONTAINER_REAPING, oracleSuite } from '../../oracle/oracle-suite.ts';
import { gatewayOver, threeServers } from './gateway-over.ts';

oracleSuite({
  name: 'gateway over a three-server ensemble',
  file: 'test/backend/zookeeper/oracle-ensemble.gateway.e2e.test.ts',
  defaultRuns: 4,
  allowances: { vanishedMultiCreateTimes: true }, // docs/operations.md, gateway table
  start: async () => gatewayOver(await threeServers({ 'zookeeper.extendedTypesEnabled': 'true', ...CONTAINER_REAPING })),
});
