/**
 * The all-children-number suite (test/http/all-children-number.test.ts), unchanged, against a gateway: the same app
 * over a ZooKeeperBackend in front of a real ZooKeeper 3.8 (Debian's package, one server on
 * loopback). test-node.ts is replaced by the gateway harness, so every `startTestNode()` of the
 * suite gets a gateway; each test ends with the ensemble's tree wiped.
 */
import { vi } from 'vitest';
import { overZooKeeper } from './gateway-suite.ts';

vi.mock('../../support/test-node.ts', () => import('./gateway-test-node.ts'));

overZooKeeper();
await import('../../http/all-children-number.test.ts');
